import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {runFetch} from '../../cli/fetch-runner.js'
import {labelFlag, platformFlags, registryFlags} from '../../cli/flags.js'

export default class ContentFetch extends CtrCommand {
  static override summary = 'fetch an image into the content store without unpacking it'
  static override description = 'Like images pull, but only fetches content: nothing is unpacked. The image is recorded so that it is not collected.'
  static override args = {ref: Args.string({required: true, description: 'image reference'})}
  static override flags = {
    ...registryFlags,
    ...platformFlags,
    label: labelFlag,
    'max-concurrent-downloads': Flags.integer({summary: 'number of blobs downloaded at once', default: 3, min: 1}),
    quiet: Flags.boolean({char: 'q', summary: 'no progress output'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ContentFetch)
    await runFetch(await this.store(), this.namespace(), args.ref, flags)
  }
}
