import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {formatLabels, parseLabelArgs} from '../../lib/oci/labels.js'

export default class ContainersLabel extends CtrCommand {
  static override summary = 'set and clear labels for a container'
  static override description = 'Set labels on a container (k= removes k) and print the resulting labels.'
  static override args = {id: Args.string({required: true})}
  static override strict = false // labels
  static override flags = {'replace-all': Flags.boolean({char: 'r', summary: 'replace all labels'})}

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(ContainersLabel)
    const store = await this.store()
    const c = store.containers.setLabels(this.namespace(), args.id, parseLabelArgs((argv as string[]).slice(1)), {replaceAll: flags['replace-all']})
    this.out(`${formatLabels(c.labels)}\n`)
  }
}
