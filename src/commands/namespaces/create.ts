import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {parseLabelArgs} from '../../lib/oci/labels.js'

export default class NamespacesCreate extends CtrCommand {
  static override summary = 'create a new namespace (alias: c)'
  static override description = 'Create a namespace with optional labels. The name must be unique.'
  static override examples = ['<%= config.bin %> namespaces create foo mylabel=bar']
  static override args = {name: Args.string({required: true, description: 'namespace name'})}
  static override strict = false // trailing key=value labels

  async run(): Promise<void> {
    const {args, argv} = await this.parse(NamespacesCreate)
    const labels = parseLabelArgs((argv as string[]).slice(1))
    const store = await this.store()
    store.namespaces.create(args.name, labels)
  }
}
