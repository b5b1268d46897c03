// Tasks: a container's running instance. No daemon keeps them; the record in the database is the
// last known state, and every command that looks at a task first reconciles it with what the
// machine says (the monitor's exit file, /proc, the boot id).
//
// Two monitors (DESIGN §7):
//  - detached tasks (`tasks start -d`, `run -d`) run under conmon, which outlives ctr, writes the
//    exit status and runs `ctr tasks cleanup` to record it;
//  - a foreground task's ctr is its monitor: it runs `runc run` with the terminal's stdio (runc
//    forwards signals and proxies a tty itself) and records the exit. If that ctr is killed, the
//    next command finds the process gone and records the exit as unknown (255).
//
// Each run of a task has a random `instance`; records, cleanups and exit commands name it, so a
// late cleanup of an earlier run never touches a newer one. A per-task lock orders start, cleanup
// and delete.
import {spawn} from 'node:child_process'
import {accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, rmSync, watch, writeFileSync, renameSync} from 'node:fs'
import {constants as osConstants} from 'node:os'
import {dirname, join} from 'node:path'
import {AlreadyExists, FailedPrecondition, InvalidArgument, NotFound} from '../errors/index.js'
import {SnapshotService} from '../snapshot/service.js'
import {acquireLock, type ContainerRecord, type Lock, nowMicros, type Store, type TaskExit, type TaskRecord, UNKNOWN_EXIT_STATUS} from '../store/index.js'
import {readExitFile, startConmon} from './conmon.js'
import {containerDir} from './template.js'
import {checkExecutable} from './lookpath.js'
import {bootId, processAlive, processStartTime, readPid} from './proc.js'
import {Runc, runcLogError, runcRoot} from './runc.js'
import type {RuntimeSpec} from './oci-spec.js'
import {readTemplate, renderSpec, writeBundleSpec} from './template.js'
import {randomBytes} from '../sys/random.js'
import {containerNetnsPath, isPinned, setUpContainerNetwork, setUpPodSandbox, tearDownContainerNetwork} from '../network/index.js'
import {containerRunDir} from './containers.js'

/** How to reach runc, conmon and ctr itself (for conmon's exit command) for one namespace. */
export interface TaskRuntime {
  readonly store: Store
  readonly ns: string
  readonly runc: Runc
  readonly conmon: string
  /** argv that re-runs this ctr on the same store (root, state, config), without a namespace. */
  readonly ctrArgv: readonly string[]
}

export function taskRuntime(store: Store, ns: string, ctrArgv: readonly string[]): TaskRuntime {
  return {store, ns, runc: new Runc(findProgram(store.config.runtime.runc), runcRoot(store.state, ns)), conmon: findProgram(store.config.runtime.conmon), ctrArgv}
}

/** A program's absolute path through $PATH (conmon insists on an absolute runtime path). */
function findProgram(name: string): string {
  if (name.includes('/')) return name
  for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (existsSync(join(dir, name))) return join(dir, name)
  return name
}

/** The files of a task under `<state>/tasks/<ns>/<id>/` (also its OCI bundle). */
export function taskPaths(state: string, ns: string, id: string) {
  const dir = join(state, 'tasks', ns, id)
  return {
    dir,
    rootfs: join(dir, 'rootfs'),
    config: join(dir, 'config.json'),
    pidFile: join(dir, 'pid'),
    conmonPidFile: join(dir, 'conmon.pid'),
    exitDir: join(dir, 'exits'),
    exitFile: join(dir, 'exits', id),
    oomFile: join(dir, 'oom'),
    log: join(dir, 'log'),
    runcLog: join(dir, 'runc.log'),
    attach: join(dir, 'attach'),
    execs: join(dir, 'execs'),
  }
}
export type TaskPaths = ReturnType<typeof taskPaths>

/** Options shared by both ways of starting a task. */
export interface StartOptions {
  /** Give the process /dev/null for stdio. */
  readonly nullIo?: boolean
  /** Write the task's pid here (atomically) once it runs. */
  readonly pidFile?: string
}

