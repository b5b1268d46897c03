import {Flags} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {stopPod} from '../../lib/pods/index.js'

export default class PodsStop extends RuntimeCommand {
  static override summary = 'stop pods'
  static override description =
    "Send each running member its stop signal (SIGKILL after --time seconds), then detach the pod's networks and unpin its namespaces. The " +
    "members' stopped tasks stay until the pod starts again."
  static override strict = false // pods
  // --time, as podman's pod stop: --timeout is the global bound on the whole command (containerd's).
  static override flags = {time: Flags.integer({char: 't', summary: 'seconds to wait before SIGKILL', default: 10, min: 0})}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(PodsStop)
    if (argv.length === 0) throw new InvalidArgument('must specify at least one pod', {suffixKind: true})
    const rt = await this.taskRuntime()
    for (const ref of argv as string[]) await stopPod(rt, ref, {timeoutMs: flags.time * 1000})
  }
}
