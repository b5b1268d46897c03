import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {parseLabelArgs} from '../../lib/oci/labels.js'

export default class NamespacesLabel extends CtrCommand {
  static override summary = 'set and clear labels for a namespace'
  static override description = 'Set labels on a namespace; an empty value (key=) clears that label. A missing namespace is created.'
  static override examples = ['<%= config.bin %> namespaces label foo team=infra', '<%= config.bin %> namespaces label foo team=']
  static override args = {name: Args.string({required: true, description: 'namespace name'})}
  static override strict = false // trailing key=value labels

  async run(): Promise<void> {
    const {args, argv} = await this.parse(NamespacesLabel)
    const labels = parseLabelArgs((argv as string[]).slice(1))
    if (Object.keys(labels).length === 0) return
    const store = await this.store()
    store.namespaces.setLabels(args.name, labels)
  }
}
