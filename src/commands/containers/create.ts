import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {containerFlags, specOptionsFrom} from '../../cli/container-flags.js'
import {parseLabelArgs} from '../../lib/oci/labels.js'
import {parseReference} from '../../lib/oci/index.js'
import {createContainer, validateCreateArgs} from '../../lib/runtime/index.js'

export default class ContainersCreate extends CtrCommand {
  static override summary = 'create container'
  static override description = `Create a container from a pulled image: a writable snapshot keyed by the container id on the
image's layers (unpacked first if needed) and a runtime spec from the image config and the flags.
COMMAND [ARG...] replaces the image's entrypoint and command, as ctr does.`
  static override examples = ['<%= config.bin %> containers create docker.io/library/busybox:latest web sleep 600']
  static override strict = false // the command and its args
  static override commandAfterPositionals = 2
  static override args = {image: Args.string({description: 'image reference'}), id: Args.string({description: 'container id'})}
  static override flags = containerFlags

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(ContainersCreate)
    validateCreateArgs(args.image, args.id)
    const store = await this.store()
    await createContainer(store, {
      namespace: this.namespace(),
      id: args.id!,
      image: parseReference(args.image!).toString(),
      snapshotter: flags.snapshotter ?? store.config.defaultSnapshotter,
      runtime: flags.runtime,
      labels: parseLabelArgs(flags.label ?? []),
      platform: flags.platform,
      spec: specOptionsFrom(flags, (argv as string[]).slice(2)),
    })
  }
}
