// Writes tar entries into a target directory without ever touching anything outside it: the
// TarSink behind applyLayer, plus the overlay fix-up that runs once the lower layers are known.
//
// Invariants (a layer is hostile input):
// - Entry names are cleaned lexically (cleanPath); the parent directory is then resolved one
//   component at a time INSIDE the target, following symlinks only within it (absolute targets
//   restart at the target, `..` stops there, at most 255 links per resolution). Every path handed
//   to the kernel therefore consists of real directories below the target plus a final name,
//   and the final name is never followed: files are created with O_CREAT|O_EXCL|O_NOFOLLOW after
//   whatever was there (file, symlink, device, or a whole directory tree) has been removed.
// - Whiteouts hide only what lies below this layer: 'overlay' mode writes overlayfs whiteouts
//   (char 0:0) and `trusted.overlay.opaque=y`; 'merged' mode deletes from the copied parent tree,
//   sparing everything this layer created (and the directories leading to it). A directory the
//   layer whites out and then creates again is opaque. A directory a layer needs where a lower
//   layer has a non-directory is a new directory that covers it, in both modes.
// - overlay mode sees only its own (initially empty) upper dir while extracting, as containerd's
//   overlay applier does: a lower symlink on the way to an entry is not followed. The fix-up,
//   once the lower dirs are known, completes hardlinks to lower files (copy-up, then link, in
//   the layer's order), removes whiteouts that hide nothing, and gives implicitly created
//   directories the metadata of the lower directory they cover (merged mode keeps the metadata,
//   mtime included, of parent-tree directories the layer does not list).
// - Metadata order per entry (containerd's): chown, then xattrs (chown drops security.capability),
//   then chmod (chown clears setuid/setgid, and an ACL xattr may rewrite the group bits), then
//   times. Directory times are set last, deepest first. Calls that would change nothing on a
//   file or directory we just created (our own ids, a mode the umask left intact) are skipped.
// - Xattrs `trusted.overlay.*` and `user.overlay.*` from a layer are dropped: they would change
//   overlayfs semantics (opaque, redirect, metacopy) under the layer's control.
// - Hardlink entries only link: their header's owner/mode/times are not applied to the shared
//   inode (GNU tar does the same; the target's own entry carries them).
import {
  chmodSync,
  closeSync,
  constants as fsConstants,
  copyFileSync,
  fchmodSync,
  fchownSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  type BigIntStats,
} from 'node:fs'
import {DataLoss, errorOfKind, Internal, isBerthError} from '../../errors/index.js'
import {kindOfCode} from '../../errors/errno.js'
import {
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  createEmptyFile,
  futimens,
  lgetxattr,
  llistxattr,
  lremovexattr,
  lsetxattr,
  lutimens,
  mknod,
  type Timespec,
} from '../../sys/index.js'
import {removeTree, shortPath} from '../../sys/tree.js'
import {cleanPath, components, depth, joinRel, parentRel} from './paths.js'
import type {TarHeader, TarSink} from '../../tar/index.js'

/** How a layer is applied: onto an empty overlayfs upper dir, or onto a full copy of its parent. */
export type ApplyMode = 'overlay' | 'merged'

/** What the state map knows about a path (low three bits) ... */
const enum Kind {
  None = 0,
  File = 1,
  Dir = 2,
  Symlink = 3,
  Special = 4, // device or fifo
  Whiteout = 5, // overlay whiteout made for this layer
  Pending = 6, // hardlink waiting for the fix-up (overlay mode)
}
const KIND = 7
/** ... and flags about it. */
const enum Flag {
  /** A directory created only because an entry below it needed it. */
  Implicit = 8,
  /** This layer whited the path out at some point (a directory created there later is opaque). */
  WhiteoutSeen = 16,
  /** merged mode: a directory of the parent tree on the way to an entry of this layer. */
  Ancestor = 32,
  /** A directory this extraction created (so everything in it is this layer's). */
  Fresh = 64,
  /** A directory whose setgid bit is set (new entries in it take its group, and new directories its setgid bit). */
  Setgid = 128,
}

const OPAQUE_XATTR = 'trusted.overlay.opaque'
const MAX_LINKS = 255
/** Create, never follow, never reuse (libuv adds O_CLOEXEC itself). */
const OPEN_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW
const OPAQUE_VALUE = Buffer.from('y')

/** Our effective ids and umask, read once (on the first Extractor, not at import). */
let EUID = -1
let EGID = -1
let UMASK = -1

function readProcessFacts(): void {
  if (EUID !== -1) return
  EUID = process.geteuid?.() ?? -2
  EGID = process.getegid?.() ?? -2
  try {
    // From /proc: process.umask() would set it to 0 for a moment, for every thread.
    const m = /^Umask:\s+([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))
    UMASK = m ? parseInt(m[1], 8) : -1
  } catch {
    UMASK = -1
  }
}

