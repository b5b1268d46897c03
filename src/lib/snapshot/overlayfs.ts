// The overlayfs snapshotter: each snapshot directory holds `fs` (the layer, or the writable upper)
// and `work`; a snapshot mounts as an overlay of its directory chain, and a layer unpacks into an
// empty `fs` as a diff with overlayfs whiteouts. The lower directories of a mount are listed
// nearest parent first (overlayfs takes the leftmost `lowerdir` as the top).
import {lchownSync, mkdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {PRIVATE_DIR_MODE, type SnapshotDir, type SnapshotKind} from '../store/index.js'
import {overlayProblem, writableProblem} from './check.js'
import {makeRootDir, type Mount, type MountPaths, SnapshotterBase} from './snapshotter.js'

export class OverlayfsSnapshotter extends SnapshotterBase {
  readonly name = 'overlayfs'
  readonly layout = 'overlay'

  constructor(readonly root: string) {
    super(root, 'overlayfs')
  }

  /** An empty `fs` (and `work` for an active snapshot): the parents are its lower directories. */
  async createDir(id: string, kind: SnapshotKind, parents: readonly SnapshotDir[]): Promise<string> {
    const fs = this.makeSnapshotDir(id)
    makeRootDir(fs)
    // The new upper's root takes the owner of its parent's (containerd does the same): a remapped
    // parent's root stays the user namespace's root once the container writes into it.
    if (parents[0]) {
      const st = statSync(this.fsPath(parents[0].id))
      if (st.uid !== 0 || st.gid !== 0) lchownSync(fs, st.uid, st.gid)
    }
    if (kind === 'active') mkdirSync(join(this.dir, id, 'work'), {mode: PRIVATE_DIR_MODE})
    return fs
  }

  /** A layer is a diff: its directory is made without waiting for the parent's. */
  createLayerDir(id: string): Promise<string> {
    return this.createDir(id, 'committed', [])
  }

  /** The chain's own directories, top first: a diff each. */
  readLayers(chain: readonly SnapshotDir[]): string[] {
    return chain.map((d) => this.fsPath(d.id))
  }

  async problem(): Promise<string | undefined> {
    return writableProblem(this.dir) ?? (await overlayProblem(this.root, this.dir))
  }

  protected mountsOf(kind: 'active' | 'view', own: SnapshotDir, parents: readonly SnapshotDir[], paths: MountPaths): Mount[] {
    const lowerdir = () => `lowerdir=${parents.map((p) => paths.fs(p.id)).join(':')}`
    if (kind === 'active') {
      if (parents.length === 0) return [{type: 'bind', source: paths.fs(own.id), options: ['rw', 'rbind']}]
      return [{type: 'overlay', source: 'overlay', options: ['index=off', `workdir=${paths.work(own.id)}`, `upperdir=${paths.fs(own.id)}`, lowerdir()]}]
    }
    // A view: its own (empty) directory plays no part; the parents are the read-only stack, and
    // one parent alone is bound read-only (overlayfs needs two lower directories without an upper).
    if (parents.length === 0) return [{type: 'bind', source: paths.fs(own.id), options: ['ro', 'rbind']}]
    if (parents.length === 1) return [{type: 'bind', source: paths.fs(parents[0].id), options: ['ro', 'rbind']}]
    return [{type: 'overlay', source: 'overlay', options: ['index=off', lowerdir()]}]
  }
}
