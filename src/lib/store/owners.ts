// The one list of object kinds a namespace can own. `namespaces rm` refuses while any of them
// has rows in the namespace and `--force` removes them; later kinds are added here, once.
import type {Database} from 'better-sqlite3'

/** Publishes one event in the namespace being removed, inside the caller's transaction. */
export type Publish = (topic: string, payload: Record<string, unknown>) => void

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

/** The delete event of one row: its topic and the payload built from the row's columns. */
export interface DeleteEvent {
  readonly topic: string
  readonly columns: readonly string[]
  payload(row: Record<string, unknown>): Record<string, unknown>
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
        const rows = db.prepare(`SELECT ${deleted.columns.join(', ')} FROM ${table} WHERE namespace = ? ORDER BY ${deleted.columns.join(', ')}`).all(ns) as Record<string, unknown>[]
        for (const row of rows) publish(deleted.topic, deleted.payload(row))
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
  tableOwner('images', 'images', {topic: '/images/delete', columns: ['name'], payload: (r) => ({name: r['name']})}),
  tableOwner('content', 'blobs', {topic: '/content/delete', columns: ['digest'], payload: (r) => ({digest: r['digest']})}),
  taskRecords(),
  tableOwner('containers', 'containers', {topic: '/containers/delete', columns: ['id'], payload: (r) => ({id: r['id']})}),
  tableOwner('pods', 'pods', {topic: '/pods/delete', columns: ['id'], payload: (r) => ({id: r['id']})}),
  tableOwner('snapshots', 'snapshots', {topic: '/snapshot/remove', columns: ['key', 'snapshotter'], payload: (r) => ({key: r['key'], snapshotter: r['snapshotter']})}),
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
