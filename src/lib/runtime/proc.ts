// What /proc says about a process: whether the pid still names the process we started (pids are
// reused, so a pid is paired with its start time), and this boot's id (a task recorded under
// another boot id has no processes left).
import {readFileSync} from 'node:fs'

/** The start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined. */
export function processStartTime(pid: number): number | undefined {
  const stat = readStat(pid)
  return stat?.startTime
}

/**
 * True when `pid` runs and, if `startTime` is given, is the same process. A zombie counts as
 * gone: it has exited and only waits for its parent to collect the status.
 */
export function processAlive(pid: number, startTime?: number): boolean {
  if (pid <= 0) return false
  const stat = readStat(pid)
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false
  return startTime === undefined || stat.startTime === startTime
}

function readStat(pid: number): {state: string; startTime: number} | undefined {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1')
  } catch {
    return undefined
  }
  // comm (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ')
  return {state: rest[0], startTime: Number(rest[19])}
}

/** The pid in a pid file (runc's, conmon's), or undefined when it is missing or not yet written. */
export function readPid(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'latin1').trim())
    return pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

let cachedBootId: string | undefined

/** This boot's random id (`/proc/sys/kernel/random/boot_id`). */
export function bootId(): string {
  cachedBootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim()
  return cachedBootId
}
