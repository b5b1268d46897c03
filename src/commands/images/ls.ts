import {CtrCommand} from '../../cli/base-command.js'
import {Flags} from '@oclif/core'
import {formatFlag, quietFlag} from '../../cli/flags.js'
import {rfc3339Micros, tabwrite, toJson} from '../../cli/output.js'
import {formatBytes} from '../../cli/units.js'
import {parseFilters} from '../../lib/filters/index.js'
import {ImageReader, selectImages} from '../../lib/images/index.js'
import {formatLabels} from '../../lib/oci/labels.js'

export default class ImagesLs extends CtrCommand {
  static override summary = 'list images (alias: list)'
  static override description =
    "List images in the namespace. Filters use containerd's syntax over name, target.digest, target.mediatype, labels.<key> and annotations.<key>; " +
    "several filters are OR'd. Checkpoint images (label containerd.io/checkpoint=true) are hidden unless --all is given or a filter tests that " +
    'label, e.g. \'labels."containerd.io/checkpoint"==true\'.'
  static override examples = ['<%= config.bin %> images ls', "<%= config.bin %> images ls -q 'name~=redis'"]
  static override strict = false // filters
  static override flags = {quiet: quietFlag, format: formatFlag, all: Flags.boolean({summary: 'also list checkpoint images'})}

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(ImagesLs)
    const filter = parseFilters(argv as string[])
    const store = await this.store()
    const ns = this.namespace()
    const images = selectImages(store.images.list(ns), filter, {all: flags.all})
    if (flags.quiet) return this.out(images.map((i) => `${i.name}\n`).join(''))
    const reader = new ImageReader(store, ns)
    const rows = images.map((img) => ({img, summary: reader.summary(img.target)}))
    if (flags.format === 'json') {
      return this.out(
        toJson(
          rows.map(({img, summary}) => ({
            name: img.name,
            target: img.target,
            size: summary.size,
            platforms: summary.platforms,
            labels: img.labels,
            createdAt: rfc3339Micros(img.createdAt),
            updatedAt: rfc3339Micros(img.updatedAt),
          })),
        ),
      )
    }
    this.out(
      tabwrite([
        'REF\tTYPE\tDIGEST\tSIZE\tPLATFORMS\tLABELS\t',
        ...rows.map(
          ({img, summary}) =>
            `${img.name}\t${img.target.mediaType}\t${img.target.digest}\t${formatBytes(summary.size)}\t` +
            `${summary.platforms.join(',') || '-'}\t${formatLabels(img.labels) || '-'}\t`,
        ),
      ]),
    )
  }
}
