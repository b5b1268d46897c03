import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {jsonOnlyFormatFlag} from '../../cli/flags.js'
import {toJson} from '../../cli/output.js'
import {ImageReader} from '../../lib/images/index.js'
import {storedImageName} from '../../lib/oci/index.js'

export default class ImagesInspect extends CtrCommand {
  static override summary = 'print an image and its descriptor tree as JSON'
  static override args = {ref: Args.string({required: true})}
  static override flags = {format: jsonOnlyFormatFlag}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())

  async run(): Promise<void> {
    const {args} = await this.parse(ImagesInspect)
    const store = await this.store()
    const ns = this.namespace()
    const image = store.images.get(ns, storedImageName(args.ref))
    this.out(toJson({name: image.name, labels: image.labels, target: new ImageReader(store, ns).tree(image.target)}))
  }
}
