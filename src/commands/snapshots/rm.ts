import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {snapshotterFlag} from '../../cli/flags.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {withContext} from '../../lib/errors/index.js'
import {SnapshotService} from '../../lib/snapshot/index.js'

export default class SnapshotsRm extends CtrCommand {
  static override summary = 'remove snapshots'
  static override description = 'Remove snapshots by key. A snapshot with children cannot be removed; a directory goes once no namespace needs it.'
  static override args = {key: Args.string({required: true})} // ctr does nothing without one, silently; a usage error here
  static override strict = false // several keys
  static override flags = {snapshotter: snapshotterFlag}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(SnapshotsRm)
    const store = await this.store()
    const snapshots = new SnapshotService(store, this.namespace(), resolveSnapshotter(store.config, flags.snapshotter))
    for (const key of argv as string[]) {
      try {
        snapshots.remove(key)
      } catch (err) {
        throw withContext(err, `failed to remove ${JSON.stringify(key)}`)
      }
    }
  }
}
