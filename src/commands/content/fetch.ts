import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {runFetch} from '../../cli/fetch-runner.js'
import {fetchFlags} from '../../cli/flags.js'

export default class ContentFetch extends CtrCommand {
  static override summary = 'fetch an image into the content store without unpacking it'
  static override description = 'Like images pull, but only fetches content: nothing is unpacked. The image is recorded so that it is not collected.'
  static override args = {ref: Args.string({required: true, description: 'image reference'})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())
  static override flags = fetchFlags

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ContentFetch)
    await runFetch(await this.store(), this.namespace(), args.ref, flags)
  }
}