/** True when open()/mkdir() with `mode & 0o777` gives exactly `mode` (no special bits, nothing the umask removes). */
function modeExact(mode: number): boolean {
  return UMASK >= 0 && (mode & 0o7000) === 0 && (mode & UMASK) === 0
}

/** A hardlink whose target is not in this layer (overlay mode): completed by the fix-up. */
interface DeferredLink {
  readonly rel: string
  readonly target: string
  readonly entry: string
  cancelled: boolean
}

/** Options for {@link Extractor}. */
export interface ExtractorOptions {
  /** Absolute, symlink-free path of the target directory. */
  readonly root: string
  readonly mode: ApplyMode
  /** Told about things skipped on purpose (xattrs the filesystem cannot store). */
  readonly onWarning?: (message: string) => void
}

/**
 * Applies tar entries to `root`. Feed it to a TarReader, then call {@link fixUp} (overlay mode,
 * with the lower layers) and {@link finish}. Throws BerthErrors naming the entry.
 */
export class Extractor implements TarSink {
  private readonly root: string
  private readonly overlay: boolean
  private readonly onWarning: ((message: string) => void) | undefined
  /** Cleaned directory name as written in the layer -> the real directory it resolved to. */
  private readonly dirCache = new Map<string, string>()
  /** Resolved relative path -> Kind | Flags, for everything this layer made or passed through. */
  private readonly state = new Map<string, number>()
  /** Directory -> the mtime to give it at the end. */
  private readonly dirTimes = new Map<string, Timespec>()
  private readonly deferred: DeferredLink[] = []
  private readonly warned = new Set<string>()
  /** The file being written. */
  private fd = -1
  private fileHeader: TarHeader | undefined
  private fileAbs = ''
  private filePlain = false

  constructor(options: ExtractorOptions) {
    this.root = options.root
    this.overlay = options.mode === 'overlay'
    this.onWarning = options.onWarning
    readProcessFacts()
    if (this.overlay) this.state.set('', Kind.Dir | Flag.Fresh | (lstatSync(this.root).mode & 0o2000 ? Flag.Setgid : 0))
  }

  // ---- TarSink --------------------------------------------------------------------------------

  entry(h: TarHeader): void {
    this.fileHeader = undefined
    try {
      this.apply(h)
    } catch (err) {
      throw failure(err, h.path)
    }
  }

  data(chunk: Buffer, start: number, end: number): void {
    if (this.fd < 0) return
    try {
      while (start < end) start += writeSync(this.fd, chunk, start, end - start)
    } catch (err) {
      throw failure(err, this.fileHeader?.path ?? '')
    }
  }

  entryEnd(): void {
    const h = this.fileHeader
    if (h === undefined || this.fd < 0) return
    const fd = this.fd
    try {
      // A fresh file in a plain directory already has our ids and the mode open() gave it.
      if (!this.filePlain || h.uid !== EUID || h.gid !== EGID) fchownSync(fd, h.uid, h.gid)
      if (h.xattrs) this.setXattrs(this.fileAbs, h, Kind.File)
      if (!this.filePlain || !modeExact(h.mode) || h.xattrs) fchmodSync(fd, h.mode)
      const t = {sec: h.mtimeSec, nsec: h.mtimeNsec}
      futimens(fd, t, t)
    } catch (err) {
      throw failure(err, h.path)
    } finally {
      this.fd = -1
      closeSync(fd)
    }
  }

  /** Release what an interrupted extraction holds (the open file). Idempotent. */
  close(): void {
    if (this.fd >= 0) {
      const fd = this.fd
      this.fd = -1
      closeSync(fd)
    }
  }

  // ---- entries --------------------------------------------------------------------------------

