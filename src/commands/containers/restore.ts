import {Args, Flags} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {registryFlags} from '../../cli/flags.js'
import {registryOptions} from '../../cli/registry-options.js'
import {InvalidArgument} from '../../lib/errors/index.js'

export default class ContainersRestore extends RuntimeCommand {
  static override summary = 'restore a container from checkpoint'
  static override description = `Create container ID from checkpoint image REF (pulled when it is not in the store): a snapshot on
the base image (plus the checkpoint's rw layer with --rw), the checkpointed spec, and a detached task
under conmon — CRIU-restored where it stopped with --live, else started afresh.`
  static override examples = ['<%= config.bin %> containers restore --rw --live web2 checkpoint/web:1']
  static override strict = false // as ctr: the arguments it needs count, the rest is ignored (Args().First(), Get(1))
  static override args = {
    container: Args.string({required: true, description: 'container id'}),
    ref: Args.string({required: true, description: 'checkpoint image name'}),
  }
  static override flags = {
    rw: Flags.boolean({summary: 'restore the rw layer from the checkpoint'}),
    live: Flags.boolean({summary: 'restore the runtime and memory data from the checkpoint'}),
    'tcp-established': Flags.boolean({summary: 'restore established TCP connections (implied when the checkpoint has them)'}),
    ...registryFlags,
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ContainersRestore)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    if (!args.ref) throw new InvalidArgument('ref must be provided', {suffixKind: true})
    const {restore} = await import('../../lib/checkpoint/index.js')
    const rt = await this.taskRuntime()
    await restore(rt, args.container, args.ref, {
      rw: flags.rw,
      live: flags.live,
      tcpEstablished: flags['tcp-established'],
      registry: await registryOptions(flags),
    })
  }
}
