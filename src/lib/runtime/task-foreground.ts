// Supervise a foreground task (`run`, `tasks start` without -d): this ctr is its monitor. It runs
// `runc run` with the terminal's stdio in its own session, forwards signals once, records the exit
// and deletes the task in the same pass. If this ctr is killed, reconcile finds the process gone and
// records the exit as unknown (255). `superviseRunc` is shared with a foreground exec. A networked
// container's CNI ADD runs while runc creates it; the gate hook (network-gate.ts) holds the process
// back until ADD is done.
import {spawn} from 'node:child_process'
import {readFileSync, watch} from 'node:fs'
import {constants as osConstants} from 'node:os'
import {join} from 'node:path'
import {FailedPrecondition, InvalidArgument} from '../errors/index.js'
import {nowMicros} from '../store/index.js'
import {outputStdio, type TaskOutput} from './task-output.js'
import {processStartTime, readPid} from './proc.js'
import {type Runc, runcLogError} from './runc.js'
import {containerNoPivot} from './runtimes.js'
import type {RuntimeSpec} from './oci-spec.js'
import {abandon, type Prepared, prepareTask, rootfsMounts, taskOutput, writePidFile} from './task-prepare.js'
import {finishTask} from './task-reconcile.js'
import {containerIps} from '../network/index.js'
import {runtimeStartError} from './exec-failure.js'
import {lockTask, type StartOptions, type TaskRuntime} from './task-runtime.js'

/** Signals a foreground ctr passes on to its task (runc run forwards them to the process). */
const FORWARDED_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH']

/** The outcome of a foreground task. */
export interface ForegroundExit {
  exitStatus: number
  /** What failed after the process exited (recording its exit, cleaning up): to report, not to exit with. */
  cleanupError?: unknown
}

/**
 * Run a task in the foreground: this process is its monitor. stdio are this process's own (or
 * /dev/null); signals sent to ctr reach the task. Resolves when the process exits, with the exit
 * recorded (`/tasks/exit`) and the task deleted (`/tasks/delete`), as ctr run and tasks start do.
 * A failure before the process started rejects (`run` exits 125, or 126/127 for an `ExecFailed`).
 */
export async function runForeground(rt: TaskRuntime, id: string, options: StartOptions = {}): Promise<ForegroundExit> {
  const lock = await lockTask(rt, id)
  let prepared: Prepared
  try {
    prepared = await prepareTask(rt, id, 'client', {gate: true, volatile: options.volatile})
  } catch (err) {
    lock.release()
    throw err
  }
  const {container, task, paths, spec, runc, network} = prepared
  // The task lock stays held while CNI ADD runs (runc runs meanwhile, gated): GC must not take the
  // half-made attachment for a leftover.
  network.then(lock.release, lock.release)
  // Undo a start whose process never ran, once ADD is done (DEL after ADD); ADD's own error, when
  // it failed, is what the caller is told.
  const undo = async (err?: unknown): Promise<never> => {
    const added = await network.then(
      () => undefined,
      (e: unknown) => e,
    )
    await abandon(rt, id, task.instance)
    throw added ?? err
  }
  const terminal = spec.process?.terminal === true
  if (terminal && (options.nullIo || options.log)) {
    await network.catch(() => {})
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
      rt.store.tasks.created(
        rt.ns,
        id,
        task.instance,
        {pid, pidStart: processStartTime(pid)},
        // The process runs, so ADD is done (the gate): its addresses are stored.
        {bundle: paths.dir, rootfs: rootfsMounts(rt, container), io: {terminal}, ips: containerIps(rt.store, rt.ns, id)},
      )
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
    return undo(err)
  }
  let code: number
  try {
    code = await superviseRunc(rt, runcArgs, {
      runc,
      logFile: paths.runcLog,
      terminal,
      nullIo: options.nullIo,
      output: output?.output,
      onSpawned: output?.release,
      watchDir: paths.dir,
      pidFileName: 'pid',
      onPid: recordStart,
    })
  } catch (err) {
    // runc could not be run at all: nothing started, nothing to record but the undoing.
    if (!recordedStart) return undo(err)
    throw err
  }
  recordStart()
  if (!recordedStart) {
    // A failed CNI ADD failed the gate hook: its error, not the hook's, is the one to show.
    const why = runcLogError(paths.runcLog) || `runc exited with status ${code}`
    return undo(runtimeStartError(`OCI runtime create failed: ${why}`))
  }
  // The process ran: from here on its status is the outcome, and a failing record or cleanup is
  // handed back beside it (a later command reconciles what is left), never in its place.
  try {
    const oom = keep && code === 137 && oomKilled(spec)
    rt.store.tasks.exited(rt.ns, id, task.instance, {exitStatus: code, exitedAt: nowMicros(), known: true, oom})
    // ctr deletes a foreground task as soon as it exits (run, tasks start): in the same pass.
    await finishTask(rt, id, task.instance, {remove: true})
  } catch (err) {
    return {exitStatus: code, cleanupError: err}
  }
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
