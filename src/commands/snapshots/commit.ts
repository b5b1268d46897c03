import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {snapshotterFlag} from '../../cli/flags.js'
import {gcRootLabels} from '../../cli/snapshots.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {SnapshotService} from '../../lib/snapshot/index.js'

export default class SnapshotsCommit extends CtrCommand {
  static override summary = 'commit an active snapshot into the provided name'
  static override description =
    'Commit the active snapshot ACTIVE as the committed snapshot KEY (labelled containerd.io/gc.root, so GC keeps it). ACTIVE must not be mounted.'
  static override args = {key: Args.string({required: true}), active: Args.string({required: true})}
  static override flags = {snapshotter: snapshotterFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(SnapshotsCommit)
    const store = await this.store()
    const snapshots = new SnapshotService(store, this.namespace(), resolveSnapshotter(store.config, flags.snapshotter))
    snapshots.commit(args.key, args.active, gcRootLabels())
  }
}
