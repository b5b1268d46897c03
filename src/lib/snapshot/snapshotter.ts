// The two snapshotters' file-system side: where a snapshot directory lives, how a new one is
// made, what mounts expose it and how they are performed.
//
// overlayfs: each directory holds `fs` (the layer, or the writable upper) and `work`. A snapshot
// mounts as an overlay of its directory chain; options name the lower directories relative to
// the snapshotter root and the mount runs with that root as its working directory, so even deep
// chains (128 layers) stay well under the one-page limit on mount options.
// native: each directory holds a full copy of its parent's tree plus its own changes; a snapshot
// mounts as a bind mount. For file systems without overlay support.
import {spawn} from 'node:child_process'
import {chmodSync, lchownSync, mkdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {Internal, InvalidArgument, NotImplemented} from '../errors/index.js'
import {PRIVATE_DIR_MODE, type SnapshotDir, type SnapshotKind, snapshotterDir} from '../store/index.js'
import * as sys from '../sys/index.js'
import {removeTree, shortPath} from '../sys/tree.js'

export const SNAPSHOTTERS = ['overlayfs', 'native'] as const
export type SnapshotterName = (typeof SNAPSHOTTERS)[number]

/** One mount, as containerd's mount.Mount: `mount -t <type> <source> <target> -o <options>`. */
export interface Mount {
  type: string
  source: string
  options: string[]
}

/** @throws InvalidArgument for a snapshotter Berth does not have. */
export function snapshotterName(name: string): SnapshotterName {
  if ((SNAPSHOTTERS as readonly string[]).includes(name)) return name as SnapshotterName
  throw new NotImplemented(`snapshotter ${JSON.stringify(name)} is not supported (use ${SNAPSHOTTERS.join(' or ')})`, {suffixKind: true})
}

/** A snapshotter rooted at `<root>/snapshots/<name>`. */
export class Snapshotter {
  readonly dir: string

  constructor(
    root: string,
    readonly name: SnapshotterName,
  ) {
    this.dir = snapshotterDir(root, name)
  }

  /** The directory a snapshot's files live in (the overlay upper, or the full native tree). */
  fsPath(id: string): string {
    return join(this.dir, id, 'fs')
  }

  /**
   * Make the directory for a new snapshot `id` whose parent chain is `parents` (nearest first):
   * empty for overlayfs; for native, a copy of the parent's tree (views too: native has no
   * read-only stacking). The caller records it once complete, or removes it.
   */
  async createDir(id: string, kind: SnapshotKind, parents: readonly SnapshotDir[]): Promise<string> {
    // snapshots/, snapshots/<name>/ and <id>/ are root's alone: the snapshot's files are the
    // image's and the container's, setuid binaries included (CVE-2021-41103).
    mkdirSync(this.dir, {recursive: true, mode: PRIVATE_DIR_MODE})
    const base = join(this.dir, id)
    mkdirSync(base, {mode: PRIVATE_DIR_MODE})
    const fs = join(base, 'fs')
    if (this.name === 'overlayfs') {
      makeRootDir(fs)
      // The new upper's root takes the owner of its parent's (containerd does the same): a remapped
      // parent's root stays the user namespace's root once the container writes into it.
      if (parents[0]) {
        const st = statSync(this.fsPath(parents[0].id))
        if (st.uid !== 0 || st.gid !== 0) lchownSync(fs, st.uid, st.gid)
      }
      if (kind === 'active') mkdirSync(join(base, 'work'), {mode: PRIVATE_DIR_MODE})
    } else if (parents[0]) {
      try {
        await copyTree(this.fsPath(parents[0].id), fs)
      } catch (err) {
        this.removeDirQuietly(id)
        throw err
      }
    } else {
      makeRootDir(fs)
    }
    return fs
  }

  /**
   * Delete a snapshot directory (idempotent), at any depth: what a layer or a container put there
   * is untrusted. Removes all it can before it throws.
   * @throws PermissionDenied (an immutable entry), FailedPrecondition (a mount inside), Internal.
   */
  removeDir(id: string): void {
    if (!/^[a-z2-7]+$/.test(id)) throw new InvalidArgument(`invalid snapshot directory id ${JSON.stringify(id)}`)
    removeTree(join(this.dir, id))
  }

  /** {@link removeDir} on a path that already failed: whatever stays is garbage GC removes (no record names it). */
  removeDirQuietly(id: string): void {
    try {
      this.removeDir(id)
    } catch {
      // left for GC
    }
  }

  /**
   * The mounts of an active or view snapshot whose directory chain is `chain` (its own directory
   * first), with absolute paths, as `ctr snapshots mounts` prints them.
   */
  mounts(kind: SnapshotKind, chain: readonly SnapshotDir[]): Mount[] {
    return this.mountsWith(kind, chain, (id) => this.fsPath(id), (id) => join(this.dir, id, 'work'))
  }

  /** Mount the snapshot at `target` (an existing directory). @throws Internal (mount failed). */
  mount(kind: SnapshotKind, chain: readonly SnapshotDir[], target: string): void {
    // Relative to this.dir: the kernel resolves them against the caller's working directory.
    const mounts = this.mountsWith(kind, chain, (id) => `${id}/fs`, (id) => `${id}/work`)
    for (const m of mounts) performMount(m, target, this.dir)
  }

  private layerMounts(layers: readonly SnapshotDir[], fsOf: (id: string) => string): Mount[] {
    if (this.name === 'native' || layers.length === 1) return [{type: 'bind', source: fsOf(layers[0]!.id), options: ['ro', 'rbind']}]
    return [{type: 'overlay', source: 'overlay', options: ['index=off', `lowerdir=${layers.map((p) => fsOf(p.id)).join(':')}`]}]
  }

  private mountsWith(kind: SnapshotKind, chain: readonly SnapshotDir[], fsOf: (id: string) => string, workOf: (id: string) => string): Mount[] {
    const [own, ...parents] = chain
    if (!own) throw new InvalidArgument('empty snapshot chain')
    if (kind === 'committed') throw new InvalidArgument('a committed snapshot cannot be mounted: prepare or view it first', {suffixKind: true})
    const ro = kind === 'view' ? 'ro' : 'rw'
    if (this.name === 'native') return [{type: 'bind', source: fsOf(own.id), options: [ro, 'rbind']}]
    if (kind === 'active') {
      if (parents.length === 0) return [{type: 'bind', source: fsOf(own.id), options: ['rw', 'rbind']}]
      return [{type: 'overlay', source: 'overlay', options: ['index=off', `workdir=${workOf(own.id)}`, `upperdir=${fsOf(own.id)}`, `lowerdir=${parents.map((p) => fsOf(p.id)).join(':')}`]}]
    }
    // A view: its own (empty) directory plays no part; the parents are the read-only stack.
    if (parents.length === 0) return [{type: 'bind', source: fsOf(own.id), options: ['ro', 'rbind']}]
    return this.layerMounts(parents, fsOf)
  }
}

/** Perform one mount at `target`, resolving relative paths in its options against `cwd`. */
export function performMount(m: Mount, target: string, cwd: string): void {
  try {
    if (m.type === 'bind') {
      const source = m.source.startsWith('/') ? m.source : join(cwd, m.source)
      const rec = m.options.includes('rbind') ? sys.MS_REC : 0
      sys.mount(source, target, '', sys.MS_BIND | rec, '')
      if (m.options.includes('ro')) sys.mount('', target, '', sys.MS_BIND | sys.MS_REMOUNT | sys.MS_RDONLY | rec, '')
      return
    }
    const flags = m.options.includes('ro') ? sys.MS_RDONLY : 0
    const data = m.options.filter((o) => o !== 'ro' && o !== 'rw').join(',')
    sys.mount(m.source, target, m.type, flags, data, cwd)
  } catch (err) {
    throw new Internal(`mount ${m.type} at ${JSON.stringify(target)}: ${(err as Error).message}`, {cause: err})
  }
}

/** Unmount `target` (lazily with `detach`); a target that is not mounted is not an error. */
export function unmount(target: string, options: {detach?: boolean} = {}): boolean {
  try {
    sys.umount(target, options.detach ? sys.MNT_DETACH : 0)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EINVAL' || code === 'ENOENT') return false
    throw new Internal(`unmount ${JSON.stringify(target)}: ${(err as Error).message}`, {cause: err})
  }
}

/**
 * A snapshot's `fs`: the `/` of what mounts it (an overlay's root takes the upper directory's
 * mode) unless a layer says otherwise. 0755 exactly: a caller's umask of 027 must not leave a
 * container's non-root users without a `/`.
 */
function makeRootDir(fs: string): void {
  mkdirSync(fs, {mode: 0o755})
  chmodSync(fs, 0o755)
}

/** `cp -a` keeps owners, modes, times, xattrs, hardlinks and device nodes; reflinks where it can. */
function copyTree(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('cp', ['-a', '--reflink=auto', '--', from, to], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-16384)))
    child.on('error', reject)
    // cp names the entry it failed on: a tree deeper than PATH_MAX gives a path of kilobytes.
    const why = (): string => stderr.trim().split('\n').at(-1)!.replace(/'([^']{200,})'/g, (_, p: string) => `'${shortPath(p)}'`)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Internal(`copy snapshot tree: ${stderr.trim() ? why() : `cp exited with ${code}`}`))))
  })
}