/** Take the task's lock (start, cleanup and delete of one container are ordered by it). */
function lockTask(rt: TaskRuntime, id: string): Promise<Lock> {
  return acquireLock(rt.store.state, `task.${rt.ns}.${id}`)
}

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
  if (t.status === 'stopped') return t
  const paths = taskPaths(rt.store.state, rt.ns, t.containerId)
  const exit = observeExit(t, paths)
  if (!exit) return t
  if (t.status === 'created' && t.pid <= 0 && t.bootId === bootId() && (await startInProgress(rt, t.containerId))) return t
  if (rt.store.tasks.exited(rt.ns, t.containerId, t.instance, exit)) await finishTask(rt, t.containerId, t.instance, {wait: false})
  return rt.store.tasks.find(rt.ns, t.containerId) ?? t
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

/** The exit of a task whose process is gone, or undefined while it runs (or is about to be recorded). */
function observeExit(t: TaskRecord, paths: TaskPaths): TaskExit | undefined {
  if (t.bootId !== bootId() || !existsSync(paths.dir)) return unknownExit(paths)
  const recorded = conmonExit(paths)
  if (recorded) return recorded
  if (t.pid > 0 && processAlive(t.pid, t.pidStart)) return undefined
  // The process is gone (or never started). Its monitor (this very process, or a live conmon or
  // foreground ctr) may still be about to record the exit.
  if (t.monitorPid === process.pid || (t.monitorPid > 0 && processAlive(t.monitorPid))) return undefined
  return unknownExit(paths)
}

/** The exit conmon recorded for the task, with its OOM marker, or undefined. */
function conmonExit(paths: TaskPaths): TaskExit | undefined {
  const recorded = readExitFile(paths.exitFile)
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
export async function finishTask(rt: TaskRuntime, id: string, instance: string, options: {wait?: boolean; remove?: boolean} = {}): Promise<TaskRecord | undefined> {
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
    rmSync(taskPaths(rt.store.state, rt.ns, id).dir, {recursive: true, force: true})
    return rt.store.tasks.remove(rt.ns, id, instance)
  } finally {
    lock.release()
  }
}

/**
 * Unmount the rootfs, remove runc's state and release the container's own network (CNI DEL, then
 * the netns pin); every step tolerates having been done. A DEL that fails leaves its attachment
 * row, which `ctr gc` retries.
 */
async function teardown(rt: TaskRuntime, id: string): Promise<void> {
  const paths = taskPaths(rt.store.state, rt.ns, id)
  await rt.runc.delete(id, {force: true})
  SnapshotService.unmountAll(paths.rootfs)
  if (rt.store.netAttachments.ofOwner(rt.ns, 'container', id).length > 0 || isPinned(containerNetnsPath(rt.store.state, rt.ns, id))) {
    await tearDownContainerNetwork(rt.store, rt.ns, id).catch(() => {})
  }
}

/**
 * The namespaces a task joins, made ready before runc runs: a pod member's pod is brought up
 * (after a reboot or `pods stop` its pins are gone; `/pods/start`), a networked container's
 * netns is pinned and attached (CNI ADD).
 */
async function prepareNetwork(rt: TaskRuntime, id: string): Promise<void> {
  const meta = rt.store.pods.containerMeta(rt.ns, id)
  if (!meta) return
  mkdirSync(containerRunDir(rt.store.state, rt.ns, id), {recursive: true, mode: 0o700}) // gone after a reboot
  if (meta.podId !== undefined) {
    const pod = rt.store.pods.find(rt.ns, meta.podId)
    if (pod && (await setUpPodSandbox(rt.store, rt.ns, pod))) rt.store.pods.event(rt.ns, pod.id, '/pods/start')
  }
  if (meta.network.mode === 'cni') await setUpContainerNetwork(rt.store, rt.ns, id, meta.network)
}

/** Record the exit conmon wrote for `instance` and clean up: what conmon's exit command runs. */
export async function recordExit(rt: TaskRuntime, id: string, instance: string): Promise<void> {
  const t = rt.store.tasks.find(rt.ns, id)
  if (!t || t.instance !== instance) return
  const paths = taskPaths(rt.store.state, rt.ns, id)
  rt.store.tasks.exited(rt.ns, id, instance, conmonExit(paths) ?? unknownExit(paths))
  await finishTask(rt, id, instance)
}

// --- starting ---

interface Prepared {
  container: ContainerRecord
  task: TaskRecord
  paths: TaskPaths
  spec: RuntimeSpec
}

/**
 * Record a new task and make its bundle: the container's snapshot mounted at `rootfs/` and the
 * spec template rendered into `config.json` (seed 004). Undone completely on failure.
 */
