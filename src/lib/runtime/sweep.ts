// What `ctr gc` releases beyond the store's rows: every task is reconciled first (a task whose
// process died while no ctr ran gets its exit recorded and its network torn down), then the
// network sweep releases attachments, pins and IPAM reservations no live owner holds — what a
// kill -9 of ctr between CNI ADD and its record, or of a whole `pods rm`, leaves behind.
import {sweepNetworks, type NetSweepReport} from '../network/index.js'
import type {Store} from '../store/index.js'
import {listTasks, type TaskRuntime} from './tasks.js'

/** Reconcile every namespace's tasks, then sweep the networks. Skipped in a dry run. */
export async function sweepRuntime(store: Store, runtimeFor: (ns: string) => Promise<TaskRuntime>): Promise<NetSweepReport> {
  for (const {name} of store.namespaces.list()) {
    if (store.tasks.list(name).length > 0) await listTasks(await runtimeFor(name))
  }
  return sweepNetworks(store, (ns, id) => {
    const t = store.tasks.find(ns, id)
    return t !== undefined && t.status !== 'stopped'
  })
}
