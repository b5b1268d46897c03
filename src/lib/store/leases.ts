// Leases: per-namespace GC roots that hold content, ingests and snapshots while work is in
// flight; an expired lease holds nothing and GC deletes it, and so is a lease whose owning process
// (`owner`, process-owner.ts) has died. Leases never keep a namespace alive
// and are dropped with it; their resources go with them (ON DELETE CASCADE).
import type {Database} from 'better-sqlite3'
import {AlreadyExists, InvalidArgument, isNotFound, NotFound} from '../errors/index.js'
import {fromSystemError} from '../errors/errno.js'
import {validateIdentifier} from '../oci/identifiers.js'
import {type Labels, sortedLabels, validateLabels} from '../oci/labels.js'
import {nowMicros} from './event-log.js'
import type {NamespaceStore} from './namespaces.js'
import {processOwner} from './process-owner.js'
import {randomBytes} from '../sys/random.js'

/** A lease as stored. Times are unix microseconds; no `expiresAt` means it never expires. */
export interface LeaseRecord {
  id: string
  labels: Labels
  createdAt: number
  expiresAt?: number
  /** The owner id of the process the lease lives for; GC deletes the lease once it has died. */
  owner?: string
}

/** What a lease can hold: a blob (by digest), a snapshot (by key) or an ingest (by ref). */
export type LeaseResourceKind = 'content' | 'snapshot' | 'ingest'

/** One thing a lease holds. */
export interface LeaseResource {
  kind: LeaseResourceKind
  ref: string
}

/** containerd's label for a lease's expiry (RFC3339); read when `expiresAt` is not given. */
export const EXPIRE_LABEL = 'containerd.io/gc.expire'

/** How long `withLease` leases live by default, as containerd's client.WithLease: 24 h. */
export const DEFAULT_LEASE_MS = 24 * 3600 * 1000

const KINDS: readonly string[] = ['content', 'snapshot', 'ingest']

interface LeaseRow {
  id: string
  labels: string
  created_at: number
  expires_at: number | null
  owner: string | null
}

const toRecord = (r: LeaseRow): LeaseRecord => {
  const record: LeaseRecord = {id: r.id, labels: JSON.parse(r.labels) as Labels, createdAt: r.created_at}
  if (r.expires_at !== null) record.expiresAt = r.expires_at
  if (r.owner !== null) record.owner = r.owner
  return record
}

/**
 * A lease id the way containerd's `leases.WithRandomID` makes one: the nanoseconds of the current
 * second, a dash, and 3 random bytes in URL-safe base64 (redrawn until it is a valid identifier).
 */
export function generateLeaseId(): string {
  for (;;) {
    const nanos = Number(process.hrtime.bigint() % 1_000_000_000n)
    const id = `${nanos}-${randomBytes(3).toString('base64url')}`
    try {
      validateIdentifier(id)
      return id
    } catch {
      // `-` or `_` at the end or doubled: draw again.
    }
  }
}

/** Inside a transaction (or alone): @throws NotFound `lease "<id>": not found` unless it exists in `ns`. */
export function assertLeaseIn(db: Database, ns: string, id: string): void {
  if (!db.prepare('SELECT 1 FROM leases WHERE namespace = ? AND id = ?').get(ns, id)) throw leaseNotFound(id)
}

/** Inside the caller's write transaction: add a resource to a lease (idempotent). @throws NotFound. */
export function addLeaseResourceIn(db: Database, ns: string, id: string, kind: LeaseResourceKind, ref: string): void {
  assertLeaseIn(db, ns, id)
  db.prepare('INSERT INTO lease_resources (namespace, lease_id, kind, ref) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING').run(ns, id, kind, ref)
}

/** Lease operations over one open database. Leases publish no events (containerd has none). */
export class LeaseStore {
  constructor(
    private readonly db: Database,
    private readonly namespaces: NamespaceStore,
  ) {}

