// Reconcile: bring a task's record up to date with the machine (the monitor's exit file, /proc, the
// boot id) and clean up after an exit. Every command that looks at a task goes through here first;
// an exit is recorded once (the store's transition decides the winner) and the cleanup runs under
// the task lock for the recorded instance only, so a late cleanup never touches a newer run.
import {existsSync} from 'node:fs'
import {removeTree} from '../sys/tree.js'
import {SnapshotService} from '../snapshot/service.js'
import {acquireLock, type Lock, nowMicros, type TaskExit, type TaskRecord, UNKNOWN_EXIT_STATUS} from '../store/index.js'
import {taskDir} from '../store/paths.js'
import {readExitFile} from './conmon.js'
import {bootId, processAlive} from './proc.js'
import {hasContainerNetwork, tearDownContainerNetwork} from '../network/index.js'
import {lockTask, runcOf, type TaskPaths, taskPaths, type TaskRuntime} from './task-runtime.js'
import {isCreated, isStopped} from '../store/task-state.js'

/** The task of container `id`, reconciled. @throws NotFound `no running task found: task <id> not found`. */
export async function getTask(rt: TaskRuntime, id: string): Promise<TaskRecord> {
  return refreshTask(rt, rt.store.tasks.get(rt.ns, id))
}

/** Every task of the namespace, reconciled. */
export async function listTasks(rt: TaskRuntime): Promise<TaskRecord[]> {
  return Promise.all(rt.store.tasks.list(rt.ns).map((t) => refreshTask(rt, t)))
}

/**
 * Bring a task's record up to date with the machine. A task whose process is gone gets its exit
 * recorded (from the exit file conmon wrote, else as unknown) and its mounts and runc state
 * cleaned up.
 */
export async function refreshTask(rt: TaskRuntime, t: TaskRecord): Promise<TaskRecord> {
  if (isStopped(t)) return t
  const exit = observeExit(rt, t)
  if (!exit) return t
  if (isCreated(t) && t.pid <= 0 && t.bootId === bootId() && (await startInProgress(rt, t.containerId))) return t
  if (rt.store.tasks.exited(rt.ns, t.containerId, t.instance, exit)) await finishTask(rt, t.containerId, t.instance, {wait: false})
  return rt.store.tasks.find(rt.ns, t.containerId) ?? t
}

/**
 * Whether a task's record claims a process that is gone: what {@link refreshTask} would record as
 * an exit (and clean up). False for a stopped task, a live one and a start in progress. Reads only.
 */
export async function taskIsStale(rt: TaskRuntime, t: TaskRecord): Promise<boolean> {
  if (isStopped(t)) return false
  if (!observeExit(rt, t)) return false
  return !(isCreated(t) && t.pid <= 0 && t.bootId === bootId() && (await startInProgress(rt, t.containerId)))
}

/**
 * Whether another process holds the task's lock: a detached start records its row before its
 * process exists (no pid, no conmon yet) and must not be taken for a dead task meanwhile — a pod
 * member being started while `pods ls` looks, or a start during `ctr gc`.
 */
async function startInProgress(rt: TaskRuntime, id: string): Promise<boolean> {
  try {
    ;(await acquireLock(rt.store.state, `task.${rt.ns}.${id}`, {timeoutMs: 0})).release()
    return false
  } catch {
    return true
  }
}

/**
 * The exit of a task whose process is gone, or undefined while it runs (or is about to be recorded).
 * A live process is asked first: conmon writes the exit file only once the process is gone, and
 * looking for a file that is not there cost an exception per running task (`tasks ls` of 200).
 */
function observeExit(rt: TaskRuntime, t: TaskRecord): TaskExit | undefined {
  if (t.bootId !== bootId() || !existsSync(taskDir(rt.store.state, rt.ns, t.containerId))) return unknownExit(taskPaths(rt.store.state, rt.ns, t.containerId))
  if (t.pid > 0 && processAlive(t.pid, t.pidStart)) return undefined
  const paths = taskPaths(rt.store.state, rt.ns, t.containerId)
  const recorded = conmonExit(paths)
  if (recorded) return recorded
  // The process is gone (or never started). Its monitor (this very process, or a live conmon or
  // foreground ctr) may still be about to record the exit.
  if (t.monitorPid === process.pid || (t.monitorPid > 0 && processAlive(t.monitorPid))) return undefined
  return unknownExit(paths)
}

