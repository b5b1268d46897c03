import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {parseReference} from '../../lib/oci/index.js'

export default class ImagesTag extends CtrCommand {
  static override summary = 'tag an image under one or more new names'
  static override description =
    "Create image records pointing at the source image's target. Existing targets are refused unless --force. Names are normalized as Docker does."
  static override args = {source: Args.string({required: true}), target: Args.string({required: true})}
  static override strict = false // several targets
  static override flags = {force: Flags.boolean({summary: 'replace an existing image with the same name'})}

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(ImagesTag)
    const store = await this.store()
    const ns = this.namespace()
    const source = store.images.get(ns, parseReference(args.source).toString())
    const targets = (argv as string[]).slice(1).map((t) => parseReference(t).toString())
    for (const [i, name] of targets.entries()) {
      if (flags.force) store.images.put(ns, {name, target: source.target, labels: source.labels})
      else store.images.create(ns, {name, target: source.target, labels: source.labels})
      this.out(`${(argv as string[])[i + 1]}\n`)
    }
  }
}
