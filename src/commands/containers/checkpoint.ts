import {Args, Flags} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {InvalidArgument} from '../../lib/errors/index.js'

export default class ContainersCheckpoint extends RuntimeCommand {
  static override summary = 'checkpoint a container'
  static override description = `Make checkpoint image REF of the container: --image adds the base image, --rw the diff of its
writable layer, --task a CRIU dump of its running task (which is paused meanwhile). The image is
labelled containerd.io/checkpoint=true (containerd labels only task checkpoints), so ctr images ls
hides it unless --all or a filter on that label asks for it.`
  static override examples = ['<%= config.bin %> containers checkpoint --rw --image --task web checkpoint/web:1']
  static override strict = false // as ctr: the arguments it needs count, the rest is ignored (Args().First(), Get(1))
  static override args = {
    container: Args.string({required: true, description: 'container id'}),
    ref: Args.string({required: true, description: 'checkpoint image name'}),
  }
  static override flags = {
    rw: Flags.boolean({summary: 'include the rw layer in the checkpoint'}),
    image: Flags.boolean({summary: 'include the image in the checkpoint'}),
    task: Flags.boolean({summary: 'checkpoint container task'}),
    exit: Flags.boolean({summary: 'stop the task after the checkpoint'}),
    'tcp-established': Flags.boolean({summary: 'checkpoint established TCP connections (the network namespace must be pinned at a file)'}),
    quiet: Flags.boolean({char: 'q', summary: 'no progress output'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ContainersCheckpoint)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    if (!args.ref) throw new InvalidArgument('ref must be provided', {suffixKind: true})
    const {checkpoint} = await import('../../lib/checkpoint/index.js')
    const {runWithSteps} = await import('../../cli/steps.js')
    const rt = await this.taskRuntime()
    await runWithSteps({quiet: flags.quiet}, (onStep) =>
      checkpoint(rt, args.container, {
        name: args.ref,
        task: flags.task,
        rw: flags.rw,
        image: flags.image,
        exit: flags.exit,
        tcpEstablished: flags['tcp-established'],
        onStep,
      }),
    )
  }
}
