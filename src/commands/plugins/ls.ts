import {Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {formatFlag} from '../../cli/flags.js'
import {toJson} from '../../cli/output.js'
import {formatPluginDetails, formatPluginTable, pluginsJson} from '../../cli/plugins.js'
import {objectAdaptor, parseFilters} from '../../lib/filters/index.js'
import {listPlugins} from '../../lib/introspection/index.js'

export default class PluginsLs extends CtrCommand {
  static override summary = 'list what Berth has in place of containerd plugins (alias: list)'
  static override description = `ctr's TYPE ID PLATFORMS STATUS table for the parts Berth really has: the content store, the
overlayfs and native snapshotters (overlayfs is "skip" where an overlay mount does not work), the
SQLite metadata store, the layer applier, events, GC, leases, runc (the task runtime) and conmon (the
task monitor), "skip" when the program is missing. Filters use containerd's syntax over type and id.`
  static override examples = ['<%= config.bin %> plugins ls', "<%= config.bin %> plugins ls -d 'type==io.containerd.snapshotter.v1'"]
  static override strict = false // filters
  static override flags = {
    quiet: Flags.boolean({char: 'q', summary: 'print only the plugin ids'}),
    detailed: Flags.boolean({char: 'd', summary: 'print detailed information about each plugin'}),
    format: formatFlag,
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(PluginsLs)
    const filter = parseFilters(argv as string[])
    const plugins = (await listPlugins(await this.store())).filter((p) => filter.match(objectAdaptor({type: p.type, id: p.id})))
    if (flags.quiet) return this.out(plugins.map((p) => `${p.id}\n`).join(''))
    if (flags.format === 'json') return this.out(toJson(pluginsJson(plugins)))
    this.out(flags.detailed ? formatPluginDetails(plugins) : formatPluginTable(plugins))
  }
}
