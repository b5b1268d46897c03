// The one list of object kinds a namespace can own. `namespaces rm` refuses while any of them
// has rows in the namespace and `--force` removes them; later kinds are added here, once.
import type {Database} from 'better-sqlite3'
import type {TopicEvent} from '../events/topics.js'

/** Publishes one event in the namespace being removed, inside the caller's transaction. */
export type Publish = (event: TopicEvent) => void

/** A kind of namespaced object, as `namespaces rm` sees it. */
export interface NamespaceOwner {
  /** The word in `must be empty, but it still has <kinds>`, e.g. `images`, `blobs`. */
  describe(db: Database, namespace: string): string[]
  /**
   * Delete every object of this kind in the namespace (inside the caller's transaction), publishing
   * the delete event each object would get if it were removed on its own.
   */
  removeAll(db: Database, namespace: string, publish: Publish): void
}

/** The delete event of one row: the columns it reads and the event built from them. */
export interface DeleteEvent {
  readonly columns: readonly string[]
  event(row: Record<string, unknown>): TopicEvent
}

/**
 * An owner backed by one table with a `namespace` column: reports `kind` when it has rows, and
 * publishes `deleted` (when the kind has a delete event) for each row it removes.
 * Kinds with side effects beyond rows (mounts, running tasks) implement NamespaceOwner directly.
 */
export function tableOwner(table: string, kind: string, deleted?: DeleteEvent): NamespaceOwner {
  return {
    describe: (db, ns) => (db.prepare(`SELECT 1 FROM ${table} WHERE namespace = ? LIMIT 1`).get(ns) ? [kind] : []),
    removeAll: (db, ns, publish) => {
      if (deleted) {
        const rows = db
          .prepare(`SELECT ${deleted.columns.join(', ')} FROM ${table} WHERE namespace = ? ORDER BY ${deleted.columns.join(', ')}`)
          .all(ns) as Record<string, unknown>[]
        for (const row of rows) publish(deleted.event(row))
      }
      db.prepare(`DELETE FROM ${table} WHERE namespace = ?`).run(ns)
    },
  }
}

/**
 * Every kind of owned object, in containerd's order (images, blobs, containers, snapshots), tasks
 * just before their containers, pods after them (a container's extras name its pod; they go with
 * the container), leases last. Leases count (containerd drops them silently with the
 * namespace): a lease is something a user made and may still rely on, so `namespaces rm` without
 * `--force` refuses and names them. Lease resources go with their lease (ON DELETE CASCADE); leases
 * have no event topic in containerd, so none is published for them.
 */
export const NAMESPACE_OWNERS: NamespaceOwner[] = [
  tableOwner('images', 'images', {columns: ['name'], event: (r) => ({topic: '/images/delete', name: String(r['name'])})}),
  tableOwner('content', 'blobs', {columns: ['digest'], event: (r) => ({topic: '/content/delete', digest: String(r['digest'])})}),
  taskRecords(),
  tableOwner('containers', 'containers', {columns: ['id'], event: (r) => ({topic: '/containers/delete', id: String(r['id'])})}),
  tableOwner('pods', 'pods', {columns: ['id'], event: (r) => ({topic: '/pods/delete', id: String(r['id'])})}),
  tableOwner('snapshots', 'snapshots', {
    columns: ['key', 'snapshotter'],
    event: (r) => ({topic: '/snapshot/remove', key: String(r['key']), snapshotter: String(r['snapshotter'])}),
  }),
  tableOwner('leases', 'leases'),
]

/**
 * Task rows go before their containers (foreign key). They never keep a namespace alive on their
 * own: a task always has a container, which is reported. Stopping the processes is the runtime's
 * job before the rows go.
 */
function taskRecords(): NamespaceOwner {
  return {
    describe: () => [],
    removeAll: (db, ns) => {
      db.prepare('DELETE FROM task_execs WHERE namespace = ?').run(ns)
      db.prepare('DELETE FROM tasks WHERE namespace = ?').run(ns)
    },
  }
}
