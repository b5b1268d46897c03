import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {runFetch} from '../../cli/fetch-runner.js'
import {fetchFlags} from '../../cli/flags.js'

export default class ImagesPull extends CtrCommand {
  static override summary = 'pull an image from a registry'
  static override description = `Fetch an image and everything it references into the namespace's view of the shared content store.
Short names are normalized as Docker does (redis -> docker.io/library/redis:latest). Blobs another
namespace already has are shared without downloading when the sharing policy allows; an
interrupted pull resumes where it stopped.`
  static override examples = ['<%= config.bin %> images pull docker.io/library/redis:latest', '<%= config.bin %> -n foo images pull --platform linux/arm64 127.0.0.1:5000/app:1']
  static override args = {ref: Args.string({required: true, description: 'image reference'})}
  static override flags = fetchFlags

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ImagesPull)
    await runFetch(await this.store(), this.namespace(), args.ref, flags)
  }
}
