// Namespaces: created explicitly or on first write into them, labelled, removed only when empty
// (or with everything they own, on request). Each change appends its event in its transaction.
import type {Database} from 'better-sqlite3'
import {AlreadyExists, FailedPrecondition, NotFound} from '../errors/index.js'
import {validateIdentifier} from '../oci/identifiers.js'
import {type Labels, sortedLabels, validateLabels} from '../oci/labels.js'
import type {TopicEvent} from '../events/topics.js'
import {appendEvent, nowMicros, type Retention} from './event-log.js'
import {NAMESPACE_OWNERS, type NamespaceOwner} from './owners.js'

/** A namespace as stored. Times are unix microseconds. */
export interface NamespaceRecord {
  readonly name: string
  readonly labels: Labels
  readonly createdAt: number
  readonly updatedAt: number
}

interface NamespaceRow {
  name: string
  labels: string
  created_at: number
  updated_at: number
}

const toRecord = (r: NamespaceRow): NamespaceRecord => ({
  name: r.name,
  labels: JSON.parse(r.labels) as Labels,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

/** Namespace operations over one open database. */
export class NamespaceStore {
  constructor(
    private readonly db: Database,
    private readonly retention: Retention,
  ) {}

  /** All namespaces, ordered by name (bytewise, as containerd's bolt buckets are). */
  list(): NamespaceRecord[] {
    return (this.db.prepare('SELECT name, labels, created_at, updated_at FROM namespaces ORDER BY name').all() as NamespaceRow[]).map(toRecord)
  }

  /** One namespace. @throws NotFound. */
  get(name: string): NamespaceRecord {
    const row = this.db.prepare('SELECT name, labels, created_at, updated_at FROM namespaces WHERE name = ?').get(name) as NamespaceRow | undefined
    if (!row) throw new NotFound(`namespace ${JSON.stringify(name)}`, {suffixKind: true})
    return toRecord(row)
  }

  /**
   * Create a namespace; labels with empty values are dropped (containerd sets them one by one).
   * @throws InvalidArgument (name, labels), AlreadyExists.
   */
  create(name: string, labels: Labels = {}): NamespaceRecord {
    validateIdentifier(name)
    validateLabels(labels)
    const kept = sortedLabels(Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== '')))
    return this.db
      .transaction(() => {
        if (this.exists(name)) throw new AlreadyExists(`namespace ${JSON.stringify(name)}`, {suffixKind: true})
        this.insert(name, kept)
        return this.get(name)
      })
      .immediate()
  }

  /**
   * Set labels; an empty value removes that label. Creates the namespace when missing, as any
   * write into a namespace does. One `/namespaces/update` event for the whole change.
   * @throws InvalidArgument (name, labels).
   */
  setLabels(name: string, labels: Labels): NamespaceRecord {
    validateIdentifier(name)
    validateLabels(labels)
    return this.db
      .transaction(() => {
        this.ensureIn(name)
        const current = this.get(name)
        const next: Labels = {...current.labels}
        for (const [k, v] of Object.entries(labels)) {
          if (v === '') delete next[k]
          else next[k] = v
        }
        const sorted = sortedLabels(next)
        this.db.prepare('UPDATE namespaces SET labels = ?, updated_at = ? WHERE name = ?').run(JSON.stringify(sorted), nowMicros(), name)
        appendEvent(this.db, name, {topic: '/namespaces/update', name, labels: sorted}, this.retention)
        return this.get(name)
      })
      .immediate()
  }

  /**
   * Make sure `name` exists, inside the caller's write transaction (every namespaced write calls
   * this first). Publishes `/namespaces/create` when it had to create it. @throws InvalidArgument.
   */
  ensureIn(name: string): void {
    validateIdentifier(name)
    if (!this.exists(name)) this.insert(name, {})
  }

  /**
   * Remove a namespace. Without `force` it must own nothing (leases included); with it, everything
   * it owns goes too, each object with its delete event. Blob files and ingests are not rows of the namespace: call
   * `collectGarbage` after a forced removal to delete the bytes no namespace references any more.
   * @throws NotFound, FailedPrecondition (not empty).
   */
  remove(name: string, options: {force?: boolean; owners?: readonly NamespaceOwner[]} = {}): void {
    const owners = options.owners ?? NAMESPACE_OWNERS
    this.db
      .transaction(() => {
        if (!this.exists(name)) throw new NotFound(`namespace ${JSON.stringify(name)}`, {suffixKind: true})
        if (options.force) {
          const publish = (event: TopicEvent) => appendEvent(this.db, name, event, this.retention)
          for (const owner of owners) owner.removeAll(this.db, name, publish)
        } else {
          const kinds = owners.flatMap((o) => o.describe(this.db, name))
          if (kinds.length > 0) {
            throw new FailedPrecondition(`namespace ${JSON.stringify(name)} must be empty, but it still has ${kinds.join(', ')}`, {suffixKind: true})
          }
        }
        this.db.prepare('DELETE FROM namespaces WHERE name = ?').run(name)
        appendEvent(this.db, name, {topic: '/namespaces/delete', name}, this.retention)
      })
      .immediate()
  }

  private exists(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM namespaces WHERE name = ?').get(name) !== undefined
  }

  private insert(name: string, labels: Labels): void {
    const now = nowMicros()
    this.db.prepare('INSERT INTO namespaces (name, labels, created_at, updated_at) VALUES (?, ?, ?, ?)').run(name, JSON.stringify(labels), now, now)
    appendEvent(this.db, name, {topic: '/namespaces/create', name, labels}, this.retention)
  }
}
