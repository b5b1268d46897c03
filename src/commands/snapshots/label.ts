import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {snapshotterFlag} from '../../cli/flags.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {formatLabels, parseLabelArgs} from '../../lib/oci/labels.js'

export default class SnapshotsLabel extends CtrCommand {
  static override summary = 'add labels to a snapshot'
  static override description = 'Set labels on a snapshot (k= removes k) and print the resulting labels.'
  static override args = {key: Args.string({required: true})}
  static override strict = false // labels
  static override flags = {snapshotter: snapshotterFlag, 'replace-all': Flags.boolean({char: 'r', summary: 'replace all labels'})}

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(SnapshotsLabel)
    const store = await this.store()
    const record = store.snapshots.setLabels(
      this.namespace(),
      resolveSnapshotter(store.config, flags.snapshotter),
      args.key,
      parseLabelArgs((argv as string[]).slice(1)),
      {replaceAll: flags['replace-all']},
    )
    this.out(`${formatLabels(record.labels)}\n`)
  }
}
