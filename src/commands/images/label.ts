import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {storedImageName} from '../../lib/oci/index.js'
import {formatLabels, parseLabelArgs} from '../../lib/oci/labels.js'

export default class ImagesLabel extends CtrCommand {
  static override summary = 'set and clear labels for an image'
  static override description = 'Set labels on an image (k= removes k) and print the resulting labels.'
  static override args = {name: Args.string({required: true})}
  static override strict = false // labels
  static override flags = {'replace-all': Flags.boolean({char: 'r', summary: 'replace all labels'})}

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(ImagesLabel)
    const store = await this.store()
    const image = store.images.setLabels(this.namespace(), storedImageName(args.name), parseLabelArgs((argv as string[]).slice(1)), {
      replaceAll: flags['replace-all'],
    })
    this.out(`${formatLabels(image.labels)}\n`)
  }
}
