// The Snapshotter interface: the file-system side of a snapshotter (where a snapshot's directory
// lives, how a new one is made, what mounts expose it, how a layer diff lands in it), which
// overlayfs.ts and native.ts implement and snapshotters.ts chooses by name. The records (keys,
// parents, kinds, labels) are the store's and the same for both, so SnapshotService keeps them
// and asks its Snapshotter only for what differs; a caller never branches on the name.
//
// containerd's snapshots.Snapshotter, as Berth splits it: Stat and Walk read the records
// (SnapshotService.get/list); Prepare and View record a new snapshot over `createDir`; Mounts is
// `mounts`; Commit renames the record (the directory stays as it is in both); Remove drops the
// record and then `removeDir`; Usage walks `fsPath`. A snapshot directory holds `fs` (and
// overlayfs's `work`) and is root's alone.
import {chmodSync, mkdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {Internal, InvalidArgument, NotImplemented} from '../errors/index.js'
import {PRIVATE_DIR_MODE, type SnapshotDir, type SnapshotKind, snapshotterDir} from '../store/index.js'
import * as sys from '../sys/index.js'
import {removeTree} from '../sys/tree.js'
import type {ApplyMode} from './apply/index.js'

export const SNAPSHOTTERS = ['overlayfs', 'native'] as const
export type SnapshotterName = (typeof SNAPSHOTTERS)[number]

/** One mount, as containerd's mount.Mount: `mount -t <type> <source> <target> -o <options>`. */
export interface Mount {
  type: string
  source: string
  options: string[]
}

/** @throws NotImplemented for a snapshotter Berth does not have. */
export function snapshotterName(name: string): SnapshotterName {
  if ((SNAPSHOTTERS as readonly string[]).includes(name)) return name as SnapshotterName
  throw new NotImplemented(`snapshotter ${JSON.stringify(name)} is not supported (use ${SNAPSHOTTERS.join(' or ')})`, {suffixKind: true})
}

/** A snapshotter rooted at `<root>/snapshots/<name>`; made by `openSnapshotter`. */
export interface Snapshotter {
  readonly name: SnapshotterName
  /** `<root>/snapshots/<name>`: the snapshot directories, by id. */
  readonly dir: string
  /**
   * What a snapshot's own `fs` holds, and so how a layer diff is applied into it: `overlay`, only
   * its changes, with overlayfs whiteouts and opaque markers, read over its parents; `merged`, the
   * whole tree (its parent's copied, then changed in place).
   */
  readonly layout: ApplyMode

  /** The directory a snapshot's files live in (the overlay upper, or the full native tree). */
  fsPath(id: string): string

  /**
   * Make the directory for a new snapshot `id` whose parent chain is `parents` (nearest first).
   * The caller records it once complete, or removes it. @throws Internal (copy failed).
   */
  createDir(id: string, kind: SnapshotKind, parents: readonly SnapshotDir[]): Promise<string>

  /**
   * Make the directory an unpacked layer is applied into, as `createDir` for a committed snapshot
   * but asking for the parent chain only if this snapshotter needs it (overlayfs does not, so its
   * layers extract while their parents still do). Returns the `fs` path.
   */
  createLayerDir(id: string, parents: () => Promise<readonly SnapshotDir[]>): Promise<string>

  /**
   * Delete a snapshot directory (idempotent), at any depth: what a layer or a container put there
   * is untrusted. Removes all it can before it throws.
   * @throws InvalidArgument (not a snapshot id), PermissionDenied (an immutable entry),
   * FailedPrecondition (a mount inside), Internal.
   */
  removeDir(id: string): void

  /** {@link removeDir} on a path that already failed: whatever stays is garbage GC removes (no record names it). */
  removeDirQuietly(id: string): void

  /**
   * The mounts of an active or view snapshot whose directory chain is `chain` (its own directory
   * first), with absolute paths, as `ctr snapshots mounts` prints them.
   * @throws InvalidArgument (a committed snapshot, an empty chain).
   */
  mounts(kind: SnapshotKind, chain: readonly SnapshotDir[]): Mount[]

  /** Mount the snapshot at `target` (an existing directory). @throws Internal (mount failed). */
  mount(kind: SnapshotKind, chain: readonly SnapshotDir[], target: string, options?: MountOptions): void

  /**
   * The directories that show committed snapshot `chain[0]` as a read-only tree without a mount,
   * top first. With more than one, a reader applies overlayfs's whiteout and opaque-directory
   * rules (runtime/user.ts does).
   */
  readLayers(chain: readonly SnapshotDir[]): string[]

  /** Why this snapshotter cannot work on this host and store, or undefined when it can. Never throws. */
  problem(): Promise<string | undefined>
}

/** How a snapshot is mounted for a task. */
export interface MountOptions {
  /**
   * Overlayfs's `volatile`: the upper directory is never synced, not by the container's fsync nor
   * at unmount. For a container removed after its one run (`run --rm`, as podman does): unmounting
   * otherwise syncs the whole file system under the store, which waits for every other writer's
   * dirty pages (170 ms measured with 300 MB pending, 3 ms without).
   */
  readonly volatile?: boolean
}

/** Paths a mount names: absolute for printing, or relative to the snapshotter's directory for performing. */
export interface MountPaths {
  fs(id: string): string
  work(id: string): string
}

/** What both snapshotters share: the directory layout, removal, and mounting what `mountsOf` describes. */
export abstract class SnapshotterBase implements Snapshotter {
  abstract readonly name: SnapshotterName
  abstract readonly layout: ApplyMode
  readonly dir: string

  constructor(root: string, name: SnapshotterName) {
    this.dir = snapshotterDir(root, name)
  }

  abstract createDir(id: string, kind: SnapshotKind, parents: readonly SnapshotDir[]): Promise<string>
  abstract createLayerDir(id: string, parents: () => Promise<readonly SnapshotDir[]>): Promise<string>
  abstract readLayers(chain: readonly SnapshotDir[]): string[]
  abstract problem(): Promise<string | undefined>
  /** The mounts of an active snapshot (`kind` active) or a view, `own` its directory and `parents` nearest first. */
  protected abstract mountsOf(kind: 'active' | 'view', own: SnapshotDir, parents: readonly SnapshotDir[], paths: MountPaths): Mount[]

  fsPath(id: string): string {
    return join(this.dir, id, 'fs')
  }

  removeDir(id: string): void {
    if (!/^[a-z2-7]+$/.test(id)) throw new InvalidArgument(`invalid snapshot directory id ${JSON.stringify(id)}`)
    removeTree(join(this.dir, id))
  }

  removeDirQuietly(id: string): void {
    try {
      this.removeDir(id)
    } catch {
      // left for GC
    }
  }

  mounts(kind: SnapshotKind, chain: readonly SnapshotDir[]): Mount[] {
    return this.mountsChecked(kind, chain, {fs: (id) => this.fsPath(id), work: (id) => join(this.dir, id, 'work')})
  }

  mount(kind: SnapshotKind, chain: readonly SnapshotDir[], target: string, options: MountOptions = {}): void {
    // Relative to this.dir: the kernel resolves them against the caller's working directory, so
    // even deep chains (128 layers) stay well under the one-page limit on mount options.
    const mounts = this.mountsChecked(kind, chain, {fs: (id) => `${id}/fs`, work: (id) => `${id}/work`})
    for (const m of mounts) {
      const upper = m.type === 'overlay' && m.options.some((o) => o.startsWith('upperdir='))
      // A volatile mount leaves work/incompat/volatile behind, and overlayfs refuses the next
      // mount while it is there: only a run that ctr did not get to remove leaves one (the
      // container's upper directory may then miss what the last run wrote, as with podman).
      if (upper && kind === 'active') rmSync(join(this.dir, chain[0].id, 'work', 'work', 'incompat'), {recursive: true, force: true})
      performMount(upper && options.volatile ? {...m, options: [...m.options, 'volatile']} : m, target, this.dir)
    }
  }

  /**
   * Make `<dir>/<id>/` for a new snapshot and return its `fs` path (not yet made). snapshots/,
   * snapshots/<name>/ and <id>/ are root's alone: the snapshot's files are the image's and the
   * container's, setuid binaries included (CVE-2021-41103).
   */
  protected makeSnapshotDir(id: string): string {
    mkdirSync(this.dir, {recursive: true, mode: PRIVATE_DIR_MODE})
    const base = join(this.dir, id)
    mkdirSync(base, {mode: PRIVATE_DIR_MODE})
    return join(base, 'fs')
  }

  private mountsChecked(kind: SnapshotKind, chain: readonly SnapshotDir[], paths: MountPaths): Mount[] {
    const [own, ...parents] = chain
    if (!own) throw new InvalidArgument('empty snapshot chain')
    if (kind === 'committed') throw new InvalidArgument('a committed snapshot cannot be mounted: prepare or view it first', {suffixKind: true})
    return this.mountsOf(kind, own, parents, paths)
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
export function makeRootDir(fs: string): void {
  mkdirSync(fs, {mode: 0o755})
  chmodSync(fs, 0o755)
}
