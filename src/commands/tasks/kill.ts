import {Args, Flags} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {globalFlagsWithout} from '../../cli/flags.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {killExec} from '../../lib/runtime/exec.js'
import {parseSignal, STOP_SIGNAL_LABEL} from '../../lib/runtime/signals.js'
import {killTask} from '../../lib/runtime/tasks.js'

export default class TasksKill extends RuntimeCommand {
  static override summary = 'signal a container (default: SIGTERM)'
  static override description = `Send a signal to the task's init process (or, with --all, every process of the task; with --exec-id,
an exec'd process). The default is the image's StopSignal, recorded on the container, else SIGTERM.`
  static override examples = ['<%= config.bin %> tasks kill web', '<%= config.bin %> tasks kill -s SIGKILL --all web']
  static override args = {container: Args.string({description: 'container id'})}
  static override strict = false // as ctr: the first id is signalled, the rest ignored (Args().First())
  static override baseFlags = globalFlagsWithout('a') // -a is --all here, as in ctr
  static override flags = {
    signal: Flags.string({char: 's', summary: 'signal to send (name or number)'}),
    all: Flags.boolean({char: 'a', summary: 'send the signal to all processes inside the container'}),
    'exec-id': Flags.string({summary: 'process ID to kill'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TasksKill)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    if (flags.all && flags['exec-id']) throw new InvalidArgument('specify an exec-id or all; not both', {suffixKind: true})
    const rt = await this.taskRuntime()
    const container = rt.store.containers.get(rt.ns, args.container)
    const signal = parseSignal(flags.signal ?? container.labels[STOP_SIGNAL_LABEL] ?? 'SIGTERM')
    if (flags['exec-id']) return killExec(rt, args.container, flags['exec-id'], signal)
    await killTask(rt, args.container, signal, {all: flags.all})
  }
}
