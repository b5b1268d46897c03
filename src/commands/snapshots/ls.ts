import {CtrCommand} from '../../cli/base-command.js'
import {formatFlag, snapshotterFlag} from '../../cli/flags.js'
import {jsonTimes, tabwrite, toJson} from '../../cli/output.js'
import {kindName} from '../../cli/snapshots.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {SnapshotService} from '../../lib/snapshot/index.js'

export default class SnapshotsLs extends CtrCommand {
  static override summary = 'list snapshots'
  static override description = 'List the snapshots of the namespace: KEY PARENT KIND, ordered by key.'
  static override strict = false // as ctr: arguments are ignored
  static override flags = {snapshotter: snapshotterFlag, format: formatFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(SnapshotsLs)
    const store = await this.store()
    const records = new SnapshotService(store, this.namespace(), resolveSnapshotter(store.config, flags.snapshotter)).list()
    if (flags.format === 'json') return this.out(toJson(records.map(jsonTimes)))
    this.out(tabwrite(['KEY\tPARENT\tKIND\t', ...records.map((r) => `${r.key}\t${r.parent ?? ''}\t${kindName(r.kind)}\t`)]))
  }
}
