import {CtrCommand} from '../../cli/base-command.js'
import {formatFlag, quietFlag} from '../../cli/flags.js'
import {jsonTimes, tabwrite, toJson} from '../../cli/output.js'
import {objectAdaptor, parseFilters} from '../../lib/filters/index.js'
import {formatLabels} from '../../lib/oci/labels.js'

export default class LeasesLs extends CtrCommand {
  static override summary = 'list leases (alias: list)'
  static override description = 'Leases keep content from garbage collection while they last. Filters over id and labels.<key>.'
  static override strict = false // filters
  static override flags = {quiet: quietFlag, format: formatFlag}

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(LeasesLs)
    const filter = parseFilters(argv as string[])
    const store = await this.store()
    const leases = store.leases.list(this.namespace()).filter((l) => filter.match(objectAdaptor({id: l.id, labels: l.labels}, ['labels'])))
    if (flags.quiet) return this.out(leases.map((l) => `${l.id}\n`).join(''))
    if (flags.format === 'json') return this.out(toJson(leases.map(jsonTimes)))
    this.out(tabwrite(['ID\tCREATED AT\tLABELS\t', ...leases.map((l) => `${l.id}\t${localRfc3339(l.createdAt / 1000)}\t${formatLabels(l.labels) || '-'}\t`)]))
  }
}

/** Go's time.RFC3339 in local time: 2006-01-02T15:04:05-07:00 (Z for UTC). */
function localRfc3339(ms: number): string {
  const d = new Date(ms)
  const offset = -d.getTimezoneOffset()
  const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0')
  const zone = offset === 0 ? 'Z' : `${offset > 0 ? '+' : '-'}${pad(offset / 60)}:${pad(offset % 60)}`
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`
}
