import {Args, Flags} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {execDetached, execForeground} from '../../lib/runtime/exec.js'

export default class TasksExec extends RuntimeCommand {
  static override summary = 'execute additional processes in an existing container'
  static override description = `Run COMMAND inside the running task. In the foreground ctr exits with the process's status; with
--detach it runs under its own conmon (output in its log) and ctr returns once it runs.`
  static override examples = ['<%= config.bin %> tasks exec --exec-id sh1 -t web sh', '<%= config.bin %> tasks exec --exec-id probe web cat /etc/hostname']
  static override usage = 'tasks exec [flags] CONTAINER CMD [ARG...]'
  static override strict = false // the command and its args
  static override commandAfterPositionals = 1
  static override args = {container: Args.string({description: 'container id'})}
  static override flags = {
    'exec-id': Flags.string({summary: 'exec specific id for the process', required: true}),
    tty: Flags.boolean({char: 't', summary: 'allocate a TTY for the container'}),
    detach: Flags.boolean({char: 'd', summary: 'detach from the task after it has started execution'}),
    cwd: Flags.string({summary: 'working directory of the new process'}),
    user: Flags.string({summary: 'user that will run the command'}),
    'null-io': Flags.boolean({summary: 'send all IO to /dev/null'}),
  }

  async run(): Promise<void> {
    const {args, argv, flags} = await this.parse(TasksExec)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    if (flags.tty && flags['null-io']) throw new InvalidArgument('tty and null-io cannot be used together', {suffixKind: true})
    const rt = await this.taskRuntime()
    const options = {
      execId: flags['exec-id'],
      args: (argv as string[]).slice(1),
      terminal: flags.tty,
      cwd: flags.cwd,
      user: flags.user,
      nullIo: flags['null-io'],
    }
    if (flags.detach) {
      await execDetached(rt, args.container, options)
      return
    }
    const code = await execForeground(rt, args.container, options)
    if (code !== 0) process.exitCode = code
  }
}