async function prepareTask(rt: TaskRuntime, id: string, monitor: TaskRecord['monitor']): Promise<Prepared> {
  const {store, ns} = rt
  const container = store.containers.get(ns, id)
  const existing = store.tasks.find(ns, id)
  if (existing) {
    await refreshTask(rt, existing)
    throw new AlreadyExists(`task ${id}`, {suffixKind: true})
  }
  const template = readTemplate(containerDir(store.root, ns, id))
  const instance = randomBytes(8).toString('hex')
  const spec = JSON.parse(template) as RuntimeSpec
  const task = store.tasks.insert(ns, {containerId: id, instance, monitor, monitorPid: monitor === 'client' ? process.pid : 0, bootId: bootId(), terminal: spec.process?.terminal === true})
  const paths = taskPaths(store.state, ns, id)
  try {
    SnapshotService.unmountAll(paths.rootfs) // left by a run killed before its cleanup
    rmSync(paths.dir, {recursive: true, force: true})
    mkdirSync(paths.rootfs, {recursive: true, mode: 0o711})
    mkdirSync(paths.exitDir)
    if (container.snapshotter && container.snapshotKey) new SnapshotService(store, ns, container.snapshotter).mount(container.snapshotKey, paths.rootfs)
    checkExecutable(paths.rootfs, spec.process, spec.mounts, 'OCI runtime create failed')
    await prepareNetwork(rt, id)
    writeBundleSpec(paths.dir, renderSpec(template, {rootfs: paths.rootfs}))
    return {container, task, paths, spec}
  } catch (err) {
    await abandon(rt, id, instance)
    throw err
  }
}

/** Undo a task that never ran: runc state, mounts, files and the row (no events). */
async function abandon(rt: TaskRuntime, id: string, instance: string): Promise<void> {
  const paths = taskPaths(rt.store.state, rt.ns, id)
  try {
    await teardown(rt, id)
  } finally {
    rmSync(paths.dir, {recursive: true, force: true})
    rt.store.tasks.discard(rt.ns, id, instance)
  }
}

function rootfsMounts(rt: TaskRuntime, container: ContainerRecord): {type: string; source: string; options: string[]}[] {
  if (!container.snapshotter || !container.snapshotKey) return []
  return new SnapshotService(rt.store, rt.ns, container.snapshotter).mounts(container.snapshotKey).map((m) => ({type: m.type, source: m.source, options: [...m.options]}))
}

