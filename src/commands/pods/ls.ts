import {RuntimeCommand} from '../../cli/runtime-command.js'
import {formatFlag, quietFlag} from '../../cli/flags.js'
import {tabwrite, toJson} from '../../cli/output.js'
import {parseFilters} from '../../lib/filters/index.js'
import {listPods} from '../../lib/pods/index.js'

export default class PodsLs extends RuntimeCommand {
  static override summary = 'list pods'
  static override description = `List pods: POD (the id's first 12 characters), NAME, STATUS (Created: namespaces up, no member
running; Running; Stopped: namespaces down), CONTAINERS (members) and IP. Filters on id, name, status,
hostname, network, k8snamespace and labels.<key>; several arguments are ORed.`
  static override strict = false // filters
  static override flags = {quiet: quietFlag, format: formatFlag}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(PodsLs)
    const filter = parseFilters(argv as string[])
    const pods = await listPods(await this.taskRuntime(), filter)
    if (flags.quiet) return this.out(pods.map((p) => `${p.ID}\n`).join(''))
    if (flags.format === 'json') return this.out(toJson(pods))
    const rows = pods.map((p) => `${p.ID.slice(0, 12)}\t${p.Name}\t${p.Status}\t${p.Containers.length}\t${p.Network.IPs.join(',') || '-'}\t`)
    this.out(tabwrite(['POD\tNAME\tSTATUS\tCONTAINERS\tIP\t', ...rows], {minwidth: 4, tabwidth: 8, padding: 4, padchar: ' '}))
  }
}
