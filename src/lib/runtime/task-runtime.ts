// A task's runtime context and its fixed places: how to reach runc, conmon and ctr for a namespace,
// the files of a task's bundle, the options both ways of starting share, and the per-task lock that
// orders start, cleanup and delete of one container. No state is kept here; everything is derived.
import {join} from 'node:path'
import {acquireLock, type Lock, type Store} from '../store/index.js'
import {taskDir, usernsDir} from '../store/paths.js'
import type {LogDestination} from './flag-values.js'
import {Runc, runcRoot} from './runc.js'
import {containerRunc, findProgram} from './runtimes.js'

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
  return {
    store,
    ns,
    runc: new Runc(findProgram(store.config.runtime.runc), runcRoot(store.state, ns)),
    conmon: findProgram(store.config.runtime.conmon),
    ctrArgv,
  }
}

/**
 * The runc of container `id` for stopping and cleaning up: its recorded runtime, or the default one
 * when that no longer resolves (a binary removed since): cleanup must still be possible.
 */
export function runcOf(rt: TaskRuntime, id: string): Runc {
  try {
    return containerRunc(rt, id)
  } catch {
    return rt.runc
  }
}

/** The files of a task under `<state>/tasks/<ns>/<id>/` (also its OCI bundle). */
export function taskPaths(state: string, ns: string, id: string) {
  const dir = taskDir(state, ns, id)
  return {
    dir,
    rootfs: join(dir, 'rootfs'),
    /**
     * The rootfs mountpoint of a container with a user namespace: the mapped root must be able to
     * walk to it (runc mounts it from inside the namespace), which the 0700 bundle forbids. Its
     * chain `<state>/userns/<ns>/<id>/` is 0711, as containerd makes bundles of such containers.
     */
    usernsDir: usernsDir(state, ns, id),
    usernsRootfs: join(usernsDir(state, ns, id), 'rootfs'),
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
  readonly restore?: {
    readonly imageDir: string
    readonly workDir: string
    readonly criu: string
    readonly checkpoint?: string
    readonly tcpEstablished?: boolean
  }
  /** The container goes after this one run (`run --rm`): its rootfs is mounted volatile (snapshotter.ts). */
  readonly volatile?: boolean
}

/** Take the task's lock (start, cleanup and delete of one container are ordered by it). */
export function lockTask(rt: TaskRuntime, id: string): Promise<Lock> {
  return acquireLock(rt.store.state, `task.${rt.ns}.${id}`)
}