/** Write `pid` to `path` atomically (temp file + rename), as ctr's --pid-file does. */
function writePidFile(path: string, pid: number): void {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.pid`)
  writeFileSync(tmp, String(pid))
  renameSync(tmp, path)
}

/**
 * Start a detached task under conmon and return once it runs. The process's stdio go to the
 * task's log (k8s-file format); a terminal task keeps a stdin pipe for `tasks attach`.
 */
export async function startDetached(rt: TaskRuntime, id: string, options: StartOptions = {}): Promise<TaskRecord> {
  const lock = await lockTask(rt, id)
  let instance: string | undefined
  try {
    const {container, task, paths, spec} = await prepareTask(rt, id, 'conmon')
    instance = task.instance
    const terminal = spec.process?.terminal === true
    const started = await startConmon({
      conmon: rt.conmon,
      runc: rt.runc.binary,
      runcRoot: rt.runc.root,
      id,
      instance: task.instance,
      bundle: paths.dir,
      pidFile: paths.pidFile,
      conmonPidFile: paths.conmonPidFile,
      logPath: options.nullIo ? '/dev/null' : paths.log,
      exitDir: paths.exitDir,
      persistDir: paths.dir,
      terminal,
      stdin: terminal && !options.nullIo,
      exitCommand: [...rt.ctrArgv, '--namespace', rt.ns, 'tasks', 'cleanup', '--instance', task.instance, id],
    })
    rt.store.tasks.created(rt.ns, id, task.instance, {pid: started.pid, pidStart: processStartTime(started.pid), monitorPid: started.conmonPid}, {
      bundle: paths.dir,
      rootfs: rootfsMounts(rt, container),
      io: {stdout: options.nullIo ? '' : paths.log, stderr: options.nullIo ? '' : paths.log, terminal},
    })
    await rt.runc.start(id)
    if (options.pidFile) writePidFile(options.pidFile, started.pid)
    rt.store.tasks.started(rt.ns, id, task.instance)
    return rt.store.tasks.get(rt.ns, id)
  } catch (err) {
    if (instance !== undefined && rt.store.tasks.find(rt.ns, id)?.instance === instance) {
      try {
        await rt.runc.kill(id, 9, {all: true})
      } catch {
        // not running
      }
      await abandon(rt, id, instance)
    }
    throw err
  } finally {
    lock.release()
  }
}

/** Signals a foreground ctr passes on to its task (runc run forwards them to the process). */
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH']

/** The outcome of a foreground task. */
export interface ForegroundExit {
  exitStatus: number
}

/**
 * Run a task in the foreground: this process is its monitor. stdio are this process's own (or
 * /dev/null); signals sent to ctr reach the task. Resolves when the process exits, with the exit
 * recorded (`/tasks/exit`) and the task deleted (`/tasks/delete`), as ctr run and tasks start do.
 * A failure before the process started rejects (callers exit 125).
 */
export async function runForeground(rt: TaskRuntime, id: string, options: StartOptions = {}): Promise<ForegroundExit> {
  const lock = await lockTask(rt, id)
  let prepared: Prepared
  try {
    prepared = await prepareTask(rt, id, 'client')
  } finally {
    lock.release()
  }
  const {container, task, paths, spec} = prepared
  const terminal = spec.process?.terminal === true
  if (terminal && options.nullIo) {
    await abandon(rt, id, task.instance)
    throw new InvalidArgument('tty and null-io cannot be used together')
  }
  // With a memory limit runc keeps the stopped container so its cgroup's OOM counter can be read.
  const keep = (spec.linux?.resources?.memory?.limit ?? 0) > 0
  let recordedStart = false
  const recordStart = (): void => {
    if (recordedStart) return
    const pid = readPid(paths.pidFile)
    if (pid === undefined) return
    recordedStart = true
    rt.store.tasks.batch(() => {
      rt.store.tasks.created(rt.ns, id, task.instance, {pid, pidStart: processStartTime(pid)}, {bundle: paths.dir, rootfs: rootfsMounts(rt, container), io: {terminal}})
      rt.store.tasks.started(rt.ns, id, task.instance)
    })
    if (options.pidFile) writePidFile(options.pidFile, pid)
  }
  const runcArgs = ['run', ...(keep ? ['--keep'] : []), '--bundle', paths.dir, '--pid-file', paths.pidFile, id]
  const code = await superviseRunc(rt, runcArgs, {logFile: paths.runcLog, terminal, nullIo: options.nullIo, watchDir: paths.dir, pidFileName: 'pid', onPid: recordStart})
  recordStart()
  if (!recordedStart) {
    const why = runcLogError(paths.runcLog) || `runc exited with status ${code}`
    await abandon(rt, id, task.instance)
    throw new FailedPrecondition(`OCI runtime create failed: ${why}`)
  }
  const oom = keep && code === 137 && oomKilled(spec)
  rt.store.tasks.exited(rt.ns, id, task.instance, {exitStatus: code, exitedAt: nowMicros(), known: true, oom})
  // ctr deletes a foreground task as soon as it exits (run, tasks start): in the same pass.
  await finishTask(rt, id, task.instance, {remove: true})
  return {exitStatus: code}
}

/** How a foreground runc (run or exec) is supervised. */
export interface SuperviseOptions {
  /** runc's JSON log, where its own errors go (the terminal keeps only the process's output). */
  readonly logFile: string
  readonly terminal: boolean
  readonly nullIo?: boolean
  /** Called when `pidFileName` appears in `watchDir` (runc writes it just before the process runs). */
  readonly watchDir: string
  readonly pidFileName: string
  readonly onPid: () => void
}

/**
 * Run runc in the foreground with this process's stdio, in its own session (a terminal's signals
 * reach ctr only, and ctr forwards each once; runc passes them to the process). Resolves with
 * runc's exit status, which is the process's (128+N for signal N).
 */
export async function superviseRunc(rt: TaskRuntime, runcArgs: readonly string[], o: SuperviseOptions): Promise<number> {
  const fullArgs = ['--root', rt.runc.root, '--log', o.logFile, '--log-format', 'json', ...runcArgs]
  let command = rt.runc.binary
  let args = fullArgs
  if (o.terminal && !process.stdin.isTTY) {
    // runc proxies a tty only from a terminal; give it one (util-linux script) when ctr has none.
    command = 'script'
    args = ['-qefc', [rt.runc.binary, ...fullArgs].map(shellQuote).join(' '), '/dev/null']
  }
  const watcher = watch(o.watchDir, (_event, name) => {
    if (name === o.pidFileName) o.onPid()
  })
  // Under script, stdin is passed through but its end is not: script would type an EOF character
  // into the terminal, which a terminal never does on its own.
  const viaScript = command === 'script'
  const child = spawn(command, args, {stdio: o.nullIo ? 'ignore' : viaScript ? ['pipe', 'inherit', 'inherit'] : 'inherit', detached: true})
  if (viaScript && !o.nullIo) {
    child.stdin!.on('error', () => {}) // the process may exit without reading
    process.stdin.pipe(child.stdin!, {end: false})
  }
  const forward = (signal: NodeJS.Signals): void => {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
  for (const s of FORWARDED_SIGNALS) process.on(s, forward)
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on('error', (err) => reject(new FailedPrecondition(`cannot run ${command}: ${err.message}`)))
      child.on('exit', (c, signal) => resolve(c ?? 128 + (signal ? signalNumber(signal) : 0)))
    })
  } finally {
    for (const s of FORWARDED_SIGNALS) process.off(s, forward)
    watcher.close()
    if (viaScript && !o.nullIo) {
      process.stdin.unpipe(child.stdin!)
      process.stdin.pause()
      child.stdin!.destroy()
    }
  }
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`
}

