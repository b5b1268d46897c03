// Start a detached task under conmon (`tasks start -d`, `run -d`): conmon outlives ctr, holds the
// process's stdio (the task log, or a stdin pipe for a terminal), writes the exit status and runs
// its exit command (exit-command.ts) to record it. A start that fails is undone completely (kill, abandon).
// A networked container's CNI ADD runs while conmon and runc create the container; runc start waits
// for it, and an ADD that fails undoes the start with the CNI error.
import {InvalidArgument} from '../errors/index.js'
import type {TaskRecord} from '../store/index.js'
import {type ConmonStarted, startConmon} from './conmon.js'
import {exitCommand} from './exit-command.js'
import {processStartTime} from './proc.js'
import {containerNoPivot} from './runtimes.js'
import {abandon, prepareTask, rootfsMounts, taskOutput, writePidFile} from './task-prepare.js'
import {lockTask, runcOf, type StartOptions, type TaskRuntime} from './task-runtime.js'

/**
 * Start a detached task under conmon and return once it runs. The process's stdio go to the
 * task's log (k8s-file format); a terminal task keeps a stdin pipe for `tasks attach`.
 */
export async function startDetached(rt: TaskRuntime, id: string, options: StartOptions = {}): Promise<TaskRecord> {
  const lock = await lockTask(rt, id)
  let instance: string | undefined
  let network: Promise<string[]> | undefined
  try {
    const prepared = await prepareTask(rt, id, 'conmon')
    const {container, task, paths, spec, runc} = prepared
    instance = task.instance
    network = prepared.network
    // A restored process runs at once: its network must be there first. Otherwise CNI ADD runs
    // while conmon has runc create the container, and runc start below waits for it.
    if (options.restore) await network
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
        exitCommand: exitCommand(rt, id, task.instance, paths, spec, runc),
        ...(options.restore ? {restore: options.restore} : {}),
      })
    } finally {
      output?.release() // conmon holds them now
    }
    const ips = await network
    const logged = options.nullIo ? '' : (output?.path ?? paths.log)
    rt.store.tasks.created(
      rt.ns,
      id,
      task.instance,
      {pid: started.pid, pidStart: processStartTime(started.pid), monitorPid: started.conmonPid},
      {
        bundle: paths.dir,
        rootfs: rootfsMounts(rt, container),
        io: {stdout: logged, stderr: logged, terminal},
        ips,
        ...(options.restore ? {checkpoint: options.restore.checkpoint ?? options.restore.imageDir} : {}),
      },
    )
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
      await network?.catch(() => {}) // DEL only after ADD is done
      await abandon(rt, id, instance)
    }
    throw err
  } finally {
    lock.release()
  }
}