/** The exit conmon recorded for the task, with its OOM marker, or undefined. */
function conmonExit(paths: TaskPaths): TaskExit | undefined {
  const recorded = readExitFile(paths.exitFile)
  if (recorded && existsSync(paths.checkpointed)) {
    // CRIU stopped it (conmon sees SIGKILL, 137) after a complete dump: a deliberate, clean stop.
    return {...recorded, exitStatus: 0, known: true, oom: false}
  }
  return recorded && {...recorded, oom: existsSync(paths.oomFile)}
}

/** An exit nobody recorded: status 255, now. */
function unknownExit(paths: TaskPaths): TaskExit {
  return {exitStatus: UNKNOWN_EXIT_STATUS, exitedAt: nowMicros(), known: false, oom: existsSync(paths.oomFile)}
}

/**
 * After the init process exited: unmount the rootfs and drop runc's state, under the task lock
 * and only for the instance given (a newer run is left alone). The task directory stays until
 * `tasks delete` (it holds the log and exit file), unless `remove`: then the directory and the
 * record go too (`/tasks/delete`), as a foreground run does at once. Returns the removed record.
 */
export async function finishTask(
  rt: TaskRuntime,
  id: string,
  instance: string,
  options: {wait?: boolean; remove?: boolean} = {},
): Promise<TaskRecord | undefined> {
  let lock: Lock
  try {
    lock = options.wait === false ? await acquireLock(rt.store.state, `task.${rt.ns}.${id}`, {timeoutMs: 0}) : await lockTask(rt, id)
  } catch {
    return undefined // its holder (start, cleanup or delete) does the work
  }
  try {
    const t = rt.store.tasks.find(rt.ns, id)
    if (!t || t.instance !== instance) return undefined
    await teardown(rt, id)
    if (!options.remove) return undefined
    removeTree(taskPaths(rt.store.state, rt.ns, id).dir)
    return rt.store.tasks.remove(rt.ns, id, instance)
  } finally {
    lock.release()
  }
}

/**
 * Unmount the rootfs, remove runc's state and release the container's own network (CNI DEL, then
 * the netns pin; meanwhile); every step tolerates having been done. A DEL that fails leaves its attachment
 * row, which `ctr gc` retries.
 */
export async function teardown(rt: TaskRuntime, id: string): Promise<void> {
  const paths = taskPaths(rt.store.state, rt.ns, id)
  // CNI DEL runs while runc deletes the container: the veth and the address go whether or not a
  // process is still in the namespace, and the pin keeps the namespace until DEL is done.
  const network = hasContainerNetwork(rt.store, rt.ns, id) ? tearDownContainerNetwork(rt.store, rt.ns, id).catch(() => {}) : undefined
  try {
    await runcOf(rt, id).delete(id, {force: true})
    SnapshotService.unmountAll(paths.rootfs)
    releaseUsernsRootfs(paths)
  } finally {
    await network
  }
}

/** Unmount and remove a user-namespace container's rootfs mountpoint, if it has one. */
export function releaseUsernsRootfs(paths: TaskPaths): void {
  if (!existsSync(paths.usernsDir)) return
  SnapshotService.unmountAll(paths.usernsRootfs)
  removeTree(paths.usernsDir)
}

/** Record the exit conmon wrote for `instance` and clean up: what conmon's exit command runs. */
export async function recordExit(rt: TaskRuntime, id: string, instance: string): Promise<void> {
  const t = rt.store.tasks.find(rt.ns, id)
  if (!t || t.instance !== instance) return
  const paths = taskPaths(rt.store.state, rt.ns, id)
  rt.store.tasks.exited(rt.ns, id, instance, conmonExit(paths) ?? unknownExit(paths))
  await finishTask(rt, id, instance)
}
