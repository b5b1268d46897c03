import {Args, Flags} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {taskLog, type LogEntry} from '../../lib/runtime/logs.js'

export default class TasksLogs extends RuntimeCommand {
  static override summary = 'print the output of a detached task'
  static override description = `Print what a detached task (run -d, tasks start -d) wrote: its stdout to stdout and its stderr to
stderr, as conmon recorded them in the task's log (k8s-file format). A terminal task has one stream,
stdout. With --follow, keep printing new output until the task exits. --exec-id prints the log of a
detached exec'd process instead. Berth's own command: containerd keeps no logs. Foreground tasks and
tasks started with --null-io have no log.`
  static override examples = ['<%= config.bin %> tasks logs web', '<%= config.bin %> tasks logs -f web', '<%= config.bin %> tasks logs --exec-id probe web']
  static override args = {container: Args.string({description: 'container id'})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())
  static override flags = {
    follow: Flags.boolean({char: 'f', summary: 'keep printing new output until the task exits'}),
    'exec-id': Flags.string({summary: "print this detached exec'd process's log"}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TasksLogs)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    const print = (e: LogEntry): Promise<void> =>
      new Promise((resolve) => {
        const stream = e.stream === 'stdout' ? process.stdout : process.stderr
        stream.write(e.partial ? e.text : Buffer.concat([e.text, NEWLINE]), () => resolve())
      })
    await taskLog(await this.taskRuntime(), args.container, {follow: flags.follow, execId: flags['exec-id'], onEntry: print})
  }
}

const NEWLINE = Buffer.from('\n')
