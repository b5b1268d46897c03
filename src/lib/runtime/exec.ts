// Extra processes in a running task (`tasks exec`). The process spec is the task's own (rendered
// config.json) with the command, terminal, cwd and user replaced. In the foreground ctr supervises
// `runc exec` with its stdio, as for `run`; detached, a conmon in exec mode monitors it and its
// exit command records the exit. Files live in the task's `execs/<exec-id>/`.
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {removeTree} from '../sys/tree.js'
import {join} from 'node:path'
import {FailedPrecondition, InvalidArgument, NotFound} from '../errors/index.js'
import {validateIdentifier} from '../oci/identifiers.js'
import {type ExecRecord, nowMicros, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, UNKNOWN_EXIT_STATUS} from '../store/index.js'
import {readExitFile, startConmon} from './conmon.js'
import type {Process, RuntimeSpec} from './oci-spec.js'
import {processAlive, processStartTime, readPid} from './proc.js'
import {runcLogError} from './runc.js'
import {containerRunc} from './runtimes.js'
import {getTask, superviseRunc, taskPaths, type TaskRuntime} from './tasks.js'
import {resolveUser} from './user.js'
import {isRunning, isStopped} from '../store/task-state.js'

export interface ExecOptions {
  readonly execId: string
  readonly args: readonly string[]
  readonly terminal?: boolean
  readonly cwd?: string
  /** user[:group], resolved in the task's rootfs. */
  readonly user?: string
  readonly nullIo?: boolean
}

/** The files of one exec'd process. */
export function execPaths(state: string, ns: string, id: string, execId: string) {
  const dir = join(taskPaths(state, ns, id).execs, execId)
  return {
    dir,
    process: join(dir, 'process.json'),
    pidFile: join(dir, 'pid'),
    conmonPidFile: join(dir, 'conmon.pid'),
    exitDir: join(dir, 'exits'),
    exitFile: join(dir, 'exits', id),
    log: join(dir, 'log'),
    runcLog: join(dir, 'runc.log'),
  }
}

/** Record the exec, write its process spec, and hand back what starting it needs. */
async function prepareExec(rt: TaskRuntime, id: string, o: ExecOptions) {
  if (!o.execId) throw new InvalidArgument('exec id must be provided', {suffixKind: true})
  validateIdentifier(o.execId)
  if (o.args.length === 0) throw new InvalidArgument('command must be provided', {suffixKind: true})
  const t = await getTask(rt, id)
  if (!isRunning(t)) throw new FailedPrecondition(`cannot exec in a ${t.status} task`, {suffixKind: true})
  const paths = taskPaths(rt.store.state, rt.ns, id)
  const spec = JSON.parse(readFileSync(paths.config, 'utf8')) as RuntimeSpec
  const process: Process = {...spec.process, args: [...o.args], terminal: o.terminal === true}
  if (o.cwd !== undefined) process.cwd = o.cwd
  if (o.user !== undefined) {
    // The rendered spec's root: the mounted snapshot, or a --rootfs / --config container's own directory.
    const u = resolveUser(spec.root?.path ?? paths.rootfs, o.user)
    process.user = {uid: u.uid, gid: u.gid, ...(u.additionalGids.length > 0 ? {additionalGids: u.additionalGids} : {})}
  }
  rt.store.tasks.addExec(rt.ns, id, o.execId)
  const ep = execPaths(rt.store.state, rt.ns, id, o.execId)
  try {
    removeTree(ep.dir)
    mkdirSync(ep.exitDir, {recursive: true, mode: PRIVATE_DIR_MODE}) // in the 0700 bundle, and 0700 itself whatever the umask
    writeFileSync(ep.process, JSON.stringify(process), {mode: PRIVATE_FILE_MODE})
  } catch (err) {
    rt.store.tasks.removeExec(rt.ns, id, o.execId)
    throw err
  }
  return {task: t, ep, runc: containerRunc(rt, id)}
}

/**
 * Run a process in the task in the foreground and resolve with its exit status (the exec record
 * is deleted afterwards, as ctr does). A failure before it started rejects.
 */
