// The command conmon runs when a detached task's process exits. For a task whose teardown is plain
// (the common case), that is berth-exit (native/exit-recorder.c): it records the exit, publishes
// /tasks/exit, removes runc's state and unmounts the rootfs without a Node start-up, which cost
// more CPU than the rest of the exit path together. Anything else gets `ctr tasks cleanup`, which
// berth-exit also hands over to when something on the way surprises it.
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {distDir} from '../sys/index.js'
import {locksDir, metaDbPath} from '../store/paths.js'
import {hasContainerNetwork} from '../network/index.js'
import type {RuntimeSpec} from './oci-spec.js'
import type {Runc} from './runc.js'
import type {TaskPaths, TaskRuntime} from './task-runtime.js'

/** Where the build puts berth-exit, if it is there. */
export function exitRecorderPath(): string | undefined {
  const dist = distDir()
  const path = dist && join(dist, 'native', 'berth-exit')
  return path && existsSync(path) ? path : undefined
}

/**
 * Whether berth-exit can do the whole teardown of this task, as teardown() and Runc.deleteExited
 * would: no network of the container's own (CNI DEL), no user-namespace rootfs, runc itself with
 * cgroupfs, a PID namespace of its own (the kernel ends every process with init), no poststop
 * hooks and no RDT group.
 */
export function plainTeardown(rt: TaskRuntime, id: string, paths: TaskPaths, spec: RuntimeSpec, runc: Runc): boolean {
  if (!runc.isRunc() || runc.options.systemdCgroup) return false
  if ((spec.hooks?.['poststop']?.length ?? 0) > 0 || spec.linux?.intelRdt !== undefined) return false
  if (!spec.linux?.namespaces?.some((n) => n.type === 'pid' && !n.path)) return false
  if (existsSync(paths.usernsDir)) return false
  return !hasContainerNetwork(rt.store, rt.ns, id)
}

/** conmon's exit command for the task: berth-exit when it can do the work, else `ctr tasks cleanup`. */
export function exitCommand(rt: TaskRuntime, id: string, instance: string, paths: TaskPaths, spec: RuntimeSpec, runc: Runc): string[] {
  const cleanup = [...rt.ctrArgv, '--namespace', rt.ns, 'tasks', 'cleanup', '--instance', instance, id]
  const recorder = exitRecorderPath()
  if (recorder === undefined || !plainTeardown(rt, id, paths, spec, runc)) return cleanup
  const {store, ns} = rt
  return [
    recorder,
    metaDbPath(store.root),
    paths.dir,
    join(runc.root, id),
    join(locksDir(store.state), `task.${ns}.${id}`),
    ns,
    id,
    instance,
    String(store.retention.maxRows),
    String(store.retention.maxAgeSeconds),
    '--',
    ...cleanup,
  ]
}