  /**
   * Create a lease (implicitly creating the namespace). `id` defaults to a generated one;
   * `expiresAt` (unix microseconds, null = never) defaults to the `containerd.io/gc.expire`
   * label when that is a valid time, else never. Empty label values are dropped.
   * @throws InvalidArgument (namespace, id, labels), AlreadyExists `lease "<id>": already exists`.
   */
  create(ns: string, options: {id?: string; labels?: Labels; expiresAt?: number | null; owner?: string} = {}): LeaseRecord {
    validateIdentifier(ns)
    const id = options.id ?? generateLeaseId()
    validateIdentifier(id)
    const given = options.labels ?? {}
    validateLabels(given)
    const labels = sortedLabels(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== '')))
    let expiresAt = options.expiresAt
    if (expiresAt === undefined && labels[EXPIRE_LABEL] !== undefined) {
      const ms = Date.parse(labels[EXPIRE_LABEL])
      expiresAt = Number.isFinite(ms) ? ms * 1000 : null // containerd ignores an invalid value
    }
    if (expiresAt !== undefined && expiresAt !== null && !Number.isFinite(expiresAt)) {
      throw new InvalidArgument(`invalid lease expiry ${String(expiresAt)}`, {suffixKind: true})
    }
    return this.db
      .transaction(() => {
        this.namespaces.ensureIn(ns)
        if (this.db.prepare('SELECT 1 FROM leases WHERE namespace = ? AND id = ?').get(ns, id)) {
          throw new AlreadyExists(`lease ${JSON.stringify(id)}`, {suffixKind: true})
        }
        this.db
          .prepare('INSERT INTO leases (namespace, id, labels, created_at, expires_at, owner) VALUES (?, ?, ?, ?, ?, ?)')
          .run(ns, id, JSON.stringify(labels), nowMicros(), expiresAt === undefined || expiresAt === null ? null : Math.round(expiresAt), options.owner ?? null)
        return this.get(ns, id)
      })
      .immediate()
  }

  /** Every lease of `ns` (expired ones too, until GC removes them), ordered by id. */
  list(ns: string): LeaseRecord[] {
    return (this.db.prepare('SELECT id, labels, created_at, expires_at, owner FROM leases WHERE namespace = ? ORDER BY id').all(ns) as LeaseRow[]).map(toRecord)
  }

  /** One lease. @throws NotFound `lease "<id>": not found`. */
  get(ns: string, id: string): LeaseRecord {
    const row = this.db.prepare('SELECT id, labels, created_at, expires_at, owner FROM leases WHERE namespace = ? AND id = ?').get(ns, id) as
      | LeaseRow
      | undefined
    if (!row) throw leaseNotFound(id)
    return toRecord(row)
  }

  /**
   * Delete a lease and its resource list. What it held becomes collectable: call
   * `collectGarbage` afterwards. @throws NotFound.
   */
  delete(ns: string, id: string): void {
    if (this.db.prepare('DELETE FROM leases WHERE namespace = ? AND id = ?').run(ns, id).changes === 0) throw leaseNotFound(id)
  }

  /** Add a resource to a lease (idempotent). @throws NotFound (lease), InvalidArgument (kind, empty ref). */
  addResource(ns: string, id: string, kind: LeaseResourceKind, ref: string): void {
    if (!KINDS.includes(kind)) throw new InvalidArgument(`unsupported lease resource type ${JSON.stringify(kind)}`, {suffixKind: true})
    if (ref === '') throw new InvalidArgument('lease resource ref must not be empty', {suffixKind: true})
    this.db.transaction(() => addLeaseResourceIn(this.db, ns, id, kind, ref)).immediate()
  }

  /** Remove a resource from a lease (no error when it was not there). @throws NotFound (lease). */
  deleteResource(ns: string, id: string, kind: LeaseResourceKind, ref: string): void {
    this.db
      .transaction(() => {
        assertLeaseIn(this.db, ns, id)
        this.db.prepare('DELETE FROM lease_resources WHERE namespace = ? AND lease_id = ? AND kind = ? AND ref = ?').run(ns, id, kind, ref)
      })
      .immediate()
  }

  /** What a lease holds, ordered by kind then ref. @throws NotFound. */
  resources(ns: string, id: string): LeaseResource[] {
    assertLeaseIn(this.db, ns, id)
    return this.db.prepare('SELECT kind, ref FROM lease_resources WHERE namespace = ? AND lease_id = ? ORDER BY kind, ref').all(ns, id) as LeaseResource[]
  }
}

/**
 * Run `fn` under a fresh lease in `ns` that expires after `expiresInMs` (default 24 h), so GC keeps
 * whatever `fn` commits before something else references it. The lease belongs to this process:
 * on success it is deleted; on error it is kept while the process lives (a retry within it finds
 * its blobs), and once the process has exited or been killed the next GC deletes it at once, with
 * the process's partial ingests — a pull retried before that still resumes from them. Whatever
 * must outlive the lease (the image record) has to be written inside `fn`, before the lease goes.
 * @throws whatever `fn` throws; InvalidArgument (namespace).
 */
export async function withLease<T>(
  store: {readonly leases: LeaseStore; readonly root: string},
  ns: string,
  fn: (leaseId: string) => Promise<T>,
  options: {expiresInMs?: number; labels?: Labels} = {},
): Promise<T> {
  let owner: string
  try {
    owner = processOwner(store.root)
  } catch (err) {
    throw fromSystemError(err, 'cannot record the owner of a lease')
  }
  const lease = store.leases.create(ns, {labels: options.labels, expiresAt: nowMicros() + (options.expiresInMs ?? DEFAULT_LEASE_MS) * 1000, owner})
  const result = await fn(lease.id)
  try {
    store.leases.delete(ns, lease.id)
  } catch (err) {
    if (!isNotFound(err)) throw err // an expired lease may already have been collected
  }
  return result
}

function leaseNotFound(id: string): NotFound {
  return new NotFound(`lease ${JSON.stringify(id)}`, {suffixKind: true})
}
