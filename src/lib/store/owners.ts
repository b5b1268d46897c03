// The one list of object kinds a namespace can own. `namespaces rm` refuses while any of them
// has rows in the namespace and `--force` removes them; later kinds are added here, once.
import type {Database} from 'better-sqlite3'

/** A kind of namespaced object, as `namespaces rm` sees it. */
export interface NamespaceOwner {
  /** The word in `must be empty, but it still has <kinds>`, e.g. `images`, `blobs`. */
  describe(db: Database, namespace: string): string[]
  /** Delete every object of this kind in the namespace (inside the caller's transaction). */
  removeAll(db: Database, namespace: string): void
}

/**
 * An owner backed by one table with a `namespace` column: reports `kind` when it has rows.
 * Kinds with side effects beyond rows (mounts, running tasks) implement NamespaceOwner directly.
 */
export function tableOwner(table: string, kind: string): NamespaceOwner {
  return {
    describe: (db, ns) => (db.prepare(`SELECT 1 FROM ${table} WHERE namespace = ? LIMIT 1`).get(ns) ? [kind] : []),
    removeAll: (db, ns) => void db.prepare(`DELETE FROM ${table} WHERE namespace = ?`).run(ns),
  }
}

/**
 * Every kind of owned object, in containerd's order (images, blobs, containers, snapshots), tasks
 * just before their containers, pods after them (a container's extras name its pod; they go with
 * the container).
 * Leases and ingests are not counted, as in containerd: they go with the namespace.
 */
export const NAMESPACE_OWNERS: NamespaceOwner[] = [tableOwner('images', 'images'), tableOwner('content', 'blobs'), taskRecords(), tableOwner('containers', 'containers'), tableOwner('pods', 'pods'), tableOwner('snapshots', 'snapshots')]

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

/** A kind that never keeps a namespace alive and is dropped silently with it (leases, ...). */
export interface DroppedWithNamespace {
  /** Delete every object of this kind in the namespace (inside the caller's transaction). */
  removeAll(db: Database, namespace: string): void
}

/**
 * Kinds removed with their namespace whether or not `--force` was given. Lease resources go
 * with their lease (foreign key, ON DELETE CASCADE).
 */
export const NAMESPACE_DROPPED: DroppedWithNamespace[] = [{removeAll: (db, ns) => void db.prepare('DELETE FROM leases WHERE namespace = ?').run(ns)}]
