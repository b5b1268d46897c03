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
import {chmodSync, existsSync, mkdirSync, readFileSync, watch, writeFileSync, renameSync} from 'node:fs'
import {removeTree} from '../sys/tree.js'
import {constants as osConstants} from 'node:os'
import {dirname, join} from 'node:path'
import {AlreadyExists, FailedPrecondition, InvalidArgument, NotFound} from '../errors/index.js'
import {SnapshotService} from '../snapshot/service.js'
import {acquireLock, type ContainerRecord, type Lock, nowMicros, PRIVATE_DIR_MODE, type Store, TRAVERSE_DIR_MODE, type TaskExit, type TaskRecord, UNKNOWN_EXIT_STATUS} from '../store/index.js'
import {type ConmonStarted, readExitFile, startConmon} from './conmon.js'
import type {LogDestination} from './flag-values.js'
import {outputStdio, startLoggingProgram, type TaskOutput} from './task-output.js'
import {containerDir} from './template.js'
import {checkExecutable} from './lookpath.js'
import {bootId, processAlive, processStartTime, readPid} from './proc.js'
import {Runc, runcLogError, runcRoot} from './runc.js'
import {containerNoPivot, containerRunc, findProgram} from './runtimes.js'
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

/** The namespace's defaults: `runc` is the configured runc (absolute: conmon insists) in Berth's state root. */
export function taskRuntime(store: Store, ns: string, ctrArgv: readonly string[]): TaskRuntime {
  return {store, ns, runc: new Runc(findProgram(store.config.runtime.runc), runcRoot(store.state, ns)), conmon: findProgram(store.config.runtime.conmon), ctrArgv}
}

/**
 * The runc of container `id` for stopping and cleaning up: its recorded runtime, or the default one
 * when that no longer resolves (a binary removed since): cleanup must still be possible.
 */
function runcOf(rt: TaskRuntime, id: string): Runc {
  try {
    return containerRunc(rt, id)
  } catch {
    return rt.runc
  }
}

/** The files of a task under `<state>/tasks/<ns>/<id>/` (also its OCI bundle). */
export function taskPaths(state: string, ns: string, id: string) {
  const dir = join(state, 'tasks', ns, id)
  return {
    dir,
    rootfs: join(dir, 'rootfs'),
    /**
     * The rootfs mountpoint of a container with a user namespace: the mapped root must be able to
     * walk to it (runc mounts it from inside the namespace), which the 0700 bundle forbids. Its
     * chain `<state>/userns/<ns>/<id>/` is 0711, as containerd makes bundles of such containers.
     */
    usernsDir: join(state, 'userns', ns, id),
    usernsRootfs: join(state, 'userns', ns, id, 'rootfs'),
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
    /** Present once a `checkpoint --exit` is about to stop the task: its exit is a clean stop. */
    checkpointed: join(dir, 'checkpointed'),
  }
}
export type TaskPaths = ReturnType<typeof taskPaths>

