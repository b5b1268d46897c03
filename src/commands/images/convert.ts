import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {convertFlags} from '../../cli/flags.js'
import {convertImage} from '../../lib/images/convert.js'

export default class ImagesConvert extends CtrCommand {
  static override summary = 'convert an image'
  static override description = `Make TARGET from SOURCE: --oci turns Docker media types into OCI ones, --uncompress turns gzip and
zstd layers into plain tar (the diff IDs, and so the unpacked snapshots, stay the same). Index entries
of other platforms are dropped: --platform (repeatable) keeps those, --all-platforms keeps every one;
the default keeps this host's. The source image stays as it is. Prints the new image's digest.`
  static override examples = ['<%= config.bin %> images convert --oci --uncompress example.com/foo:orig example.com/foo:converted']
  static override strict = false // as ctr: SRC and DST count, the rest is ignored (Args().Get(0), Get(1))
  static override args = {
    source: Args.string({required: true, description: 'the image to convert'}),
    target: Args.string({required: true, description: 'the name of the converted image'}),
  }
  static override flags = convertFlags

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ImagesConvert)
    const result = await convertImage(await this.store(), {
      namespace: this.namespace(),
      source: args.source,
      target: args.target,
      oci: flags.oci,
      uncompress: flags.uncompress,
      platforms: flags.platform ?? [],
      allPlatforms: flags['all-platforms'],
    })
    this.out(`${result.target.digest}\n`)
  }
}
