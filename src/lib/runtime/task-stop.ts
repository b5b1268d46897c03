// Signal and delete: kill, wait, pause/resume and delete a task, one container's or a namespace's.
// A running task is never deleted without `force`; deletion (teardown, files, record with
// `/tasks/delete`) runs under the task lock and only for the instance that was looked at.
import {removeTree} from '../sys/tree.js'
import {FailedPrecondition, NotFound} from '../errors/index.js'
import {nowMicros, type TaskRecord} from '../store/index.js'
import {processAlive} from './proc.js'
import {getTask, refreshTask, teardown} from './task-reconcile.js'
import {lockTask, runcOf, taskPaths, type TaskRuntime} from './task-runtime.js'
import {isAlive, isCreated, isPaused, isRunning, isStopped} from '../store/task-state.js'

/** Signal the task's init process (or all of its processes). */
export async function killTask(rt: TaskRuntime, id: string, signal: number, options: {all?: boolean} = {}): Promise<void> {
  const t = await getTask(rt, id)
  if (isStopped(t)) throw new NotFound(`process already finished`, {suffixKind: true})
  if (options.all || isCreated(t) || t.pid <= 0) {
    await runcOf(rt, id).kill(id, signal, {all: options.all})
    return
  }
  // The init process, checked against its start time: one process spawn cheaper than runc kill.
  if (!processAlive(t.pid, t.pidStart)) throw new NotFound('process already finished', {suffixKind: true})
  try {
    process.kill(t.pid, signal)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') throw new NotFound('process already finished', {suffixKind: true})
    throw err
  }
}

/** Wait until the task is recorded as stopped; polls the record (any process may record it). */
export async function waitTask(rt: TaskRuntime, id: string, options: {timeoutMs?: number; intervalMs?: number} = {}): Promise<TaskRecord> {
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs
  let interval = 5
  for (;;) {
    const t = await getTask(rt, id)
    if (isStopped(t)) return t
    if (Date.now() >= deadline) throw new FailedPrecondition(`task ${id} did not exit in time`)
    await new Promise((r) => setTimeout(r, interval))
    interval = Math.min(options.intervalMs ?? 100, interval * 2)
  }
}

/**
 * Delete a stopped (or never started) task: its runc state, mounts and files, and the record with
 * `/tasks/delete`. `force` kills a running one first. Returns the deleted record (its exit status).
 * @throws FailedPrecondition `task must be stopped before deletion: running`.
 */
export async function deleteTask(rt: TaskRuntime, id: string, options: {force?: boolean} = {}): Promise<TaskRecord> {
  let t = await getTask(rt, id)
  if (isAlive(t)) {
    if (!options.force) throw new FailedPrecondition(`task must be stopped before deletion: ${t.status}`, {suffixKind: true})
    try {
      const runc = runcOf(rt, id)
      await runc.kill(id, 9, {all: true})
      if (isPaused(t)) await runc.resume(id)
    } catch {
      // it may have exited meanwhile
    }
    t = await waitTask(rt, id, {timeoutMs: 10_000, intervalMs: 20})
  }
  const lock = await lockTask(rt, id)
  try {
    const current = rt.store.tasks.find(rt.ns, id)
    if (!current || current.instance !== t.instance) throw new NotFound(`no running task found: task ${id} not found`)
    if (isCreated(current)) {
      // Never started: its init waits in runc; no exit to record beyond this one.
      rt.store.tasks.exited(rt.ns, id, current.instance, {exitStatus: 0, exitedAt: nowMicros(), known: true, oom: false})
    }
    await teardown(rt, id)
    removeTree(taskPaths(rt.store.state, rt.ns, id).dir)
    const removed = rt.store.tasks.remove(rt.ns, id, current.instance)
    if (!removed) throw new NotFound(`no running task found: task ${id} not found`)
    return removed
  } finally {
    lock.release()
  }
}

/** Pause or resume the task's processes (cgroup freezer). */
export async function setTaskPaused(rt: TaskRuntime, id: string, paused: boolean): Promise<void> {
  const t = await getTask(rt, id)
  if (paused && !isRunning(t)) throw new FailedPrecondition(`task ${id} is ${t.status}, not running`, {suffixKind: true})
  if (!paused && !isPaused(t)) throw new FailedPrecondition(`task ${id} is ${t.status}, not paused`, {suffixKind: true})
  const runc = runcOf(rt, id)
  if (paused) await runc.pause(id)
  else await runc.resume(id)
  rt.store.tasks.setPaused(rt.ns, id, t.instance, paused)
}

/**
 * Delete the container's task before the container goes: a stopped or never-started task is
 * deleted, a running one refuses (`cannot delete a non stopped container: running`).
 */
export async function deleteTaskOfContainer(rt: TaskRuntime, id: string, options: {force?: boolean} = {}): Promise<TaskRecord | undefined> {
  const found = rt.store.tasks.find(rt.ns, id)
  if (!found) return undefined
  const t = await refreshTask(rt, found)
  if (isAlive(t) && !options.force) {
    throw new FailedPrecondition(`cannot delete a non stopped container: ${t.status}`)
  }
  return deleteTask(rt, id, {force: true})
}

/** Kill and delete every task of the namespace (`namespaces rm --force`). */
export async function deleteAllTasks(rt: TaskRuntime): Promise<void> {
  for (const t of rt.store.tasks.list(rt.ns)) await deleteTask(rt, t.containerId, {force: true})
}