export async function execForeground(rt: TaskRuntime, id: string, o: ExecOptions): Promise<number> {
  const {ep, runc} = await prepareExec(rt, id, o)
  let started = false
  const onPid = (): void => {
    if (started) return
    const pid = readPid(ep.pidFile)
    if (pid === undefined) return
    started = true
    rt.store.tasks.execStarted(rt.ns, id, o.execId, pid, processStartTime(pid))
  }
  try {
    const code = await superviseRunc(rt, ['exec', '--process', ep.process, '--pid-file', ep.pidFile, ...(o.terminal ? ['--tty'] : []), id], {
      runc,
      logFile: ep.runcLog,
      terminal: o.terminal === true,
      nullIo: o.nullIo,
      watchDir: ep.dir,
      pidFileName: 'pid',
      onPid,
    })
    onPid()
    if (!started) throw new FailedPrecondition(`OCI runtime exec failed: ${runcLogError(ep.runcLog) || `runc exited with status ${code}`}`)
    rt.store.tasks.execExited(rt.ns, id, o.execId, code, nowMicros())
    return code
  } finally {
    rt.store.tasks.removeExec(rt.ns, id, o.execId)
    removeTree(ep.dir)
  }
}

/** Start a process in the task under its own conmon and return once it runs. Output goes to its log. */
export async function execDetached(rt: TaskRuntime, id: string, o: ExecOptions): Promise<ExecRecord> {
  const {task, ep, runc} = await prepareExec(rt, id, o)
  try {
    const started = await startConmon({
      conmon: rt.conmon,
      runc: runc.binary,
      runcArgs: runc.globalArgs(),
      id,
      instance: `${task.instance}-${o.execId}`,
      bundle: ep.dir,
      pidFile: ep.pidFile,
      conmonPidFile: ep.conmonPidFile,
      logPath: o.nullIo ? '/dev/null' : ep.log,
      exitDir: ep.exitDir,
      persistDir: ep.dir,
      terminal: o.terminal === true,
      stdin: false,
      exitCommand: [...rt.ctrArgv, '--namespace', rt.ns, 'tasks', 'cleanup', '--instance', task.instance, '--exec-id', o.execId, id],
      exec: {processSpec: ep.process},
    })
    rt.store.tasks.execStarted(rt.ns, id, o.execId, started.pid, processStartTime(started.pid))
    return rt.store.tasks.findExec(rt.ns, id, o.execId)!
  } catch (err) {
    rt.store.tasks.removeExec(rt.ns, id, o.execId)
    removeTree(ep.dir)
    throw err
  }
}

/** The exec record, reconciled with its exit file and /proc. @throws NotFound. */
export async function getExec(rt: TaskRuntime, id: string, execId: string): Promise<ExecRecord> {
  const e = rt.store.tasks.findExec(rt.ns, id, execId)
  if (!e) throw new NotFound(`process ${execId}`, {suffixKind: true})
  if (isStopped(e)) return e
  const ep = execPaths(rt.store.state, rt.ns, id, execId)
  const exit = readExitFile(ep.exitFile)
  if (exit) rt.store.tasks.execExited(rt.ns, id, execId, exit.exitStatus, exit.exitedAt, exit.exitedAtNs)
  else if (isRunning(e) && !processAlive(e.pid, e.pidStart) && !processAlive(readPid(ep.conmonPidFile) ?? 0)) {
    rt.store.tasks.execExited(rt.ns, id, execId, UNKNOWN_EXIT_STATUS, nowMicros())
  }
  return rt.store.tasks.findExec(rt.ns, id, execId) ?? e
}

/** What conmon's exit command runs for an exec: record the exit of `execId` of run `instance`. */
export async function recordExec(rt: TaskRuntime, id: string, instance: string, execId: string): Promise<void> {
  const t = rt.store.tasks.find(rt.ns, id)
  if (!t || t.instance !== instance) return
  await getExec(rt, id, execId)
}

/** Signal an exec'd process. */
export async function killExec(rt: TaskRuntime, id: string, execId: string, signal: number): Promise<void> {
  const e = await getExec(rt, id, execId)
  if (!isRunning(e) || !processAlive(e.pid, e.pidStart)) throw new NotFound('process already finished', {suffixKind: true})
  process.kill(e.pid, signal)
}

/** Delete an exec'd process's record and files; `force` kills it first. */
export async function deleteExec(rt: TaskRuntime, id: string, execId: string, options: {force?: boolean} = {}): Promise<ExecRecord> {
  let e = await getExec(rt, id, execId)
  if (isRunning(e)) {
    if (!options.force) throw new FailedPrecondition(`process ${execId} must be stopped before deletion: running`, {suffixKind: true})
    try {
      process.kill(e.pid, 9)
    } catch {
      // gone meanwhile
    }
    for (let i = 0; i < 200 && isRunning(e); i++) {
      await new Promise((r) => setTimeout(r, 25))
      e = await getExec(rt, id, execId)
    }
  }
  rt.store.tasks.removeExec(rt.ns, id, execId)
  removeTree(execPaths(rt.store.state, rt.ns, id, execId).dir)
  return e
}
