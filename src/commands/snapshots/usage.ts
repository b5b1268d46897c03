import {Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {formatFlag, snapshotterFlag} from '../../cli/flags.js'
import {tabwrite, toJson} from '../../cli/output.js'
import {formatBytes} from '../../cli/units.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {SnapshotService} from '../../lib/snapshot/index.js'

export default class SnapshotsUsage extends CtrCommand {
  static override summary = 'usage snapshots'
  static override description = "Disk usage of snapshots (all, or the KEYs given): allocated size of the snapshot's own layer and its inode count."
  static override strict = false // keys
  static override flags = {snapshotter: snapshotterFlag, format: formatFlag, b: Flags.boolean({char: 'b', summary: 'display size in bytes'})}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(SnapshotsUsage)
    const store = await this.store()
    const snapshots = new SnapshotService(store, this.namespace(), resolveSnapshotter(store.config, flags.snapshotter))
    const keys = (argv as string[]).length > 0 ? (argv as string[]) : snapshots.list().map((r) => r.key)
    if (flags.format === 'json') return this.out(toJson(keys.map((key) => ({key, ...snapshots.usage(key)}))))
    const size = (n: number) => (flags.b ? String(n) : formatBytes(n))
    const rows = keys.map((key) => {
      const u = snapshots.usage(key)
      return `${key}\t${size(u.size)}\t${u.inodes}\t`
    })
    this.out(tabwrite(['KEY\tSIZE\tINODES\t', ...rows]))
  }
}