  private apply(h: TarHeader): void {
    const clean = cleanPath(h.path)
    if (clean === '') return // the root itself: ignored, as containerd does
    const slash = clean.lastIndexOf('/')
    const base = slash < 0 ? clean : clean.slice(slash + 1)
    const parent = this.dir(slash < 0 ? '' : clean.slice(0, slash))

    if (base.startsWith('.wh.')) {
      this.whiteoutEntry(parent, base, h)
      return
    }
    const rel = joinRel(parent, base)
    const abs = this.abs(rel)
    const parentFresh = this.isFresh(parent)

    if (h.type === 'hardlink') {
      this.hardlink(h, rel, abs, parentFresh)
      return
    }
    const existing = this.kindOf(rel, parentFresh)
    if (existing === Kind.Dir && h.type === 'dir') {
      this.updateDir(h, rel, abs)
      return
    }
    if (existing !== Kind.None) this.remove(rel, existing)
    const seen = (this.state.get(rel) ?? 0) & Flag.WhiteoutSeen
    switch (h.type) {
      case 'file':
        if (h.size === 0 && !h.xattrs) {
          // An empty file: created with its metadata in one native call (same calls, same order
          // as below), not four crossings into the kernel, the cost of layers of many small files.
          const plain = this.plainParent(parent)
          const owner = !plain || h.uid !== EUID || h.gid !== EGID ? {uid: h.uid, gid: h.gid} : undefined
          createEmptyFile(abs, h.mode, owner, !plain || !modeExact(h.mode), {sec: h.mtimeSec, nsec: h.mtimeNsec})
          this.state.set(rel, Kind.File | seen)
          return
        }
        this.fd = openSync(abs, OPEN_FLAGS, h.mode & 0o777)
        this.fileHeader = h
        this.fileAbs = abs
        this.filePlain = this.plainParent(parent)
        this.state.set(rel, Kind.File | seen)
        return // data(), then entryEnd() finishes it
      case 'dir': {
        const plain = this.plainParent(parent)
        mkdirSync(abs, h.mode & 0o777)
        this.state.set(rel, Kind.Dir | Flag.Fresh | seen | (h.mode & 0o2000 ? Flag.Setgid : 0))
        if (seen && this.overlay) lsetxattr(abs, OPAQUE_XATTR, OPAQUE_VALUE) // whited out earlier in this layer
        if (!plain || h.uid !== EUID || h.gid !== EGID) lchownSync(abs, h.uid, h.gid)
        if (h.xattrs) this.setXattrs(abs, h, Kind.Dir)
        if (!plain || !modeExact(h.mode) || h.xattrs) chmodSync(abs, h.mode) // a directory we just made: nothing to follow
        this.dirTimes.set(rel, {sec: h.mtimeSec, nsec: h.mtimeNsec})
        return
      }
      case 'symlink': {
        symlinkSync(h.linkpath, abs) // stored verbatim, never followed
        if (!this.plainParent(parent) || h.uid !== EUID || h.gid !== EGID) lchownSync(abs, h.uid, h.gid)
        if (h.xattrs) this.setXattrs(abs, h, Kind.Symlink)
        const t = {sec: h.mtimeSec, nsec: h.mtimeNsec}
        lutimens(abs, t, t)
        this.state.set(rel, Kind.Symlink | seen)
        return
      }
      case 'char':
      case 'block':
      case 'fifo': {
        const type = h.type === 'char' ? S_IFCHR : h.type === 'block' ? S_IFBLK : S_IFIFO
        mknod(abs, type | 0o600, h.devmajor, h.devminor)
        lchownSync(abs, h.uid, h.gid)
        if (h.xattrs) this.setXattrs(abs, h, Kind.Special)
        chmodSync(abs, h.mode) // a device node or fifo we just made: nothing to follow
        const t = {sec: h.mtimeSec, nsec: h.mtimeNsec}
        lutimens(abs, t, t)
        this.state.set(rel, Kind.Special | seen)
        return
      }
    }
  }

  /** A directory entry over an existing directory: only its metadata changes. */
  private updateDir(h: TarHeader, rel: string, abs: string): void {
    const flags = this.state.get(rel) ?? 0
    if ((flags & KIND) === Kind.None && !this.overlay) {
      // A directory of the parent tree that this layer lists: it gets exactly the layer's
      // metadata, so xattrs the layer does not list go (what overlayfs would show).
      const keep = h.xattrs ?? new Map<string, Buffer>()
      for (const name of llistxattr(abs)) if (!keep.has(name)) lremovexattr(abs, name)
    }
    this.state.set(rel, (flags & ~Flag.Implicit & ~Flag.Setgid & ~KIND) | Kind.Dir | (h.mode & 0o2000 ? Flag.Setgid : 0))
    lchownSync(abs, h.uid, h.gid)
    if (h.xattrs) this.setXattrs(abs, h, Kind.Dir)
    chmodSync(abs, h.mode) // a real directory (resolved without following the final name)
    this.dirTimes.set(rel, {sec: h.mtimeSec, nsec: h.mtimeNsec})
  }

  /** A directory this extraction made, without setgid: what we create in it gets our ids and the exact open()/mkdir() mode. */
  private plainParent(rel: string): boolean {
    const flags = this.state.get(rel) ?? 0
    return (flags & (Flag.Fresh | Flag.Setgid)) === Flag.Fresh
  }

