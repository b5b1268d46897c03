// Snapshots as commands use them, containerd's snapshotter API for one namespace: stat (get),
// walk (list), prepare and view, commit, remove, mounts, usage. The records are lib/store's; the
// directories and mounts are the Snapshotter's (overlayfs or native, opened by name), so nothing
// here depends on which. Its own module (not the index) so that users of snapshots do not load
// the layer applier.
import {AlreadyExists, FailedPrecondition, InvalidArgument, withContext} from '../errors/index.js'
import type {Labels} from '../oci/labels.js'
import {acquireLock, newSnapshotDirId, type SnapshotRecord, type Store} from '../store/index.js'
import {type Mount, type MountOptions, type Snapshotter, unmount} from './snapshotter.js'
import {openSnapshotter} from './snapshotters.js'
import {diskUsage, mountsUsing, readMounts, type Usage} from './usage.js'

/** containerd's `ctr snapshots prepare|view` label: keeps a hand-made snapshot from GC. */
export const GC_ROOT_LABEL = 'containerd.io/gc.root'

export interface PrepareOptions {
  readonly kind: 'active' | 'view'
  readonly parent?: string
  readonly labels?: Labels
  readonly leaseId?: string
  /**
   * Record the snapshot inside the caller's transaction: `within` opens it and calls the function
   * it is given there (e.g. a container record that must never exist without its snapshot, or the
   * other way round: GC would take a snapshot nothing references yet).
   */
  readonly within?: (recordSnapshot: () => void) => void
}

/** A namespace's view of one snapshotter. */
export class SnapshotService {
  readonly snapshotter: Snapshotter

  constructor(
    private readonly store: Store,
    private readonly ns: string,
    name: string,
  ) {
    this.snapshotter = openSnapshotter(store.root, name)
  }

  get name(): string {
    return this.snapshotter.name
  }

  list(): SnapshotRecord[] {
    return this.store.snapshots.list(this.ns, this.name)
  }

  get(key: string): SnapshotRecord {
    return this.store.snapshots.get(this.ns, this.name, key)
  }

  find(key: string): SnapshotRecord | undefined {
    return this.store.snapshots.find(this.ns, this.name, key)
  }

  /**
   * Create an active (writable) or view (read-only) snapshot on `parent`, and return its mounts.
   * @throws AlreadyExists, NotFound (parent), InvalidArgument (parent not committed).
   */
  async prepare(key: string, options: PrepareOptions): Promise<{record: SnapshotRecord; mounts: Mount[]}> {
    if (this.find(key)) throw new AlreadyExists(`snapshot ${JSON.stringify(key)}`, {suffixKind: true})
    const parent = options.parent === undefined ? undefined : this.get(options.parent)
    if (parent && parent.kind !== 'committed')
      throw new InvalidArgument(`parent ${JSON.stringify(options.parent)} is not committed snapshot`, {suffixKind: true})
    const parents = parent ? this.store.snapshots.dirChain(this.name, parent.dir) : []
    const id = newSnapshotDirId()
    const lock = await acquireLock(this.store.root, 'snapshot-create', {shared: true})
    try {
      await this.snapshotter.createDir(id, options.kind, parents)
      try {
        const record = () =>
          void this.store.snapshots.create(this.ns, this.name, {
            key,
            parent: options.parent,
            labels: options.labels,
            newDir: {id, kind: options.kind, parent: parent?.dir},
            leaseId: options.leaseId,
          })
        if (options.within) options.within(record)
        else record()
      } catch (err) {
        this.snapshotter.removeDirQuietly(id)
        throw err
      }
    } finally {
      lock.release()
    }
    return {record: this.get(key), mounts: this.mounts(key)}
  }

  /** Commit active `key` as `name`. @throws NotFound, AlreadyExists, FailedPrecondition. */
  commit(name: string, key: string, labels?: Labels): SnapshotRecord {
    this.assertNotMounted(this.get(key))
    return this.store.snapshots.commit(this.ns, this.name, name, key, labels)
  }

  /**
   * Remove a snapshot; its directory goes too when no other record or child needs it.
   * @throws NotFound, FailedPrecondition (children, or mounted).
   */
  remove(key: string): void {
    this.removeWithin(key, (removeRecord) => removeRecord())
  }

  /**
   * Remove a snapshot whose record goes inside the caller's transaction: `run` opens it and calls
   * `removeRecord` in it; the directories go once `run` returned (committed).
   */
  removeWithin(key: string, run: (removeRecord: () => void) => void): void {
    const rec = this.get(key)
    // A directory other namespaces still record stays on disk, mounted or not.
    if (this.store.snapshots.recordsOf(this.name, rec.dir) <= 1) this.assertNotMounted(rec)
    let released: string[] = []
    run(() => {
      released = this.store.snapshots.remove(this.ns, this.name, key)
    })
    // The records are gone: a directory that cannot go now is garbage GC retries, not a reason
    // to leave the others. Say so once all were tried.
    let failure: unknown
    for (const id of released) {
      try {
        this.snapshotter.removeDir(id)
      } catch (err) {
        failure ??= err
      }
    }
    if (failure !== undefined) throw withContext(failure, `snapshot ${JSON.stringify(key)} removed, but not all of its files (ctr gc tries again)`)
  }

  /** The mounts of an active or view snapshot (absolute paths). */
  mounts(key: string): Mount[] {
    const rec = this.get(key)
    return this.snapshotter.mounts(rec.kind, this.store.snapshots.dirChain(this.name, rec.dir))
  }

  /**
   * The directories that show committed snapshot `key` as a read-only tree without a mount, top
   * first (Snapshotter.readLayers). A reader of several applies overlayfs's whiteout and
   * opaque-directory rules (runtime/user.ts does).
   */
  committedLayers(key: string): string[] {
    const rec = this.get(key)
    if (rec.kind !== 'committed') throw new InvalidArgument(`snapshot ${JSON.stringify(key)} is not committed`, {suffixKind: true})
    return this.snapshotter.readLayers(this.store.snapshots.dirChain(this.name, rec.dir))
  }

  /** Where the snapshot's own files are (Snapshotter.fsPath): the writable upper, or the native tree. */
  fsPath(key: string): string {
    return this.snapshotter.fsPath(this.get(key).dir)
  }

  /** Mount an active or view snapshot at `target`. */
  mount(key: string, target: string, options: MountOptions = {}): void {
    const rec = this.get(key)
    this.snapshotter.mount(rec.kind, this.store.snapshots.dirChain(this.name, rec.dir), target, options)
  }

  /** Allocated bytes and inodes of the snapshot's own directory (not its parents). */
  usage(key: string): Usage {
    const rec = this.get(key)
    return diskUsage(this.snapshotter.fsPath(rec.dir))
  }

  /** @throws FailedPrecondition when something mounts the snapshot's directory. */
  private assertNotMounted(rec: SnapshotRecord): void {
    const inUse = mountsUsing(readMounts(), this.snapshotter.dir, rec.dir)
    if (inUse.length > 0) throw new FailedPrecondition(`snapshot ${JSON.stringify(rec.key)} is mounted at ${inUse[0].target}`, {suffixKind: true})
  }

  /** Unmount whatever is mounted at `target` (every stacked mount). Returns how many. */
  static unmountAll(target: string): number {
    let n = 0
    while (n < 64 && unmount(target)) n++
    return n
  }
}
