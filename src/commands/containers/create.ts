import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {containerFlags, createOptionsFrom} from '../../cli/container-flags.js'
import {networkFlags, networkSettingsFrom, podFlag} from '../../cli/network-flags.js'
import {createContainer} from '../../lib/runtime/index.js'

export default class ContainersCreate extends CtrCommand {
  static override summary = 'create container'
  static override description = `Create a container from a pulled image: a writable snapshot keyed by the container id on the
image's layers (unpacked first if needed) and a runtime spec from the image config and the flags.
COMMAND [ARG...] replaces the image's entrypoint and command, as ctr does.`
  static override examples = ['<%= config.bin %> containers create docker.io/library/busybox:latest web sleep 600']
  static override strict = false // the command and its args
  static override commandAfterPositionals = 2
  static override args = {image: Args.string({description: 'image reference'}), id: Args.string({description: 'container id'})}
  static override flags = {
    ...containerFlags,
    // Networks and pods (src/cli/network-flags.ts).
    ...networkFlags,
    ...podFlag,
  }

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(ContainersCreate)
    const options = createOptionsFrom(this.namespace(), (await this.berthConfig()).defaultSnapshotter, args, argv as string[], flags)
    // Networks and pods: a separate block (src/cli/network-flags.ts).
    const network = networkSettingsFrom(flags)
    Object.assign(options, {...(network ? {network} : {}), ...(flags.pod !== undefined ? {pod: flags.pod} : {})})
    await createContainer(await this.store(), options)
  }
}
