import {CtrCommand} from '../../cli/base-command.js'
import {formatFlag, quietFlag, snapshotterFlag} from '../../cli/flags.js'
import {tabwrite, toJson} from '../../cli/output.js'
import {formatBytes} from '../../cli/units.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {parseFilters} from '../../lib/filters/index.js'
import {ImageReader, imageAdaptor} from '../../lib/images/index.js'

export default class ImagesCheck extends CtrCommand {
  static override summary = 'check that images have all their content'
  static override description =
    'For each image, count the blobs the host platform needs that are present, and tell whether its layers are unpacked in the snapshotter. -q ' +
    'prints only the images that are complete and unpacked.'
  static override strict = false // filters
  static override flags = {quiet: quietFlag, format: formatFlag, snapshotter: snapshotterFlag}

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(ImagesCheck)
    const filter = parseFilters(argv as string[])
    const store = await this.store()
    const ns = this.namespace()
    const reader = new ImageReader(store, ns)
    const snapshotter = resolveSnapshotter(store.config, flags.snapshotter)
    const rows = store.images
      .list(ns)
      .filter((img) => filter.match(imageAdaptor(img)))
      .map((img) => ({img, check: reader.check(img.target), unpacked: reader.unpacked(img.target, snapshotter)}))
    if (flags.quiet)
      return this.out(
        rows
          .filter((r) => r.check.complete && r.unpacked)
          .map((r) => `${r.img.name}\n`)
          .join(''),
      )
    if (flags.format === 'json') return this.out(toJson(rows.map(({img, check, unpacked}) => ({name: img.name, target: img.target, ...check, unpacked}))))
    const status = (c: (typeof rows)[number]['check']) =>
      c.unavailable ? `unavailable (${c.present}/?)` : `${c.complete ? 'complete' : 'incomplete'} (${c.present}/${c.required})`
    this.out(
      tabwrite([
        'REF\tTYPE\tDIGEST\tSTATUS\tSIZE\tUNPACKED\t',
        ...rows.map(
          ({img, check, unpacked}) =>
            `${img.name}\t${img.target.mediaType}\t${img.target.digest}\t${status(check)}\t` +
            `${check.unavailable ? '-' : `${formatBytes(check.presentBytes)}/${formatBytes(check.requiredBytes)}`}\t${unpacked}\t`,
        ),
      ]),
    )
  }
}
