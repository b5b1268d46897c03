import {Args} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {formatFlag} from '../../cli/flags.js'
import {tabwrite, toJson} from '../../cli/output.js'
import {InvalidArgument, NotFound} from '../../lib/errors/index.js'
import {getTask} from '../../lib/runtime/tasks.js'
import {containerRunc} from '../../lib/runtime/runtimes.js'
import {isStopped} from '../../lib/store/task-state.js'

export default class TasksPs extends RuntimeCommand {
  static override summary = 'list processes for container'
  static override description = 'List the host pids of every process in the task: PID INFO (INFO is "-", as with runc).'
  static override args = {container: Args.string({description: 'container id'})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())
  static override flags = {format: formatFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TasksPs)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    const rt = await this.taskRuntime()
    const t = await getTask(rt, args.container)
    if (isStopped(t)) throw new NotFound(`task ${args.container} has no processes: stopped`)
    const pids = (await containerRunc(rt, args.container).ps(args.container)).sort((a, b) => a - b)
    if (flags.format === 'json') return this.out(toJson(pids.map((pid) => ({pid}))))
    this.out(tabwrite(['PID\tINFO', ...pids.map((pid) => `${pid}\t-`)], {minwidth: 1, tabwidth: 8, padding: 1, padchar: ' '}))
  }
}