/** Options shared by both ways of starting a task. */
export interface StartOptions {
  /** Give the process /dev/null for stdio. */
  readonly nullIo?: boolean
  /** Write the task's pid here (atomically) once it runs. */
  readonly pidFile?: string
  /** Start without pivot_root (`--no-pivot`), besides a container that records it. */
  readonly noPivot?: boolean
  /** `--log-uri`: the process's stdout and stderr go to this file (appended) or logging program instead. */
  readonly log?: LogDestination
  /** Restore the task from a CRIU image instead of starting its process (detached only). */
  readonly restore?: {readonly imageDir: string; readonly workDir: string; readonly criu: string; readonly checkpoint?: string; readonly tcpEstablished?: boolean}
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
    removeTree(taskPaths(rt.store.state, rt.ns, id).dir)
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
  await runcOf(rt, id).delete(id, {force: true})
  SnapshotService.unmountAll(paths.rootfs)
  releaseUsernsRootfs(paths)
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

/**
 * Make the 0711 chain to a user-namespace container's rootfs mountpoint: state itself 0711 (as
 * containerd's state directory is), `userns/`, `<ns>/` and `<id>/`. Everything else in state stays
 * 0700, so the chain leads nowhere but here. @returns the mountpoint.
 */
function usernsMountpoint(state: string, paths: TaskPaths): string {
  chmodSync(state, TRAVERSE_DIR_MODE)
  for (const dir of [join(state, 'userns'), dirname(paths.usernsDir), paths.usernsDir, paths.usernsRootfs]) {
    mkdirSync(dir, {recursive: true, mode: TRAVERSE_DIR_MODE})
    chmodSync(dir, TRAVERSE_DIR_MODE) // whatever the umask made of it
  }
  return paths.usernsRootfs
}

/** Unmount and remove a user-namespace container's rootfs mountpoint, if it has one. */
function releaseUsernsRootfs(paths: TaskPaths): void {
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

// --- starting ---

interface Prepared {
  container: ContainerRecord
  task: TaskRecord
  paths: TaskPaths
  spec: RuntimeSpec
  /** The runc (binary, state root) of the container's runtime. */
  runc: Runc
}

/**
 * Record a new task and make its bundle: the container's snapshot mounted at `rootfs/` and the
 * spec template rendered into `config.json` (seed 004). A container without a snapshot (`--rootfs`,
 * `--config`) keeps its spec's absolute root path. Undone completely on failure. A runtime that does
 * not resolve fails first, before any record (containerd fails NewTask the same way).
 */
async function prepareTask(rt: TaskRuntime, id: string, monitor: TaskRecord['monitor']): Promise<Prepared> {
  const {store, ns} = rt
  const container = store.containers.get(ns, id)
  const existing = store.tasks.find(ns, id)
  if (existing) {
    await refreshTask(rt, existing)
    throw new AlreadyExists(`task ${id}`, {suffixKind: true})
  }
  const runc = containerRunc(rt, id)
  const template = readTemplate(containerDir(store.root, ns, id))
  const instance = randomBytes(8).toString('hex')
  const spec = JSON.parse(template) as RuntimeSpec
  const snapshot = Boolean(container.snapshotter && container.snapshotKey)
  const ownRoot = spec.root?.path
  if (!snapshot && (typeof ownRoot !== 'string' || !ownRoot.startsWith('/'))) {
    throw new FailedPrecondition(`container ${id} has no snapshot and its spec's root.path ${JSON.stringify(ownRoot ?? '')} is not an absolute path`)
  }
  const task = store.tasks.insert(ns, {containerId: id, instance, monitor, monitorPid: monitor === 'client' ? process.pid : 0, bootId: bootId(), terminal: spec.process?.terminal === true})
  const paths = taskPaths(store.state, ns, id)
  try {
    SnapshotService.unmountAll(paths.rootfs) // left by a run killed before its cleanup
    releaseUsernsRootfs(paths)
    removeTree(paths.dir)
    // tasks/ and tasks/<ns>/ 0700, and the bundle too: it holds the mounted rootfs (setuid
    // binaries included), the rendered spec, the log, conmon's sockets and exit files. Only root
    // may reach them (CVE-2021-41103; containerd's bundles are 0700 for the same reason).
    mkdirSync(dirname(paths.dir), {recursive: true, mode: PRIVATE_DIR_MODE})
    mkdirSync(paths.dir, {mode: PRIVATE_DIR_MODE})
    mkdirSync(paths.rootfs, {mode: PRIVATE_DIR_MODE})
    mkdirSync(paths.exitDir, {mode: PRIVATE_DIR_MODE})
    const userns = (spec.linux?.uidMappings?.length ?? 0) > 0
    const mountpoint = userns ? usernsMountpoint(store.state, paths) : paths.rootfs
    if (snapshot) new SnapshotService(store, ns, container.snapshotter!).mount(container.snapshotKey!, mountpoint)
    const rootDir = snapshot ? mountpoint : ownRoot!
    checkExecutable(rootDir, spec.process, spec.mounts ?? [], 'OCI runtime create failed')
    await prepareNetwork(rt, id)
    writeBundleSpec(paths.dir, renderSpec(template, {rootfs: rootDir}))
    return {container, task, paths, spec, runc}
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
    removeTree(paths.dir)
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
    const {container, task, paths, spec, runc} = await prepareTask(rt, id, 'conmon')
    instance = task.instance
    const terminal = spec.process?.terminal === true
    if (terminal && options.log) throw new InvalidArgument("can't use log-uri with tty")
    const output = options.nullIo ? undefined : await taskOutput(options.log, rt.ns, id)
    let started: ConmonStarted
    try {
      started = await startConmon({
        conmon: rt.conmon,
        runc: runc.binary,
        runcArgs: runc.globalArgs(),
        noPivot: options.noPivot || containerNoPivot(rt, id),
        id,
        instance: task.instance,
        bundle: paths.dir,
        pidFile: paths.pidFile,
        conmonPidFile: paths.conmonPidFile,
        logPath: options.nullIo ? '/dev/null' : output ? {passthrough: output.output} : paths.log,
        exitDir: paths.exitDir,
        persistDir: paths.dir,
        terminal,
        stdin: terminal && !options.nullIo,
        exitCommand: [...rt.ctrArgv, '--namespace', rt.ns, 'tasks', 'cleanup', '--instance', task.instance, id],
        ...(options.restore ? {restore: options.restore} : {}),
      })
    } finally {
      output?.release() // conmon holds them now
    }
    const logged = options.nullIo ? '' : (output?.path ?? paths.log)
    rt.store.tasks.created(rt.ns, id, task.instance, {pid: started.pid, pidStart: processStartTime(started.pid), monitorPid: started.conmonPid}, {
      bundle: paths.dir,
      rootfs: rootfsMounts(rt, container),
      io: {stdout: logged, stderr: logged, terminal},
      ...(options.restore ? {checkpoint: options.restore.checkpoint ?? options.restore.imageDir} : {}),
    })
    if (!options.restore) await runc.start(id) // a restored container runs already
    if (options.pidFile) writePidFile(options.pidFile, started.pid)
    rt.store.tasks.started(rt.ns, id, task.instance)
    return rt.store.tasks.get(rt.ns, id)
  } catch (err) {
    if (instance !== undefined && rt.store.tasks.find(rt.ns, id)?.instance === instance) {
      try {
        await runcOf(rt, id).kill(id, 9, {all: true})
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

/**
 * Where `--log-uri` sends a task's output: the file, or a started logging program's streams;
 * `path` is what the task record shows (the file, or the `binary://` program). Undefined without one.
 */
async function taskOutput(log: LogDestination | undefined, ns: string, id: string): Promise<{output: TaskOutput; path: string; release(): void} | undefined> {
  if (log === undefined) return undefined
  if ('file' in log) return {output: {file: log.file}, path: log.file, release: () => {}}
  const program = await startLoggingProgram(log.binary, log.args, ns, id)
  return {output: {streams: [program.stdout, program.stderr]}, path: `binary://${log.binary}`, release: program.release}
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
  const {container, task, paths, spec, runc} = prepared
  const terminal = spec.process?.terminal === true
  if (terminal && (options.nullIo || options.log)) {
    await abandon(rt, id, task.instance)
    throw new InvalidArgument(options.nullIo ? 'tty and null-io cannot be used together' : "can't use log-uri with tty")
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
  const noPivot = options.noPivot || containerNoPivot(rt, id)
  const runcArgs = ['run', ...(keep ? ['--keep'] : []), ...(noPivot ? ['--no-pivot'] : []), '--bundle', paths.dir, '--pid-file', paths.pidFile, id]
  let output: Awaited<ReturnType<typeof taskOutput>>
  try {
    output = options.nullIo ? undefined : await taskOutput(options.log, rt.ns, id)
  } catch (err) {
    await abandon(rt, id, task.instance)
    throw err
  }
  let code: number
  try {
    code = await superviseRunc(rt, runcArgs, {runc, logFile: paths.runcLog, terminal, nullIo: options.nullIo, output: output?.output, onSpawned: output?.release, watchDir: paths.dir, pidFileName: 'pid', onPid: recordStart})
  } catch (err) {
    // runc could not be run at all: nothing started, nothing to record but the undoing.
    if (!recordedStart) await abandon(rt, id, task.instance)
    throw err
  }
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
  /** The runc to run (the container's runtime); default the namespace's. */
  readonly runc?: Runc
  /** Send the process's stdout and stderr there instead of ctr's (`--log-uri`); stdin is then empty. */
  readonly output?: TaskOutput
  /** Called once runc has been started (it holds the output streams by then). */
  readonly onSpawned?: () => void
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
  const runc = o.runc ?? rt.runc
  const fullArgs = [...runc.globalArgs(), '--log', o.logFile, '--log-format', 'json', ...runcArgs]
  let command = runc.binary
  let args = fullArgs
  if (o.terminal && !process.stdin.isTTY) {
    // runc proxies a tty only from a terminal; give it one (util-linux script) when ctr has none.
    command = 'script'
    args = ['-qefc', [runc.binary, ...fullArgs].map(shellQuote).join(' '), '/dev/null']
  }
  // Under script, stdin is passed through but its end is not: script would type an EOF character
  // into the terminal, which a terminal never does on its own.
  const viaScript = command === 'script'
  // --log-uri: the file or the logging program gets stdout and stderr; there is no stdin.
  let out: ReturnType<typeof outputStdio> | undefined
  try {
    out = o.output !== undefined && !o.nullIo ? outputStdio(o.output) : undefined
  } catch (err) {
    o.onSpawned?.()
    throw err
  }
  const watcher = watch(o.watchDir, (_event, name) => {
    if (name === o.pidFileName) o.onPid()
  })
  let child: ReturnType<typeof spawn>
  try {
    const stdio = o.nullIo ? 'ignore' : out !== undefined ? ['ignore', out.stdout, out.stderr] : viaScript ? ['pipe', 'inherit', 'inherit'] : 'inherit'
    child = spawn(command, args, {stdio: stdio as never, detached: true})
  } catch (err) {
    watcher.close() // an open watcher would keep this process alive
    throw new FailedPrecondition(`cannot run ${command}: ${(err as Error).message}`, {cause: err})
  } finally {
    out?.close()
    o.onSpawned?.()
  }
  const pipedStdin = viaScript && !o.nullIo && out === undefined
  if (pipedStdin) {
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
    if (pipedStdin) {
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
      const runc = runcOf(rt, id)
      await runc.kill(id, 9, {all: true})
      if (t.status === 'paused') await runc.resume(id)
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
  if (paused && t.status !== 'running') throw new FailedPrecondition(`task ${id} is ${t.status}, not running`, {suffixKind: true})
  if (!paused && t.status !== 'paused') throw new FailedPrecondition(`task ${id} is ${t.status}, not paused`, {suffixKind: true})
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
  if ((t.status === 'running' || t.status === 'paused') && !options.force) {
    throw new FailedPrecondition(`cannot delete a non stopped container: ${t.status}`)
  }
  return deleteTask(rt, id, {force: true})
}

/** Kill and delete every task of the namespace (`namespaces rm --force`). */
export async function deleteAllTasks(rt: TaskRuntime): Promise<void> {
  for (const t of rt.store.tasks.list(rt.ns)) await deleteTask(rt, t.containerId, {force: true})
}
