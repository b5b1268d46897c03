// Task state predicates: the one place that says what each recorded status of a task (or exec)
// means. Nothing else compares status strings; a new state or a changed meaning is decided here.
// The statuses are containerd's (CREATED, RUNNING, PAUSED, STOPPED), stored in lower case and
// shown in upper case as ctr shows them. Pure: no I/O, safe to import anywhere.

/** A task's recorded status (the `tasks.status` column; execs use all but `paused`). */
export type TaskStatus = 'created' | 'running' | 'paused' | 'stopped'

/** Anything with a recorded status: a task or exec record, or a status itself. */
export type Stated = TaskStatus | {readonly status: TaskStatus}

const statusOf = (s: Stated): TaskStatus => (typeof s === 'string' ? s : s.status)

/** Recorded, its process not yet started (or never to be): the init waits in runc. */
export const isCreated = (s: Stated): boolean => statusOf(s) === 'created'

/** Its process runs (not frozen). */
export const isRunning = (s: Stated): boolean => statusOf(s) === 'running'

/** Its processes are frozen (cgroup freezer). */
export const isPaused = (s: Stated): boolean => statusOf(s) === 'paused'

/** Its process exited and the exit is recorded: nothing to signal, only to delete. */
export const isStopped = (s: Stated): boolean => statusOf(s) === 'stopped'

/**
 * Its process was started and has not exited (running or paused): what must be stopped before
 * the task or its container may go, what a restart leaves alone, what keeps a pod up.
 */
export const isAlive = (s: Stated): boolean => isRunning(s) || isPaused(s)

/** Not yet stopped (created, running or paused): its exit is still to be recorded. */
export const isUnfinished = (s: Stated): boolean => !isStopped(s)

/** The statuses an exit may be recorded from (every one but `stopped`). */
export const UNFINISHED_STATUSES: readonly TaskStatus[] = ['created', 'running', 'paused']

/** The status as ctr prints it: `RUNNING`. */
export const statusName = (s: Stated): string => statusOf(s).toUpperCase()

/** The status a name printed by `statusName` stands for, or undefined for any other text (`NO TASK`). */
export function statusFromName(name: string): TaskStatus | undefined {
  const s = name.toLowerCase()
  return s === 'created' || s === 'running' || s === 'paused' || s === 'stopped' ? s : undefined
}
