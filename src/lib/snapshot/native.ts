// The native snapshotter, for file systems without overlay support: each snapshot directory holds
// a full copy of its parent's tree plus its own changes (views too: there is no read-only
// stacking), so a snapshot mounts as a bind mount and a layer applies onto the copy in place.
import {spawn} from 'node:child_process'
import {Internal} from '../errors/index.js'
import type {SnapshotDir, SnapshotKind} from '../store/index.js'
import {shortPath} from '../sys/tree.js'
import {writableProblem} from './check.js'
import {makeRootDir, type Mount, type MountPaths, SnapshotterBase} from './snapshotter.js'

export class NativeSnapshotter extends SnapshotterBase {
  readonly name = 'native'
  readonly layout = 'merged'

  constructor(root: string) {
    super(root, 'native')
  }

  /** A copy of the nearest parent's tree, or an empty root. */
  async createDir(id: string, _kind: SnapshotKind, parents: readonly SnapshotDir[]): Promise<string> {
    const fs = this.makeSnapshotDir(id)
    if (!parents[0]) {
      makeRootDir(fs)
      return fs
    }
    try {
      await copyTree(this.fsPath(parents[0].id), fs)
    } catch (err) {
      this.removeDirQuietly(id)
      throw err
    }
    return fs
  }

  /** A layer starts as a full copy of its parent: wait for it. */
  async createLayerDir(id: string, parents: () => Promise<readonly SnapshotDir[]>): Promise<string> {
    return this.createDir(id, 'committed', await parents())
  }

  /** The snapshot's own directory is the whole tree. */
  readLayers(chain: readonly SnapshotDir[]): string[] {
    return chain.slice(0, 1).map((d) => this.fsPath(d.id))
  }

  problem(): Promise<string | undefined> {
    return Promise.resolve(writableProblem(this.dir))
  }

  protected mountsOf(kind: 'active' | 'view', own: SnapshotDir, _parents: readonly SnapshotDir[], paths: MountPaths): Mount[] {
    return [{type: 'bind', source: paths.fs(own.id), options: [kind === 'view' ? 'ro' : 'rw', 'rbind']}]
  }
}

/** `cp -a` keeps owners, modes, times, xattrs, hardlinks and device nodes; reflinks where it can. */
function copyTree(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('cp', ['-a', '--reflink=auto', '--', from, to], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-16384)))
    child.on('error', reject)
    // cp names the entry it failed on: a tree deeper than PATH_MAX gives a path of kilobytes.
    const why = (): string =>
      stderr
        .trim()
        .split('\n')
        .at(-1)!
        .replace(/'([^']{200,})'/g, (_, p: string) => `'${shortPath(p)}'`)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Internal(`copy snapshot tree: ${stderr.trim() ? why() : `cp exited with ${code}`}`))))
  })
}
