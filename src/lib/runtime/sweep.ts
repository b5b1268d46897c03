// What `ctr gc` releases beyond the store's rows: every task is reconciled first (a task whose
// process died while no ctr ran gets its exit recorded and its network torn down), then the
// network sweep releases attachments, pins and IPAM reservations no live owner holds — what a
// kill -9 of ctr between CNI ADD and its record, or of a whole `pods rm`, leaves behind.
import {sweepNetworks, type NetSweepReport} from '../network/index.js'
import {acquireLock, type Store} from '../store/index.js'
import {refreshTask, type TaskRuntime} from './tasks.js'
import {isUnfinished} from '../store/task-state.js'

/**
 * Reconcile every namespace's unfinished tasks, then sweep the networks. A task whose lock is
 * held is being started, cleaned up or deleted by another process right now: it is left alone
 * (a start in progress has no process yet and must not be taken for a dead task).
 */
export async function sweepRuntime(store: Store, runtimeFor: (ns: string) => Promise<TaskRuntime>): Promise<NetSweepReport> {
  for (const {name} of store.namespaces.list()) {
    const open = store.tasks.list(name).filter(isUnfinished)
    if (open.length === 0) continue
    const rt = await runtimeFor(name)
    for (const t of open) {
      let lock
      try {
        lock = await acquireLock(store.state, `task.${name}.${t.containerId}`, {timeoutMs: 0})
      } catch {
        continue
      }
      lock.release() // refreshTask's clean-up takes it again itself
      await refreshTask(rt, t)
    }
  }
  return sweepNetworks(store, (ns, id) => {
    const t = store.tasks.find(ns, id)
    return t !== undefined && isUnfinished(t)
  })
}
