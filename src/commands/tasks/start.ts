import {Args, Flags} from '@oclif/core'
import {reportError} from '../../cli/base-command.js'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {execFailureStatus} from '../../cli/exit-codes.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {parseLogUri} from '../../lib/runtime/flag-values.js'
import {type ForegroundExit, runForeground, startDetached} from '../../lib/runtime/tasks.js'

export default class TasksStart extends RuntimeCommand {
  static override summary = 'start a container that has been created'
  static override description = `Start the container's task. In the foreground the process gets this terminal's stdio, signals sent to
ctr reach it, and ctr exits with its status once it exits (the task is then deleted); 127 when its
command is not found, 126 when it cannot be executed. With --detach
the task runs under conmon, its output goes to the task log (ctr tasks logs) and ctr returns at once.`
  static override examples = ['<%= config.bin %> tasks start -d web', '<%= config.bin %> tasks start job']
  static override args = {container: Args.string({description: 'container id'})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())
  static override flags = {
    detach: Flags.boolean({char: 'd', summary: 'detach from the task after it has started'}),
    'null-io': Flags.boolean({summary: 'send all IO to /dev/null'}),
    'pid-file': Flags.string({summary: 'file to write the process id to'}),
    'no-pivot': Flags.boolean({summary: 'start without pivot_root'}),
    'log-uri': Flags.string({summary: "send stdout and stderr to file:///path (appended) or to a logging program, binary:///path?k=v (containerd's protocol)"}),
    'fifo-dir': Flags.string({summary: 'accepted for ctr compatibility and unused: Berth has no IO FIFOs'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TasksStart)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    const log = flags['log-uri'] === undefined ? undefined : parseLogUri(flags['log-uri'])
    if (log !== undefined && flags['null-io']) throw new InvalidArgument('null-io and log-uri cannot be used together', {suffixKind: true})
    const rt = await this.taskRuntime()
    const options = {nullIo: flags['null-io'], pidFile: flags['pid-file'], noPivot: flags['no-pivot'], ...(log !== undefined ? {log} : {})}
    if (flags.detach) {
      await startDetached(rt, args.container, options)
      return
    }
    let result: ForegroundExit
    try {
      result = await runForeground(rt, args.container, options)
    } catch (err) {
      const status = execFailureStatus(err) // 126/127: the command could not be executed
      if (status === undefined) throw err
      reportError(err, this.globals.debug)
      process.exitCode = status
      return
    }
    // The process ran: its status is ctr's; a cleanup that failed after it is said, never exited with.
    if (result.cleanupError !== undefined) reportError(result.cleanupError, this.globals.debug)
    process.exitCode = result.exitStatus
  }
}
