import {Args, Flags} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {InvalidArgument} from '../../lib/errors/index.js'

export default class TasksCheckpoint extends RuntimeCommand {
  static override summary = 'checkpoint a container'
  static override description = `Pause the task, dump it with CRIU (runc checkpoint), store the dump, the spec and the rw layer as a
checkpoint image labelled containerd.io/checkpoint=true, and resume it (--exit leaves it stopped).
Prints the image name: containerd.io/checkpoint/<id>:<MM-DD-YYYY-HH:MM:SS> unless --name gives one.
With --image-path the dump stays in that directory and no image is made.`
  static override examples = ['<%= config.bin %> tasks checkpoint web', '<%= config.bin %> tasks checkpoint --exit --name checkpoint/web:1 web']
  static override strict = false // as ctr: the arguments it needs count, the rest is ignored (Args().First(), Get(1))
  static override args = {container: Args.string({required: true, description: 'container id'})}
  static override flags = {
    exit: Flags.boolean({summary: 'stop the container after the checkpoint'}),
    'image-path': Flags.string({summary: 'path to criu image files (no image is made)'}),
    'work-path': Flags.string({summary: 'path to criu work files and logs'}),
    name: Flags.string({summary: 'name of the checkpoint image (default: containerd.io/checkpoint/<id>:<date>)'}),
    'tcp-established': Flags.boolean({summary: 'checkpoint established TCP connections (the network namespace must be pinned at a file)'}),
    quiet: Flags.boolean({char: 'q', summary: 'no progress output'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TasksCheckpoint)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    const {checkpoint} = await import('../../lib/checkpoint/index.js')
    const {runWithSteps} = await import('../../cli/steps.js')
    const rt = await this.taskRuntime()
    const result = await runWithSteps({quiet: flags.quiet}, (onStep) =>
      checkpoint(rt, args.container, {
        task: true,
        rw: true,
        image: true,
        exit: flags.exit,
        imagePath: flags['image-path'],
        workPath: flags['work-path'],
        name: flags.name,
        tcpEstablished: flags['tcp-established'],
        onStep,
      }),
    )
    if (result.name) this.out(`${result.name}\n`)
  }
}
