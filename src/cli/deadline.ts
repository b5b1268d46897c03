// `--timeout`: a bound on a command's total time, counted from process start. When it passes, ctr
// reports one `ctr: ` line (Unavailable, exit 6: the deadline-exceeded of containerd's client) and
// sends SIGTERM to its own child processes (runc, flock, zstd, ...; a foreground task gets it
// through runc, as when ctr itself is sent SIGTERM). With no children it exits at once; with
// children it lets the command see them end and clean up after them (a foreground run records the
// exit and honours --rm) for at most GRACE_MS, then exits. Either way the exit code stays 6 and
// nothing else is reported.
//
// Exiting from a timer is safe for the store: every SQLite transaction runs synchronously, so none
// is open when the timer fires, and everything else is written the way a killed process must leave
// it (ingests resume, unrecorded snapshot directories are collected, a task whose ctr went away is
// reconciled by the next call).
import {readdirSync, readFileSync} from 'node:fs'
import {Unavailable} from '../lib/errors/index.js'
import {parseGoDuration} from './duration.js'

/** How long the command may go on cleaning up after its children were told to stop. */
export const GRACE_MS = 2000

/** A running deadline; `clear()` when the command ended first. */
export interface Deadline {
  clear(): void
}

let expired = false

/** True once a deadline passed: later errors are consequences of it and are not reported. */
export function deadlineExpired(): boolean {
  return expired
}

/**
 * Arm the deadline for `timeout` (a Go duration; 0 or negative: none). `report` prints the error and
 * sets the exit code, which then stays whatever the command does afterwards.
 */
export function armDeadline(timeout: string, report: (err: Unavailable) => void): Deadline | undefined {
  const ms = parseGoDuration(timeout)
  if (ms <= 0) return undefined
  // performance.now() counts from process start: the bound covers start-up too.
  const timer = setTimeout(
    () => {
      report(new Unavailable(`timeout ${timeout} exceeded: context deadline exceeded`))
      expired = true
      const code = process.exitCode
      process.on('exit', () => {
        process.exitCode = code
      })
      const children = childPids()
      if (children.length === 0) process.exit()
      for (const pid of children) {
        try {
          process.kill(pid, 'SIGTERM')
        } catch {
          // already gone
        }
      }
      setTimeout(() => process.exit(), GRACE_MS).unref()
    },
    Math.max(0, ms - performance.now()),
  )
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
