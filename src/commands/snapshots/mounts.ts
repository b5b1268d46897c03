import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {snapshotterFlag} from '../../cli/flags.js'
import {formatMountCommands} from '../../cli/snapshots.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {SnapshotService} from '../../lib/snapshot/index.js'

export default class SnapshotsMounts extends CtrCommand {
  static override summary = 'mount gets mount commands for the snapshots'
  static override description = 'Print the mount(8) commands that mount an active or view snapshot at TARGET.'
  static override args = {target: Args.string({required: true}), key: Args.string({required: true})}
  static override flags = {snapshotter: snapshotterFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(SnapshotsMounts)
    const store = await this.store()
    const mounts = new SnapshotService(store, this.namespace(), resolveSnapshotter(store.config, flags.snapshotter)).mounts(args.key)
    this.out(formatMountCommands(args.target, mounts))
  }
}
