import {CtrCommand} from '../../cli/base-command.js'
import {formatFlag, quietFlag} from '../../cli/flags.js'
import {jsonTimes, tabwrite, toJson} from '../../cli/output.js'
import {objectAdaptor, parseFilters} from '../../lib/filters/index.js'

export default class ContainersLs extends CtrCommand {
  static override summary = 'list containers'
  static override description = 'List containers: CONTAINER IMAGE RUNTIME. Filters on id, image, runtime.name and labels.<key>; several arguments are ORed.'
  static override strict = false // filters
  static override flags = {quiet: quietFlag, format: formatFlag}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(ContainersLs)
    const filter = parseFilters(argv as string[])
    const store = await this.store()
    const rows = store.containers
      .list(this.namespace())
      .filter((c) =>
        filter.match(
          objectAdaptor(
            {id: c.id, image: c.image, runtime: {name: c.runtime.name}, labels: c.labels, snapshotter: c.snapshotter ?? '', snapshotkey: c.snapshotKey ?? ''},
            ['labels'],
          ),
        ),
      )
    if (flags.quiet) return this.out(rows.map((c) => `${c.id}\n`).join(''))
    if (flags.format === 'json') return this.out(toJson(rows.map(jsonTimes)))
    this.out(
      tabwrite(['CONTAINER\tIMAGE\tRUNTIME\t', ...rows.map((c) => `${c.id}\t${c.image || '-'}\t${c.runtime.name}\t`)], {
        minwidth: 4,
        tabwidth: 8,
        padding: 4,
        padchar: ' ',
      }),
    )
  }
}
