import {RuntimeCommand} from '../../cli/runtime-command.js'
import {formatFlag, quietFlag} from '../../cli/flags.js'
import {rfc3339Micros, tabwrite, toJson} from '../../cli/output.js'
import {containerIps} from '../../lib/network/attach.js'
import {listTasks} from '../../lib/runtime/tasks.js'
import {type TaskRecord} from '../../lib/store/index.js'
import {isStopped, statusName} from '../../lib/store/task-state.js'

export default class TasksLs extends RuntimeCommand {
  static override summary = 'list tasks'
  static override description = `List the namespace's tasks: TASK PID STATUS (CREATED, RUNNING, PAUSED, STOPPED). Every call first
reconciles the records with the machine, so a task that exited while no ctr ran shows STOPPED. A
task killed by the OOM killer shows "STOPPED (oom)". The table keeps ctr's three columns; --format json
adds each task's IP addresses (ips).`
  static override strict = false // as ctr: arguments are ignored
  static override flags = {quiet: quietFlag, format: formatFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(TasksLs)
    const rt = await this.taskRuntime()
    const {store} = rt
    const tasks = await listTasks(rt)
    if (flags.quiet) return this.out(tasks.map((t) => `${t.containerId}\n`).join(''))
    if (flags.format === 'json') {
      return this.out(
        toJson(
          tasks.map((t) => ({
            id: t.containerId,
            pid: t.pid,
            status: statusName(t),
            ...(isStopped(t)
              ? {exitStatus: t.exitStatus, exitedAt: t.exitedAt === undefined ? undefined : rfc3339Micros(t.exitedAt), exitKnown: t.exitKnown, oom: t.oom}
              : {}),
            monitor: t.monitor,
            ips: containerIps(store, this.namespace(), t.containerId),
          })),
        ),
      )
    }
    const status = (t: TaskRecord) => statusName(t) + (t.oom ? ' (oom)' : '')
    this.out(
      tabwrite(['TASK\tPID\tSTATUS\t', ...tasks.map((t) => `${t.containerId}\t${t.pid}\t${status(t)}\t`)], {
        minwidth: 4,
        tabwidth: 8,
        padding: 4,
        padchar: ' ',
      }),
    )
  }
}
