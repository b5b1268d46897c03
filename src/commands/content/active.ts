import {Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {formatFlag} from '../../cli/flags.js'
import {CTR_TAB_TABLE, jsonTimes, tabwrite, toJson} from '../../cli/output.js'
import {humanDuration, humanSize} from '../../cli/units.js'
import {objectAdaptor, parseFilters} from '../../lib/filters/index.js'

export default class ContentActive extends CtrCommand {
  static override summary = 'display active transfers'
  static override description = `Ingests in the content store (downloads in progress or interrupted, resumable); filter on ref
(e.g. ref~=layer). The table is ctr's (REF SIZE AGE, SIZE being the bytes so far); --verbose adds the
expected total and the process that owns each ingest: its pid, and "exited" once it is gone (the
next ctr gc then removes the ingest and its lease at once).`
  static override strict = false // filters
  static override flags = {
    format: formatFlag,
    verbose: Flags.boolean({char: 'v', summary: 'add TOTAL and OWNER (pid of the owning process) columns'}),
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(ContentActive)
    const filter = parseFilters(argv as string[])
    const store = await this.store()
    const ns = this.namespace()
    const active = store.content.activeIngests((s) => (s.namespace === undefined || s.namespace === ns) && filter.match(objectAdaptor({ref: s.ref})))
    if (flags.format === 'json') return this.out(toJson(active.map(jsonTimes)))
    const now = Date.now()
    const age = (startedAt: number) => humanDuration(now - startedAt / 1000)
    if (flags.verbose) {
      const owner = (s: (typeof active)[number]) => (s.ownerPid === undefined ? '-' : s.ownerAlive ? String(s.ownerPid) : `${s.ownerPid} (exited)`)
      return this.out(
        tabwrite(
          [
            'REF\tSIZE\tTOTAL\tAGE\tOWNER\t',
            ...active.map((s) => `${s.ref}\t${humanSize(s.offset)}\t${humanSize(s.total)}\t${age(s.startedAt)}\t${owner(s)}\t`),
          ],
          CTR_TAB_TABLE,
        ),
      )
    }
    // Byte for byte what containerd's ctr prints (cmd/ctr/commands/content/content.go).
    this.out(tabwrite(['REF\tSIZE\tAGE\t', ...active.map((s) => `${s.ref}\t${humanSize(s.offset)}\t${age(s.startedAt)}\t`)], CTR_TAB_TABLE))
  }
}
