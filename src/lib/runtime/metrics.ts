// Task metrics: one sample of the task's cgroup (cgroup v1: memory, cpuacct, pids) from
// `runc events --stats`, the figures containerd's `ctr tasks metrics` prints. Counters are bigints:
// an unlimited memory limit (9223372036854771712) is beyond a double's exact range, and runc's JSON
// is parsed without losing it.
import {FailedPrecondition} from '../errors/index.js'
import {formatRfc3339Nano} from '../events/index.js'
import {nowMicros} from '../store/index.js'
import {containerRunc} from './runtimes.js'
import {getTask, type TaskRuntime} from './tasks.js'
import {isStopped} from '../store/task-state.js'

/** One sample, named after the cgroup v1 files the numbers come from. */
export interface TaskMetrics {
  readonly id: string
  /** When the sample was taken, microseconds since the epoch. */
  readonly timestamp: number
  readonly memory: {
    /** memory.usage_in_bytes */
    readonly usage: bigint
    /** memory.limit_in_bytes (9223372036854771712 when unlimited) */
    readonly limit: bigint
    /** memory.max_usage_in_bytes */
    readonly max: bigint
    /** memory.failcnt */
    readonly failcnt: bigint
    /** memory.stat cache and rss, and their hierarchical totals */
    readonly cache: bigint
    readonly rss: bigint
    readonly totalCache: bigint
    readonly totalRss: bigint
  }
  readonly cpu: {
    /** cpuacct.usage (ns) */
    readonly total: bigint
    /** cpuacct.stat system and user (ns) */
    readonly kernel: bigint
    readonly user: bigint
    /** cpuacct.usage_percpu (ns) */
    readonly perCpu: bigint[]
  }
  readonly pids: {
    /** pids.current */
    readonly current: bigint
    /** pids.max; 0 when unlimited ("max"), as containerd reports it */
    readonly limit: bigint
  }
}

/** runc's stats JSON with every integer literal kept as its decimal text. */
type Json = string | number | boolean | null | Json[] | {[key: string]: Json}

/**
 * Parse JSON, keeping integers exact: every integer literal becomes its decimal string (runc
 * writes no strings that look like a bare number after `:`, `[` or `,`).
 */
export function parseJsonExact(text: string): Json {
  return JSON.parse(text.replace(/([:[,]\s*)(-?\d+)(?=\s*[,\]}])/g, '$1"$2"')) as Json
}

function field(value: Json | undefined, ...path: string[]): Json | undefined {
  let v = value
  for (const key of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined
    v = v[key]
  }
  return v
}

/** An integer field (runc omits zeros), as a bigint. */
function int(value: Json | undefined, ...path: string[]): bigint {
  const v = field(value, ...path)
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v)
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v)
  return 0n
}

function ints(value: Json | undefined, ...path: string[]): bigint[] {
  const v = field(value, ...path)
  return Array.isArray(v) ? v.map((x) => int(x)) : []
}

/**
 * The metrics in one `runc events --stats` line (`{"type":"stats","id":..,"data":{..}}`).
 * @throws FailedPrecondition when the text is not a stats event.
 */
export function metricsFromRuncStats(id: string, text: string, timestamp: number): TaskMetrics {
  let event: Json
  try {
    event = parseJsonExact(text)
  } catch (err) {
    throw new FailedPrecondition(`task ${id}: runc events --stats printed no JSON`, {cause: err})
  }
  if (field(event, 'type') !== 'stats') throw new FailedPrecondition(`task ${id}: runc events --stats printed no stats`)
  const d = field(event, 'data')
  return {
    id,
    timestamp,
    memory: {
      usage: int(d, 'memory', 'usage', 'usage'),
      limit: int(d, 'memory', 'usage', 'limit'),
      max: int(d, 'memory', 'usage', 'max'),
      failcnt: int(d, 'memory', 'usage', 'failcnt'),
      cache: int(d, 'memory', 'raw', 'cache'),
      rss: int(d, 'memory', 'raw', 'rss'),
      totalCache: int(d, 'memory', 'raw', 'total_cache'),
      totalRss: int(d, 'memory', 'raw', 'total_rss'),
    },
    cpu: {
      total: int(d, 'cpu', 'usage', 'total'),
      kernel: int(d, 'cpu', 'usage', 'kernel'),
      user: int(d, 'cpu', 'usage', 'user'),
      perCpu: ints(d, 'cpu', 'usage', 'percpu'),
    },
    pids: {current: int(d, 'pids', 'current'), limit: int(d, 'pids', 'limit')},
  }
}

/**
 * One metrics sample of a task that has not stopped (a created, running or paused one).
 * @throws NotFound for an unknown task; FailedPrecondition for a stopped one (its cgroup is gone).
 */
export async function taskMetrics(rt: TaskRuntime, id: string): Promise<TaskMetrics> {
  const t = await getTask(rt, id)
  if (isStopped(t)) throw new FailedPrecondition(`task ${id} is stopped: no metrics`, {suffixKind: true})
  const timestamp = nowMicros()
  return metricsFromRuncStats(id, await containerRunc(rt, id).stats(id), timestamp)
}

/**
 * The metrics as JSON (2-space indent, as ctr prints them), integers exact, the timestamp in RFC 3339. Keys follow
 * containerd's cgroup v1 Metrics message where it has them:
 * `{id, timestamp, memory: {usage: {usage, limit, max, failcnt}, cache, rss, total_cache, total_rss},
 *   cpu: {usage: {total, kernel, user, per_cpu}}, pids: {current, limit}}`.
 */
export function formatMetricsJson(m: TaskMetrics): string {
  const value = {
    id: m.id,
    timestamp: formatRfc3339Nano(m.timestamp),
    memory: {
      usage: {usage: m.memory.usage, limit: m.memory.limit, max: m.memory.max, failcnt: m.memory.failcnt},
      cache: m.memory.cache,
      rss: m.memory.rss,
      total_cache: m.memory.totalCache,
      total_rss: m.memory.totalRss,
    },
    cpu: {usage: {total: m.cpu.total, kernel: m.cpu.kernel, user: m.cpu.user, per_cpu: m.cpu.perCpu}},
    pids: {current: m.pids.current, limit: m.pids.limit},
  }
  // A bigint becomes a marked string, then the marks and quotes go. \u0001 cannot occur in an id.
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `\u0001${v}` : v), 2)
  return `${text.replace(/"\\u0001(-?\d+)"/g, '$1')}\n`
}