  private hardlink(h: TarHeader, rel: string, abs: string, parentFresh: boolean): void {
    const targetClean = cleanPath(h.linkpath)
    if (targetClean === '') throw new DataLoss(`hardlink to the root directory`)
    const self = this.existing(targetClean)
    if (self !== undefined && self.rel === rel && self.kind !== Kind.None) return // a link to itself
    const existing = this.kindOf(rel, parentFresh)
    if (existing !== Kind.None) this.remove(rel, existing)
    const seen = (this.state.get(rel) ?? 0) & Flag.WhiteoutSeen
    const target = existing === Kind.None ? self : this.existing(targetClean) // the removal may have changed it
    const kind = target?.kind ?? Kind.None
    if (kind === Kind.Dir) throw new DataLoss(`hardlink to directory ${JSON.stringify(h.linkpath)}`)
    if (target !== undefined && kind !== Kind.None && kind !== Kind.Pending && kind !== Kind.Whiteout) {
      linkSync(this.abs(target.rel), abs) // link(2) never follows a symlink at the target
      this.state.set(rel, kind | seen)
      return
    }
    if (!this.overlay) throw new DataLoss(`hardlink target ${JSON.stringify(h.linkpath)} not found`)
    // In a lower layer, or nowhere: decided once the lower layers are known.
    this.deferred.push({rel, target: targetClean, entry: h.path, cancelled: false})
    this.state.set(rel, Kind.Pending | seen)
  }

  // ---- whiteouts ------------------------------------------------------------------------------

  private whiteoutEntry(parent: string, base: string, h: TarHeader): void {
    if (base === '.wh..wh..opq') {
      this.opaque(parent)
      return
    }
    if (base.startsWith('.wh..wh.')) return // other AUFS metadata (.wh..wh.plnk, ...): ignored, as containerd does
    const name = base.slice(4)
    if (name === '' || name === '.' || name === '..') throw new DataLoss(`invalid whiteout name ${JSON.stringify(h.path)}`)
    const rel = joinRel(parent, name)
    const flags = this.state.get(rel) ?? 0
    const kind = flags & KIND
    this.state.set(rel, flags | Flag.WhiteoutSeen)
    if (kind === Kind.Dir) {
      // This layer's own directory: it stays, but nothing below this layer shows through it.
      this.opaque(rel)
      return
    }
    if (kind !== Kind.None) return // this layer's own entry already hides what is below
    if (this.overlay) {
      mknod(this.abs(rel), S_IFCHR, 0, 0)
      this.state.set(rel, Kind.Whiteout | Flag.WhiteoutSeen | (flags & ~KIND))
      return
    }
    if (flags & Flag.Ancestor) {
      this.pruneLower(rel) // a parent directory that leads to entries of this layer
      return
    }
    const st = lstatSync(this.abs(rel), {throwIfNoEntry: false})
    if (st) this.remove(rel, st.isDirectory() ? Kind.Dir : st.isSymbolicLink() ? Kind.Symlink : Kind.File)
  }

  /** Hide everything below this layer inside directory `rel`. */
  private opaque(rel: string): void {
    if (this.overlay) lsetxattr(this.abs(rel), OPAQUE_XATTR, OPAQUE_VALUE)
    else this.pruneLower(rel)
  }

