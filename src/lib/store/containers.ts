// Container records: metadata only (id, image, runtime, snapshot, labels). The runtime spec
// template is a file in the container's directory, written before the row; every change records
// its `/containers/*` event in the same transaction.
import type {Database} from 'better-sqlite3'
import {AlreadyExists, InvalidArgument, NotFound} from '../errors/index.js'
import {validateIdentifier} from '../oci/identifiers.js'
import {type Labels, sortedLabels, validateLabels} from '../oci/labels.js'
import {mergeLabels} from './content.js'
import {appendEvent, nowMicros, type Retention} from './event-log.js'
import type {NamespaceStore} from './namespaces.js'

/** A container as stored. Times are unix microseconds. */
export interface ContainerRecord {
  id: string
  image: string
  runtime: {name: string; options?: unknown}
  snapshotter?: string
  snapshotKey?: string
  labels: Labels
  createdAt: number
  updatedAt: number
}

export interface ContainerInput {
  id: string
  image?: string
  runtime: {name: string; options?: unknown}
  snapshotter?: string
  snapshotKey?: string
  labels?: Labels
}

interface ContainerRow {
  id: string
  image: string
  runtime_name: string
  runtime_options: string | null
  snapshotter: string | null
  snapshot_key: string | null
  labels: string
  created_at: number
  updated_at: number
}

const COLUMNS = 'id, image, runtime_name, runtime_options, snapshotter, snapshot_key, labels, created_at, updated_at'

const toRecord = (r: ContainerRow): ContainerRecord => {
  const rec: ContainerRecord = {
    id: r.id,
    image: r.image,
    runtime: {name: r.runtime_name},
    labels: JSON.parse(r.labels) as Labels,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
  if (r.runtime_options !== null) rec.runtime.options = JSON.parse(r.runtime_options) as unknown
  if (r.snapshotter !== null) rec.snapshotter = r.snapshotter
  if (r.snapshot_key !== null) rec.snapshotKey = r.snapshot_key
  return rec
}

/** Container record operations over one open database. */
export class ContainerStore {
  constructor(
    private readonly db: Database,
    private readonly retention: Retention,
    private readonly namespaces: NamespaceStore,
  ) {}

  /** @throws NotFound `container "<id>": not found`. */
  get(ns: string, id: string): ContainerRecord {
    const found = this.find(ns, id)
    if (!found) throw new NotFound(`container ${JSON.stringify(id)}`, {suffixKind: true})
    return found
  }

  find(ns: string, id: string): ContainerRecord | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM containers WHERE namespace = ? AND id = ?`).get(ns, id) as ContainerRow | undefined
    return row && toRecord(row)
  }

  /** Every container of the namespace, ordered by id. */
  list(ns: string): ContainerRecord[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM containers WHERE namespace = ? ORDER BY id`).all(ns) as ContainerRow[]).map(toRecord)
  }

  /**
   * Insert a container with `/containers/create` {id, image, runtime{name}}, creating the
   * namespace when missing. `inTransaction` runs inside the same transaction (e.g. recording the
   * container's snapshot). @throws InvalidArgument, AlreadyExists.
   */
  create(ns: string, input: ContainerInput, inTransaction?: () => void): ContainerRecord {
    validateIdentifier(input.id)
    if (!input.runtime.name) throw new InvalidArgument('container.Runtime.Name must be set', {suffixKind: true})
    if (input.snapshotKey && !input.snapshotter)
      throw new InvalidArgument('container.Snapshotter must be set if container.SnapshotKey is set', {suffixKind: true})
    const labels = sortedLabels(input.labels ?? {})
    validateLabels(labels)
    return this.db
      .transaction(() => {
        this.namespaces.ensureIn(ns)
        if (this.find(ns, input.id)) throw new AlreadyExists(`container ${JSON.stringify(input.id)}`, {suffixKind: true})
        inTransaction?.()
        const now = nowMicros()
        this.db
          .prepare(`INSERT INTO containers (namespace, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(
            ns,
            input.id,
            input.image ?? '',
            input.runtime.name,
            input.runtime.options === undefined ? null : JSON.stringify(input.runtime.options),
            input.snapshotter ?? null,
            input.snapshotKey ?? null,
            JSON.stringify(labels),
            now,
            now,
          )
        appendEvent(this.db, ns, {topic: '/containers/create', id: input.id, image: input.image, runtime: {name: input.runtime.name}}, this.retention)
        return this.get(ns, input.id)
      })
      .immediate()
  }

  /** Set (empty value: remove) or replace labels, with `/containers/update`. @throws NotFound. */
  setLabels(ns: string, id: string, labels: Labels, options: {replaceAll?: boolean} = {}): ContainerRecord {
    return this.db
      .transaction(() => {
        const rec = this.get(ns, id)
        const next = sortedLabels(mergeLabels(rec.labels, labels, options.replaceAll ?? false))
        validateLabels(next)
        this.db.prepare('UPDATE containers SET labels = ?, updated_at = ? WHERE namespace = ? AND id = ?').run(JSON.stringify(next), nowMicros(), ns, id)
        appendEvent(this.db, ns, {topic: '/containers/update', id, image: rec.image, labels: next, snapshotKey: rec.snapshotKey}, this.retention)
        return this.get(ns, id)
      })
      .immediate()
  }

  /** Delete the record with `/containers/delete`; `inTransaction` runs first in the same transaction. @throws NotFound. */
  delete(ns: string, id: string, inTransaction?: (rec: ContainerRecord) => void): ContainerRecord {
    return this.db
      .transaction(() => {
        const rec = this.get(ns, id)
        inTransaction?.(rec)
        this.db.prepare('DELETE FROM containers WHERE namespace = ? AND id = ?').run(ns, id)
        appendEvent(this.db, ns, {topic: '/containers/delete', id}, this.retention)
        return rec
      })
      .immediate()
  }
}
