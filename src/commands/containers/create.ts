import {CtrCommand} from '../../cli/base-command.js'
import {containerArgs, containerFlags, containerPositionals, createOptionsFrom} from '../../cli/container-flags.js'
import {networkFlags, networkSettingsFrom, podFlag} from '../../cli/network-flags.js'
import {createContainer} from '../../lib/runtime/index.js'

export default class ContainersCreate extends CtrCommand {
  static override summary = 'create container'
  static override description = `Create a container from a pulled image: a writable snapshot keyed by the container id on the
image's layers (unpacked first if needed) and a runtime spec from the image config and the flags.
COMMAND [ARG...] replaces the image's entrypoint and command, as ctr does. With --rootfs the first
argument is a host directory used as the root file system; with --config (-c) an OCI spec file is
the spec and only the container id is given. The runtime is recorded, not checked: an unknown one
fails when the task starts, as with containerd.`
  static override examples = [
    '<%= config.bin %> containers create docker.io/library/busybox:latest web sleep 600',
    '<%= config.bin %> containers create --config spec.json job',
  ]
  static override usage = 'containers create [flags] IMAGE|ROOTFS ID [COMMAND] [ARG...]'
  static override strict = false // the command and its args
  static override commandAfterPositionals = containerPositionals
  static override args = containerArgs
  static override flags = {
    ...containerFlags,
    // Networks and pods (src/cli/network-flags.ts).
    ...networkFlags,
    ...podFlag,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(ContainersCreate)
    const options = createOptionsFrom('create', this.namespace(), await this.berthConfig(), argv as string[], flags)
    // Networks and pods: a separate block (src/cli/network-flags.ts).
    const network = networkSettingsFrom(flags)
    Object.assign(options, {...(network ? {network} : {}), ...(flags.pod !== undefined ? {pod: flags.pod} : {})})
    await createContainer(await this.store(), options)
  }
}
