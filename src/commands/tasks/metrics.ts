import {Args} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {formatFlag} from '../../cli/flags.js'
import {tabwrite} from '../../cli/output.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {formatGoTime} from '../../lib/events/index.js'
import {formatMetricsJson, taskMetrics} from '../../lib/runtime/metrics.js'

export default class TasksMetrics extends RuntimeCommand {
  static override summary = 'get a single data point of metrics for a task'
  static override description = `Sample the task's cgroup once (cgroup v1, through runc events --stats). The table is ctr's: ID and
TIMESTAMP, then METRIC VALUE rows memory.usage_in_bytes, memory.limit_in_bytes, memory.stat.cache
(total_cache), cpuacct.usage, cpuacct.usage_percpu (ns), pids.current and pids.limit (0 = no limit).
--format json prints one object with 2-space indent and exact integers:
  {"id", "timestamp" (RFC 3339), "memory": {"usage": {"usage", "limit", "max", "failcnt"}, "cache",
   "rss", "total_cache", "total_rss"}, "cpu": {"usage": {"total", "kernel", "user", "per_cpu": [..]}},
   "pids": {"current", "limit"}}
A stopped task has no metrics (its cgroup is gone): that fails with a failed precondition.`
  static override examples = ['<%= config.bin %> tasks metrics web', '<%= config.bin %> tasks metrics --format json web']
  static override args = {container: Args.string({description: 'container id'})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())
  static override flags = {format: formatFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TasksMetrics)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    const m = await taskMetrics(await this.taskRuntime(), args.container)
    if (flags.format === 'json') return this.out(formatMetricsJson(m))
    const rows: [string, string][] = [
      ['memory.usage_in_bytes', `${m.memory.usage}`],
      ['memory.limit_in_bytes', `${m.memory.limit}`],
      ['memory.stat.cache', `${m.memory.totalCache}`],
      ['cpuacct.usage', `${m.cpu.total}`],
      ['cpuacct.usage_percpu', `[${m.cpu.perCpu.join(' ')}]`], // Go's %v of a slice
      ['pids.current', `${m.pids.current}`],
      ['pids.limit', `${m.pids.limit}`],
    ]
    const lines = ['ID\tTIMESTAMP\t', `${m.id}\t${formatGoTime(m.timestamp)}\t`, '', 'METRIC\tVALUE\t', ...rows.map(([k, v]) => `${k}\t${v}\t`)]
    this.out(tabwrite(lines, {minwidth: 1, tabwidth: 8, padding: 4, padchar: ' '})) // ctr: NewWriter(os.Stdout, 1, 8, 4, ' ', 0)
  }
}
