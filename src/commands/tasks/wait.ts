import {Args} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {formatFlag} from '../../cli/flags.js'
import {rfc3339Micros, toJson} from '../../cli/output.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {waitTask} from '../../lib/runtime/tasks.js'

export default class TasksWait extends RuntimeCommand {
  static override summary = 'wait for a task to exit and print its exit status'
  static override description = `Block until the task's process exits, whichever process started it or records the exit, then print
its exit status (128+N for signal N; 255 when the process vanished unrecorded, e.g. after a reboot).
" (oom)" follows the status when the OOM killer ended it. ctr exits 0; the status is the output.`
  static override examples = ['<%= config.bin %> tasks wait web']
  static override args = {container: Args.string({description: 'container id'})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())
  static override flags = {format: formatFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TasksWait)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    const t = await waitTask(await this.taskRuntime(), args.container)
    if (flags.format === 'json') {
      return this.out(
        toJson({
          id: t.containerId,
          pid: t.pid,
          exitStatus: t.exitStatus,
          exitedAt: t.exitedAt === undefined ? undefined : rfc3339Micros(t.exitedAt),
          exitKnown: t.exitKnown,
          oom: t.oom,
        }),
      )
    }
    this.out(`${t.exitStatus ?? 255}${t.oom ? ' (oom)' : ''}\n`)
  }
}