function signalNumber(signal: NodeJS.Signals): number {
  return osConstants.signals[signal] ?? 0
}

/** Whether the (kept) container's memory cgroup recorded an OOM kill (cgroup v1 `oom_kill`). */
function oomKilled(spec: RuntimeSpec): boolean {
  const path = spec.linux?.cgroupsPath
  if (!path) return false
  try {
    const text = readFileSync(join('/sys/fs/cgroup/memory', path, 'memory.oom_control'), 'latin1')
    return /^oom_kill [1-9]/m.test(text)
  } catch {
    return false
  }
}

// --- stopping ---

/** Signal the task's init process (or all of its processes). */
export async function killTask(rt: TaskRuntime, id: string, signal: number, options: {all?: boolean} = {}): Promise<void> {
  const t = await getTask(rt, id)
  if (t.status === 'stopped') throw new NotFound(`process already finished`, {suffixKind: true})
  if (options.all || t.status === 'created' || t.pid <= 0) {
    await rt.runc.kill(id, signal, {all: options.all})
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
    if (t.status === 'stopped') return t
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
  if (t.status === 'running' || t.status === 'paused') {
    if (!options.force) throw new FailedPrecondition(`task must be stopped before deletion: ${t.status}`, {suffixKind: true})
    try {
      await rt.runc.kill(id, 9, {all: true})
      if (t.status === 'paused') await rt.runc.resume(id)
    } catch {
      // it may have exited meanwhile
    }
    t = await waitTask(rt, id, {timeoutMs: 10_000, intervalMs: 20})
  }
  const lock = await lockTask(rt, id)
  try {
    const current = rt.store.tasks.find(rt.ns, id)
    if (!current || current.instance !== t.instance) throw new NotFound(`no running task found: task ${id} not found`)
    if (current.status === 'created') {
      // Never started: its init waits in runc; no exit to record beyond this one.
      rt.store.tasks.exited(rt.ns, id, current.instance, {exitStatus: 0, exitedAt: nowMicros(), known: true, oom: false})
    }
    await teardown(rt, id)
    rmSync(taskPaths(rt.store.state, rt.ns, id).dir, {recursive: true, force: true})
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
  if (paused && t.status !== 'running') throw new FailedPrecondition(`task ${id} is ${t.status}, not running`, {suffixKind: true})
  if (!paused && t.status !== 'paused') throw new FailedPrecondition(`task ${id} is ${t.status}, not paused`, {suffixKind: true})
  if (paused) await rt.runc.pause(id)
  else await rt.runc.resume(id)
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
  if ((t.status === 'running' || t.status === 'paused') && !options.force) {
    throw new FailedPrecondition(`cannot delete a non stopped container: ${t.status}`)
  }
  return deleteTask(rt, id, {force: true})
}

/** Kill and delete every task of the namespace (`namespaces rm --force`). */
export async function deleteAllTasks(rt: TaskRuntime): Promise<void> {
  for (const t of rt.store.tasks.list(rt.ns)) await deleteTask(rt, t.containerId, {force: true})
}