  /**
   * merged mode: delete what directory `rel` holds from the parent tree, keeping this layer's
   * entries (a work list, not recursion: only directories this layer reached are entered).
   */
  private pruneLower(rel: string): void {
    const dirs = [rel]
    for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
      for (const dirent of readdirSync(this.abs(dir), {withFileTypes: true})) {
        const child = joinRel(dir, dirent.name)
        const flags = this.state.get(child) ?? 0
        const mine = (flags & KIND) !== Kind.None || (flags & Flag.Ancestor) !== 0
        if (mine) {
          if (dirent.isDirectory()) dirs.push(child)
          continue
        }
        this.remove(child, dirent.isDirectory() ? Kind.Dir : dirent.isSymbolicLink() ? Kind.Symlink : Kind.File)
      }
    }
  }

  // ---- resolution -----------------------------------------------------------------------------

  private abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`
  }

  private isFresh(rel: string): boolean {
    return ((this.state.get(rel) ?? 0) & Flag.Fresh) !== 0
  }

  /** What is at `rel`: from the state map where it is complete, else from the disk (merged mode). */
  private kindOf(rel: string, parentFresh: boolean): Kind {
    const flags = this.state.get(rel) ?? 0
    const kind = (flags & KIND) as Kind
    if (kind !== Kind.None || this.overlay || parentFresh) return kind
    const st = lstatSync(this.abs(rel), {throwIfNoEntry: false})
    if (st === undefined) return Kind.None
    return st.isDirectory() ? Kind.Dir : st.isSymbolicLink() ? Kind.Symlink : st.isFile() ? Kind.File : Kind.Special
  }

  /**
   * The real directory that the cleaned directory name `key` denotes, created as needed: each
   * prefix of `key` is resolved (and cached) in turn from the longest one already known, in a
   * loop, never recursion, since a name may have thousands of components. The cache holds the
   * prefixes of what it holds (unless a removal cleared it halfway: then a prefix is resolved
   * again), so the longest cached prefix is found by a scan from the start that ends at the first
   * miss. Symlinks followed count against one budget for the whole name, as in
   * containerd's fs.RootPath: `s/s/s/…` through a link to `.` cannot go on for ever.
   */
  private dir(key: string): string {
    if (key === '') return ''
    const hit = this.dirCache.get(key)
    if (hit !== undefined) return hit
    let resolved = ''
    let start = 0 // where the components not yet resolved begin
    const parentEnd = key.lastIndexOf('/')
    const parent = parentEnd < 0 ? undefined : this.dirCache.get(key.slice(0, parentEnd))
    if (parent !== undefined) {
      resolved = parent
      start = parentEnd + 1
    } else {
      for (let slash = key.indexOf('/'); slash >= 0; slash = key.indexOf('/', slash + 1)) {
        const cached = this.dirCache.get(key.slice(0, slash))
        if (cached === undefined) break
        resolved = cached
        start = slash + 1
      }
    }
    const links = {followed: 0}
    for (;;) {
      let slash = key.indexOf('/', start)
      if (slash < 0) slash = key.length
      resolved = this.walk(resolved, [key.slice(start, slash)], true, links)!
      this.dirCache.set(slash === key.length ? key : key.slice(0, slash), resolved)
      if (slash === key.length) return resolved
      start = slash + 1
    }
  }

  /**
   * Resolves `names` (in order) from directory `from`, inside the root: symlinks are followed
   * within the root, missing directories are created (create) or end the walk (undefined).
   * `links` counts the symlinks followed, across calls when the caller shares it.
   * @throws DataLoss when a component is not a directory or symlinks loop.
   */
  private walk(from: string, names: readonly string[], create: boolean, links = {followed: 0}): string | undefined {
    let current = from
    const pending = names.slice().reverse()
    while (pending.length > 0) {
      const name = pending.pop()!
      if (name === '' || name === '.') continue
      if (name === '..') {
        current = parentRel(current)
        continue
      }
      const next = joinRel(current, name)
      const kind = this.kindOf(next, this.isFresh(current))
      switch (kind) {
        case Kind.Dir:
          if (create && !this.overlay) this.markAncestor(next)
          current = next
          continue
        case Kind.Symlink: {
          if (++links.followed > MAX_LINKS) throw new DataLoss(`too many levels of symbolic links resolving ${JSON.stringify(shortPath(next))}`)
          const target = readlinkSync(this.abs(next))
          if (target.startsWith('/')) current = ''
          for (const part of target.split('/').reverse()) pending.push(part)
          continue
        }
        case Kind.None:
          if (!create) return undefined
          this.mkdirImplicit(next)
          current = next
          continue
        case Kind.Whiteout:
          if (!create) return undefined
          // Whited out earlier in this layer, now a directory is needed there: a new, opaque one.
          this.remove(next, Kind.Whiteout)
          this.mkdirImplicit(next)
          current = next
          continue
        default:
          if (!create) return undefined
          if (this.overlay || ((this.state.get(next) ?? 0) & KIND) !== Kind.None) throw new DataLoss(`${JSON.stringify(shortPath(next))} is not a directory`)
          // merged mode, a non-directory of the parent tree: this layer needs a directory there,
          // and gets a new one (what overlay mode shows: its directory covers the lower entry).
          this.remove(next, kind)
          this.mkdirImplicit(next)
          current = next
          continue
      }
    }
    return current
  }

  /** The existing entry a cleaned name denotes (parents resolved, final name not followed), or undefined. */
  private existing(clean: string): {rel: string; kind: Kind} | undefined {
    const slash = clean.lastIndexOf('/')
    const key = slash < 0 ? '' : clean.slice(0, slash)
    const parent = key === '' ? '' : (this.dirCache.get(key) ?? this.walk('', components(key), false))
    if (parent === undefined) return undefined
    const rel = joinRel(parent, slash < 0 ? clean : clean.slice(slash + 1))
    return {rel, kind: this.kindOf(rel, this.isFresh(parent))}
  }

  private mkdirImplicit(rel: string): void {
    const abs = this.abs(rel)
    mkdirSync(abs, 0o755)
    chmodSync(abs, 0o755) // whatever the umask
    const flags = this.state.get(rel) ?? 0
    this.state.set(rel, Kind.Dir | Flag.Implicit | Flag.Fresh | (flags & Flag.WhiteoutSeen))
    if (flags & Flag.WhiteoutSeen && this.overlay) lsetxattr(abs, OPAQUE_XATTR, OPAQUE_VALUE)
  }

  /** merged mode: remember a parent-tree directory on the way to this layer's entries, and its mtime. */
  private markAncestor(rel: string): void {
    const flags = this.state.get(rel) ?? 0
    if (flags & (Flag.Ancestor | KIND)) return
    this.state.set(rel, flags | Flag.Ancestor)
    if (!this.dirTimes.has(rel)) {
      // Creating entries changes its mtime; a directory the layer does not list keeps the old one.
      const st = lstatSync(this.abs(rel), {bigint: true})
      this.dirTimes.set(rel, timespecOf(st))
    }
  }

  // ---- removal --------------------------------------------------------------------------------

  /** Remove what is at `rel` (a whole tree for a directory), forgetting what we knew below it. */
  private remove(rel: string, kind: Kind): void {
    const abs = this.abs(rel)
    switch (kind) {
      case Kind.Dir:
        this.removeTree(rel)
        this.dirCache.clear() // cached resolutions may pass through it
        break
      case Kind.Pending:
        this.cancelDeferred(rel)
        break
      case Kind.Symlink:
        unlinkSync(abs)
        this.dirCache.clear() // cached resolutions may pass through it
        break
      default:
        unlinkSync(abs)
    }
    this.forget(rel)
  }

  /** A whole directory tree, at any depth (a merged-mode parent tree may hold what a container made). */
  private removeTree(rel: string): void {
    // Deferred links below it have no file yet: drop them too.
    if (this.deferred.length > 0) for (const d of this.deferred) if (d.rel.startsWith(`${rel}/`)) d.cancelled = true
    removeTree(this.abs(rel), {onRemoved: (child) => this.forget(joinRel(rel, child))})
  }

  private forget(rel: string): void {
    const flags = this.state.get(rel)
    if (flags !== undefined) {
      const kept = flags & Flag.WhiteoutSeen
      if (kept) this.state.set(rel, kept)
      else this.state.delete(rel)
    }
    this.dirTimes.delete(rel)
  }

  private cancelDeferred(rel: string): void {
    for (const d of this.deferred) if (d.rel === rel) d.cancelled = true
  }

  // ---- xattrs ---------------------------------------------------------------------------------

  private setXattrs(abs: string, h: TarHeader, kind: Kind): void {
    for (const [name, value] of h.xattrs!) {
      if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) continue // see the file comment
      try {
        lsetxattr(abs, name, value)
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        const namespace = name.slice(0, name.indexOf('.') + 1) || name
        if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
          this.warn(
            `xattr:${namespace}`,
            `xattrs ${namespace}* are not supported by the filesystem of ${this.root}: skipped (first: ${JSON.stringify(name)} on ${JSON.stringify(h.path)})`,
          )
          continue
        }
        if (code === 'EPERM' && namespace === 'user.' && kind !== Kind.File && kind !== Kind.Dir) {
          // Linux allows user.* only on regular files and directories.
          this.warn(
            `xattr-user:${h.path}`,
            `xattr ${JSON.stringify(name)} on ${JSON.stringify(h.path)} skipped: Linux allows user.* xattrs only on files and directories`,
          )
          continue
        }
        throw err
      }
    }
  }

  private warn(key: string, message: string): void {
    if (this.warned.has(key)) return
    this.warned.add(key)
    this.onWarning?.(message)
  }

  // ---- after extraction -----------------------------------------------------------------------

  /**
   * overlay mode, once the lower layers exist (`lowers`: their directories, nearest first):
   * completes deferred hardlinks (copying the target up from the nearest lower that shows it),
   * removes whiteouts that hide nothing (when `pruneWhiteouts`: the lowers are the real ones),
   * and gives implicitly created directories the metadata of the directory they cover.
   * @throws DataLoss when a hardlink target exists nowhere.
   */
  fixUp(lowers: readonly string[], options: {pruneWhiteouts: boolean}): void {
    const layers = [this.root, ...lowers]
    for (const d of this.deferred) {
      if (d.cancelled) continue
      try {
        this.completeLink(d, layers)
      } catch (err) {
        throw failure(err, d.entry)
      }
    }
    for (const [rel, flags] of this.state) {
      try {
        const kind = flags & KIND
        if (kind === Kind.Whiteout && options.pruneWhiteouts) this.pruneWhiteout(rel, layers)
        else if (kind === Kind.Dir && flags & Flag.Implicit) this.inheritDir(rel, layers)
      } catch (err) {
        throw failure(err, rel)
      }
    }
  }

  /**
   * Removes a whiteout that hides nothing in the lower layers. Not only tidier: overlayfs lists
   * whiteouts of a directory that exists in a single layer (it filters only merged directories),
   * so a pointless whiteout would show up as an entry that cannot be stat'ed.
   */
  private pruneWhiteout(rel: string, layers: readonly string[]): void {
    const parent = lookupMerged(layers, components(parentRel(rel)))
    const name = rel.slice(rel.lastIndexOf('/') + 1)
    for (const layer of parent?.chain.slice(1) ?? []) {
      const st = lstatSync(`${layer}/${joinRel(parent!.rel, name)}`, {bigint: true, throwIfNoEntry: false})
      if (st === undefined) continue
      if (!isWhiteout(st)) return // it hides this
      break
    }
    unlinkSync(this.abs(rel))
    this.state.set(rel, (this.state.get(rel) ?? 0) & ~KIND)
  }

  /** Directory times, deepest first (creating entries in a directory changes its mtime). */
  finish(): void {
    const dirs = [...this.dirTimes.keys()].map((rel) => ({rel, depth: depth(rel)}))
    dirs.sort((a, b) => b.depth - a.depth)
    for (const {rel} of dirs) {
      const t = this.dirTimes.get(rel)!
      try {
        lutimens(this.abs(rel), t, t)
      } catch (err) {
        throw failure(err, rel)
      }
    }
  }

  private completeLink(d: DeferredLink, layers: readonly string[]): void {
    const found = lookupMerged(layers, components(d.target))
    if (found === undefined) throw new DataLoss(`hardlink target ${JSON.stringify(d.target)} not found in this layer or below`)
    if (found.stats.isDirectory()) throw new DataLoss(`hardlink to directory ${JSON.stringify(d.target)}`)
    // An earlier deferred link may have copied up the lower entry this pending link replaces.
    if (lstatSync(this.abs(d.rel), {throwIfNoEntry: false})) unlinkSync(this.abs(d.rel))
    if (found.layer !== this.root) {
      // Copy it up, as overlayfs itself would before linking.
      const dirRel = this.walk('', components(parentRel(found.rel)), true)!
      const rel = joinRel(dirRel, found.rel.slice(found.rel.lastIndexOf('/') + 1))
      const there = this.kindOf(rel, true)
      if (there !== Kind.None && there !== Kind.Pending) throw new Internal(`copy-up target ${JSON.stringify(rel)} exists`)
      const kind = copyUp(`${found.layer}/${found.rel}`, this.abs(rel), found.stats)
      if (there === Kind.None) this.state.set(rel, kind) // a pending link there replaces it later
      linkSync(this.abs(rel), this.abs(d.rel))
    } else {
      linkSync(this.abs(found.rel), this.abs(d.rel))
    }
    this.state.set(d.rel, kindOfStats(found.stats) | ((this.state.get(d.rel) ?? 0) & Flag.WhiteoutSeen))
  }

  /**
   * An implicit directory takes mode, owner, xattrs and mtime from the directory it covers, if
   * any: the nearest lower directory at that path in the union below its parent. Its own opaque
   * marker hides only what the lower directories contain, not their metadata; a directory this
   * layer whited out and then needed again is new and keeps 0755 root:root.
   */
  private inheritDir(rel: string, layers: readonly string[]): void {
    if ((this.state.get(rel) ?? 0) & Flag.WhiteoutSeen) return
    const parent = lookupMerged(layers, components(parentRel(rel)))
    const name = rel.slice(rel.lastIndexOf('/') + 1)
    let from: string | undefined
    let st: BigIntStats | undefined
    for (const layer of parent?.chain.slice(1) ?? []) {
      const path = `${layer}/${joinRel(parent!.rel, name)}`
      st = lstatSync(path, {bigint: true, throwIfNoEntry: false})
      if (st === undefined) continue
      if (st.isDirectory()) from = path
      break // a file or whiteout there means no directory shows through
    }
    if (from === undefined || st === undefined) return // nothing below: keeps 0755 root:root
    const to = this.abs(rel)
    lchownSync(to, Number(st.uid), Number(st.gid))
    copyXattrs(from, to)
    chmodSync(to, Number(st.mode) & 0o7777)
    this.dirTimes.set(rel, timespecOf(st))
  }
}

/** Where {@link lookupMerged} found a path: the layer showing it, and for a directory the layers merged into it. */
interface MergedEntry {
  readonly rel: string
  readonly layer: string
  readonly stats: BigIntStats
  /** For a directory: the layers whose directory is merged here, topmost first. */
  readonly chain: readonly string[]
}

/**
 * Looks `names` up in the union of `layers` (topmost first) the way overlayfs does: whiteouts
 * and opaque directories hide what lies below, intermediate symlinks are followed inside the
 * root (never out of it), the final name is not. Every lstat goes through real directories only.
 * @returns the entry, or undefined when the union has nothing there.
 */
export function lookupMerged(layers: readonly string[], names: readonly string[]): MergedEntry | undefined {
  const rootChain: string[] = []
  for (const layer of layers) {
    rootChain.push(layer)
    if (isOpaque(layer)) break
  }
  const root = {rel: '', chain: rootChain}
  let current = root
  const parents: {rel: string; chain: string[]}[] = []
  const pending = names.slice().reverse()
  let links = 0
  while (pending.length > 0) {
    const name = pending.pop()!
    if (name === '' || name === '.') continue
    if (name === '..') {
      current = parents.pop() ?? root
      continue
    }
    const rel = joinRel(current.rel, name)
    let index = -1
    let stats: BigIntStats | undefined
    for (let i = 0; i < current.chain.length; i++) {
      stats = lstatSync(`${current.chain[i]}/${rel}`, {bigint: true, throwIfNoEntry: false})
      if (stats !== undefined) {
        index = i
        break
      }
    }
    if (stats === undefined || isWhiteout(stats)) return undefined
    const layer = current.chain[index]
    const last = pending.length === 0
    if (stats.isSymbolicLink() && !last) {
      if (++links > MAX_LINKS) throw new DataLoss(`too many levels of symbolic links resolving ${JSON.stringify(shortPath(rel))}`)
      const target = readlinkSync(`${layer}/${rel}`)
      if (target.startsWith('/')) {
        parents.length = 0
        current = root
      }
      for (const part of target.split('/').reverse()) pending.push(part)
      continue
    }
    if (!stats.isDirectory()) return last ? {rel, layer, stats, chain: [layer]} : undefined
    const chain = [layer]
    if (!isOpaque(`${layer}/${rel}`)) {
      for (let i = index + 1; i < current.chain.length; i++) {
        const below = `${current.chain[i]}/${rel}`
        const st = lstatSync(below, {throwIfNoEntry: false})
        if (st === undefined) continue
        if (!st.isDirectory()) break // a file or whiteout ends the merge
        chain.push(current.chain[i])
        if (isOpaque(below)) break
      }
    }
    if (last) return {rel, layer, stats, chain}
    parents.push(current)
    current = {rel, chain}
  }
  return {rel: '', layer: layers[0], stats: lstatSync(layers[0], {bigint: true}), chain: rootChain}
}

function isOpaque(path: string): boolean {
  const v = lgetxattr(path, OPAQUE_XATTR)
  return v !== undefined && v.length === 1 && v[0] === 0x79
}

function isWhiteout(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n
}

function kindOfStats(st: BigIntStats): Kind {
  return st.isDirectory() ? Kind.Dir : st.isSymbolicLink() ? Kind.Symlink : st.isFile() ? Kind.File : Kind.Special
}

function timespecOf(st: BigIntStats): Timespec {
  const ns = st.mtimeNs
  let sec = ns / 1_000_000_000n
  let nsec = ns % 1_000_000_000n
  if (nsec < 0n) {
    nsec += 1_000_000_000n
    sec -= 1n
  }
  return {sec: Number(sec), nsec: Number(nsec)}
}

/** Copies a lower entry (file, symlink, device, fifo) to `to` with its metadata. @returns its Kind. */
function copyUp(from: string, to: string, st: BigIntStats): Kind {
  const t = timespecOf(st)
  if (st.isFile()) {
    copyFileSync(from, to, fsConstants.COPYFILE_EXCL)
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(from), to)
  } else if (st.isCharacterDevice() || st.isBlockDevice() || st.isFIFO()) {
    const rdev = Number(st.rdev)
    const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff)
    const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00)
    mknod(to, (st.isCharacterDevice() ? S_IFCHR : st.isBlockDevice() ? S_IFBLK : S_IFIFO) | 0o600, major, minor)
  } else {
    throw new DataLoss(`cannot copy up ${JSON.stringify(from)}: unsupported file type`)
  }
  lchownSync(to, Number(st.uid), Number(st.gid))
  copyXattrs(from, to)
  if (!st.isSymbolicLink()) chmodSync(to, Number(st.mode) & 0o7777)
  lutimens(to, t, t)
  return kindOfStats(st)
}

/** Copies xattrs except overlayfs' own. */
function copyXattrs(from: string, to: string): void {
  for (const name of llistxattr(from)) {
    if (name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.')) continue
    const value = lgetxattr(from, name)
    if (value !== undefined) lsetxattr(to, name, value)
  }
}

/** A BerthError naming the entry, keeping the kind of a BerthError and mapping errno codes. */
export function failure(err: unknown, entry: string): Error {
  return prefixed(err, `layer entry ${JSON.stringify(shortPath(entry))}`)
}

/** `err` as a BerthError whose message starts with `prefix` (kept when it already names an entry). */
export function prefixed(err: unknown, prefix: string): Error {
  if (isBerthError(err)) {
    if (err.message.startsWith('layer entry ') || err.message.startsWith(prefix)) return err
    const Class = Object.getPrototypeOf(err).constructor as new (m: string, o?: {cause?: unknown}) => Error
    return new Class(`${prefix}: ${err.message}`, {cause: err})
  }
  const e = err as NodeJS.ErrnoException & {dest?: unknown}
  // Node's message names the path(s): kilobytes for an entry deeper than the kernel takes.
  let detail = e?.message ?? String(err)
  for (const p of [e?.path, e?.dest]) if (typeof p === 'string' && p.length > 200) detail = detail.split(p).join(shortPath(p))
  return errorOfKind(kindOfCode(e?.code), `${prefix}: ${detail}`, {cause: err})
}
