import {CtrCommand} from '../../cli/base-command.js'
import {formatFlag, quietFlag} from '../../cli/flags.js'
import {CTR_TAB_TABLE, rfc3339Micros, tabwrite, toJson} from '../../cli/output.js'
import {humanDuration, humanSize} from '../../cli/units.js'
import {objectAdaptor, parseFilters} from '../../lib/filters/index.js'
import {formatLabels} from '../../lib/oci/labels.js'

export default class ContentLs extends CtrCommand {
  static override summary = 'list the blobs visible in the namespace (alias: list)'
  static override description = "Filters use containerd's syntax over digest and labels.<key>."
  static override strict = false // filters
  static override flags = {quiet: quietFlag, format: formatFlag}

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(ContentLs)
    const filter = parseFilters(argv as string[])
    const store = await this.store()
    const blobs = store.content.list(this.namespace()).filter((b) => filter.match(objectAdaptor({digest: b.digest, labels: b.labels}, ['labels'])))
    if (flags.quiet) return this.out(blobs.map((b) => `${b.digest}\n`).join(''))
    if (flags.format === 'json')
      return this.out(toJson(blobs.map((b) => ({digest: b.digest, size: b.size, createdAt: rfc3339Micros(b.createdAt), labels: b.labels}))))
    const now = Date.now()
    this.out(
      tabwrite(
        [
          'DIGEST\tSIZE\tAGE\tLABELS',
          ...blobs.map((b) => `${b.digest}\t${humanSize(b.size)}\t${humanDuration(now - b.createdAt / 1000)}\t${formatLabels(b.labels) || '-'}`),
        ],
        CTR_TAB_TABLE,
      ),
    )
  }
}
