import {CtrCommand} from '../../cli/base-command.js'
import {snapshotterFlag} from '../../cli/flags.js'
import {formatSnapshotTree} from '../../cli/snapshots.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {SnapshotService} from '../../lib/snapshot/index.js'

export default class SnapshotsTree extends CtrCommand {
  static override summary = 'display tree view of snapshot branches'
  static override description = 'Print the snapshots as a tree: each root, then its children indented under it.'
  static override strict = false // as ctr: arguments are ignored
  static override flags = {snapshotter: snapshotterFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(SnapshotsTree)
    const store = await this.store()
    this.out(formatSnapshotTree(new SnapshotService(store, this.namespace(), resolveSnapshotter(store.config, flags.snapshotter)).list()))
  }
}
