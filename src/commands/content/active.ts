import {CtrCommand} from '../../cli/base-command.js'
import {formatFlag} from '../../cli/flags.js'
import {CTR_TAB_TABLE, jsonTimes, tabwrite, toJson} from '../../cli/output.js'
import {humanDuration, humanSize} from '../../cli/units.js'
import {objectAdaptor, parseFilters} from '../../lib/filters/index.js'

export default class ContentActive extends CtrCommand {
  static override summary = 'list downloads in progress or interrupted (resumable)'
  static override description = 'Ingests in the content store; filter on ref (e.g. ref~=layer).'
  static override strict = false // filters
  static override flags = {format: formatFlag}

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(ContentActive)
    const filter = parseFilters(argv as string[])
    const store = await this.store()
    const ns = this.namespace()
    const active = store.content.activeIngests((s) => (s.namespace === undefined || s.namespace === ns) && filter.match(objectAdaptor({ref: s.ref})))
    if (flags.format === 'json') return this.out(toJson(active.map(jsonTimes)))
    const now = Date.now()
    this.out(tabwrite(['REF\tSIZE\tAGE', ...active.map((s) => `${s.ref}\t${humanSize(s.offset)}/${humanSize(s.total)}\t${humanDuration(now - s.startedAt / 1000)}`)], CTR_TAB_TABLE))
  }
}
