// `--timeout`: a bound on a command's total time, counted from process start. When it passes, ctr
// reports one `ctr: ` line (Unavailable, exit 6: the deadline-exceeded of containerd's client),
// sends SIGTERM to its own child processes (runc, conmon before it detaches, flock, zstd, ...;
// a foreground task gets it through runc, as when ctr itself is sent SIGTERM) and exits.
//
// Exiting from a timer callback is safe for the store: every SQLite transaction runs
// synchronously, so none is open when the timer fires, and everything else is written the way a
// killed process must leave it (ingests resume, unrecorded snapshot directories are collected,
// a task whose ctr went away is reconciled by the next call).
import {readdirSync, readFileSync} from 'node:fs'
import {Unavailable} from '../lib/errors/index.js'
import {parseGoDuration} from './duration.js'

/** A running deadline; `clear()` when the command ended first. */
export interface Deadline {
  clear(): void
}

/**
 * Arm the deadline for `timeout` (a Go duration; 0 or negative: none). `onExpire` reports the error
 * and closes what the command holds; then the children get SIGTERM and the process exits with the
 * exit code `onExpire` set.
 */
export function armDeadline(timeout: string, onExpire: (err: Unavailable) => void): Deadline | undefined {
  const ms = parseGoDuration(timeout)
  if (ms <= 0) return undefined
  // performance.now() counts from process start: the bound covers start-up too.
  const timer = setTimeout(() => {
    onExpire(new Unavailable(`timeout ${timeout} exceeded: context deadline exceeded`))
    for (const pid of childPids()) {
      try {
        process.kill(pid, 'SIGTERM')
      } catch {
        // already gone
      }
    }
    process.exit()
  }, Math.max(0, ms - performance.now()))
  return {clear: () => clearTimeout(timer)}
}

/** This process's children, from /proc/self/task/<tid>/children (every thread's). */
export function childPids(): number[] {
  const pids: number[] = []
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const text = readFileSync(`/proc/self/task/${tid}/children`, 'utf8')
        for (const word of text.split(/\s+/)) if (word !== '') pids.push(Number(word))
      } catch {
        // the thread ended, or the kernel lacks CONFIG_PROC_CHILDREN
      }
    }
  } catch {
    // no /proc: nothing to signal
  }
  return pids
}
