// Reads a directory tree into comparable records (type, mode, owner, size, content hash, link
// target, device numbers, xattrs, mtime, inode) and mounts extracted layers as a read-only
// overlay, for the layer-apply tests. Never follows symlinks; needs root for mounts.
import {createHash} from 'node:crypto'
import {lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, type BigIntStats} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {MNT_DETACH, MS_RDONLY, lgetxattr, llistxattr, mount, umount} from '../../src/lib/sys/index.js'

/** One entry of a tree, as compared between extractions. */
export interface TreeEntry {
  readonly type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket'
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** Files: size and sha256 of the content. */
  readonly size?: number
  readonly sha256?: string
  /** Symlinks: the stored target. */
  readonly link?: string
  /** Devices: major, minor. */
  readonly rdev?: readonly [number, number]
  /** Selected xattrs, values in hex. */
  readonly xattrs: Readonly<Record<string, string>>
  readonly mtimeNs: bigint
  readonly ino: bigint
  readonly nlink: number
}

export type Tree = Map<string, TreeEntry>

/** Which xattrs {@link readTree} records: by default user.*, security.capability and trusted.overlay.opaque. */
export const DEFAULT_XATTRS = (name: string): boolean => name.startsWith('user.') || name === 'security.capability' || name === 'trusted.overlay.opaque'

/** @returns major and minor of a Linux dev_t. */
export function devParts(rdev: bigint): [number, number] {
  const r = Number(rdev)
  return [((r >>> 8) & 0xfff) | (Math.floor(r / 2 ** 32) & ~0xfff), (r & 0xff) | ((r >>> 12) & 0xfff00)]
}

function typeOf(st: BigIntStats): TreeEntry['type'] {
  if (st.isFile()) return 'file'
  if (st.isDirectory()) return 'dir'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isCharacterDevice()) return 'char'
  if (st.isBlockDevice()) return 'block'
  if (st.isFIFO()) return 'fifo'
  return 'socket'
}

/** Reads the entry at `path` (not following a symlink). */
export function readEntry(path: string, xattrFilter: (name: string) => boolean = DEFAULT_XATTRS): TreeEntry {
  const st = lstatSync(path, {bigint: true})
  const type = typeOf(st)
  const xattrs: Record<string, string> = {}
  for (const name of llistxattr(path).sort()) if (xattrFilter(name)) xattrs[name] = lgetxattr(path, name)?.toString('hex') ?? ''
  return {
    type,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    ...(type === 'file' ? {size: Number(st.size), sha256: createHash('sha256').update(readFileSync(path)).digest('hex')} : {}),
    ...(type === 'symlink' ? {link: readlinkSync(path)} : {}),
    ...(type === 'char' || type === 'block' ? {rdev: devParts(st.rdev)} : {}),
    xattrs,
    mtimeNs: st.mtimeNs,
    ino: st.ino,
    nlink: Number(st.nlink),
  }
}

/** @returns every entry below `root` (not root itself) by relative path, sorted. */
export function readTree(root: string, xattrFilter: (name: string) => boolean = DEFAULT_XATTRS): Tree {
  const tree: Tree = new Map()
  const walk = (rel: string): void => {
    for (const name of readdirSync(rel ? join(root, rel) : root).sort()) {
      const childRel = rel ? `${rel}/${name}` : name
      const entry = readEntry(join(root, childRel), xattrFilter)
      tree.set(childRel, entry)
      if (entry.type === 'dir') walk(childRel)
    }
  }
  walk('')
  return tree
}

/** Sets of paths that share an inode (regular files with more than one link), as sorted, comparable strings. */
export function hardlinkGroups(tree: Tree): string[] {
  const byIno = new Map<bigint, string[]>()
  for (const [path, e] of tree) {
    if (e.type !== 'file' || e.nlink < 2) continue
    byIno.set(e.ino, [...(byIno.get(e.ino) ?? []), path])
  }
  return [...byIno.values()]
    .filter((g) => g.length > 1)
    .map((g) => g.sort().join(' = '))
    .sort()
}

/** Options for {@link diffTrees}. */
export interface DiffOptions {
  /** Compare mtimes (to the nanosecond) unless this says no for a path. */
  readonly mtime?: (path: string, a: TreeEntry, b: TreeEntry) => boolean
  /** Compare xattrs (default true). */
  readonly xattrs?: boolean
}

/** @returns human-readable differences between two trees (empty when equal). */
export function diffTrees(a: Tree, b: Tree, options: DiffOptions = {}): string[] {
  const out: string[] = []
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(path)
    const y = b.get(path)
    if (!x || !y) {
      out.push(`${path}: only in ${x ? 'first' : 'second'} (${(x ?? y)!.type})`)
      continue
    }
    const fields: (keyof TreeEntry)[] = ['type', 'mode', 'uid', 'gid', 'size', 'sha256', 'link']
    for (const f of fields) if (x[f] !== y[f]) out.push(`${path}: ${f} ${fmt(x[f])} != ${fmt(y[f])}`)
    if (String(x.rdev) !== String(y.rdev)) out.push(`${path}: rdev ${String(x.rdev)} != ${String(y.rdev)}`)
    if ((options.xattrs ?? true) && JSON.stringify(x.xattrs) !== JSON.stringify(y.xattrs))
      out.push(`${path}: xattrs ${JSON.stringify(x.xattrs)} != ${JSON.stringify(y.xattrs)}`)
    if ((options.mtime?.(path, x, y) ?? true) && x.mtimeNs !== y.mtimeNs) out.push(`${path}: mtime ${x.mtimeNs} != ${y.mtimeNs}`)
  }
  return out.sort()
}

const fmt = (v: unknown): string => (typeof v === 'number' && v > 7 ? `0o${v.toString(8)}` : JSON.stringify(v))

/** A read-only overlay of extracted layers. */
export interface OverlayMount {
  readonly path: string
  /** Unmounts and removes the mountpoint; idempotent. */
  close(): void
}

/**
 * Mounts `layers` (topmost first) as a read-only overlay on a fresh temp mountpoint. An empty
 * directory is added as the bottom layer (overlayfs wants two lower layers without an upper).
 * @throws the mount(2) error.
 */
export function mountOverlay(layers: readonly string[]): OverlayMount {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ovl-'))
  const mnt = join(dir, 'mnt')
  const empty = join(dir, 'empty')
  mkdirSync(mnt)
  mkdirSync(empty)
  mount('overlay', mnt, 'overlay', MS_RDONLY, `lowerdir=${[...layers, empty].join(':')}`)
  let open = true
  return {
    path: mnt,
    close() {
      if (!open) return
      open = false
      umount(mnt, MNT_DETACH)
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
