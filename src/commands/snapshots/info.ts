import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {jsonOnlyFormatFlag, snapshotterFlag} from '../../cli/flags.js'
import {toJson} from '../../cli/output.js'
import {snapshotInfoView} from '../../cli/snapshots.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {SnapshotService} from '../../lib/snapshot/index.js'

export default class SnapshotsInfo extends CtrCommand {
  static override summary = 'get info about a snapshot'
  static override description = 'Print a snapshot as JSON: Kind, Name, Parent, Labels, Created, Updated (as ctr prints snapshots.Info).'
  static override args = {key: Args.string({required: true})}
  static override flags = {snapshotter: snapshotterFlag, format: jsonOnlyFormatFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(SnapshotsInfo)
    const store = await this.store()
    const record = new SnapshotService(store, this.namespace(), resolveSnapshotter(store.config, flags.snapshotter)).get(args.key)
    this.out(toJson(snapshotInfoView(record)))
  }
}
