import {CtrCommand} from '../../cli/base-command.js'
import {formatFlag, quietFlag} from '../../cli/flags.js'
import {tabwrite, toJson} from '../../cli/output.js'
import {objectAdaptor, parseFilters} from '../../lib/filters/index.js'
import {formatLabels} from '../../lib/oci/labels.js'

export default class NamespacesLs extends CtrCommand {
  static override summary = 'list namespaces (alias: list)'
  static override description =
    "List namespaces with their labels. Filters use containerd's syntax over the fields name and labels.<key>; several filters are OR'd."
  static override examples = ['<%= config.bin %> namespaces ls', '<%= config.bin %> ns ls -q', "<%= config.bin %> ns ls 'labels.team==infra'"]
  static override strict = false // filters
  static override flags = {quiet: quietFlag, format: formatFlag}

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(NamespacesLs)
    const filter = parseFilters(argv as string[])
    const store = await this.store()
    const namespaces = store.namespaces.list().filter((ns) => filter.match(objectAdaptor(ns, ['labels'])))
    if (flags.format === 'json') return this.out(toJson(namespaces.map(({name, labels}) => ({name, labels}))))
    if (flags.quiet) return this.out(namespaces.map((ns) => `${ns.name}\n`).join(''))
    this.out(tabwrite(['NAME\tLABELS\t', ...namespaces.map((ns) => `${ns.name}\t${formatLabels(ns.labels)}\t`)]))
  }
}
