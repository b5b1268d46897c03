// The content store's shared lower half: the record and blob-file primitives that both the store
// (content.ts) and its ingest writers (ingest.ts) build on, so that neither imports the other's
// module back. Invariant: a content row is written only through `recordContentIn`, after its
// blob row (and so its verified file) exists.
import type {Database} from 'better-sqlite3'
import type {SharingPolicy} from '../config/index.js'
import {type Labels, sortedLabels} from '../oci/labels.js'
import {appendEvent, nowMicros, type Retention} from './event-log.js'
import {addLeaseResourceIn} from './leases.js'
import type {NamespaceStore} from './namespaces.js'

/** A blob as one namespace sees it. Times are unix microseconds. */
export interface ContentInfo {
  digest: string
  size: number
  labels: Labels
  createdAt: number
  updatedAt: number
}

/** What `openWriter` needs: a stable ref (resume key) and the descriptor being fetched. */
export interface WriterOptions {
  /** The ingest key, e.g. containerd's MakeRefKey `layer-sha256:…`; the same ref resumes. */
  ref: string
  expected: {digest: string; size: number}
  /** Labels for the content record (merged into an existing record's labels). */
  labels?: Labels
  /** Lease (in the same namespace) that the ingest and the committed content are added to. */
  leaseId?: string
  /**
   * Called when the blob cannot be recorded without its bytes, before `openWriter` waits for the
   * blob's lock and opens an ingest. A caller that holds a write transaction across calls commits
   * it here: the process holding that lock may need the database to finish.
   */
  beforeIngest?: () => void
}

/**
 * An open ingest holding the digest's lock and the ref's lock until commit, close or abort.
 * Calls are serialised; a writer that failed with DataLoss has already discarded its ingest.
 */
export interface ContentWriter {
  readonly ref: string
  /** Bytes already in the ingest: the resume point (0 for a fresh one), then bytes written. */
  readonly offset: number
  readonly total: number
  /**
   * Append bytes, hashing as it goes (the hash covers resumed bytes too); several chunks go in one
   * writev(2), without being copied into one buffer first.
   * @throws DataLoss as soon as the total would be exceeded (the ingest is discarded),
   * FailedPrecondition after commit/close/abort, Internal on I/O errors.
   */
  write(chunk: Uint8Array | readonly Uint8Array[]): Promise<void>
  /**
   * Verify size and digest (DataLoss `"<ref>" failed size validation: …` or `"<ref>" unexpected
   * digest …`, ingest discarded), fsync, rename into blobs (or, when the bytes are already on
   * disk, keep that file and drop the ingest), then in one immediate transaction: blobs row (if
   * new), this namespace's content row with labels, lease resource, `/content/create`
   * `{digest, size, mediaType}`. Releases the locks. @throws DataLoss, NotFound (lease), Internal.
   */
  commit(options?: {labels?: Labels; mediaType?: string}): Promise<ContentInfo>
  /** Keep the partial data for a later resume and release the locks. Idempotent. */
  close(): Promise<void>
  /** Discard the partial data and release the locks. Idempotent. */
  abort(): Promise<void>
}

/** Everything the content store and its writers share. */
export interface ContentContext {
  readonly db: Database
  readonly root: string
  readonly retention: Retention
  readonly namespaces: NamespaceStore
  readonly policy: SharingPolicy
}

/** Label that lets a namespace's blobs be shared into others even under the `isolated` policy. */
export const SHAREABLE_LABEL = 'containerd.io/namespace.shareable'

export interface ContentRow {
  digest: string
  size: number
  labels: string
  created_at: number
  updated_at: number
}

export const toInfo = (r: ContentRow): ContentInfo => ({
  digest: r.digest,
  size: r.size,
  labels: JSON.parse(r.labels) as Labels,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

export {blobPath} from './paths.js'

/** The per-digest lock that makes fetching, committing and deleting one blob single-flight. */
export function blobLockName(digest: string): string {
  return `blob-${digest.replace(':', '-')}`
}

/** A content row of `ns`, or undefined. */
export function contentRowIn(db: Database, ns: string, digest: string): ContentInfo | undefined {
  const row = db.prepare('SELECT digest, size, labels, created_at, updated_at FROM content WHERE namespace = ? AND digest = ?').get(ns, digest) as
    | ContentRow
    | undefined
  return row && toInfo(row)
}

/**
 * Whether `ns` may see `digest` without streaming it: the bytes are recorded on disk and either
 * the policy is `shared` or a namespace labelled shareable holds the blob. Reads only.
 */
export function canShareIn(db: Database, policy: SharingPolicy, digest: string): boolean {
  if (!db.prepare('SELECT 1 FROM blobs WHERE digest = ?').get(digest)) return false
  if (policy === 'shared') return true
  return (
    db
      .prepare(
        `SELECT 1 FROM content c JOIN namespaces n ON n.name = c.namespace
         WHERE c.digest = ? AND json_extract(n.labels, '$."${SHAREABLE_LABEL}"') = 'true' LIMIT 1`,
      )
      .get(digest) !== undefined
  )
}

/**
 * Inside the caller's write transaction: make `digest` visible in `ns` (creating the namespace),
 * merging `labels` into an existing record, adding it to the lease, and appending
 * `/content/create` when the record is new. The blobs row must exist. Returns the record.
 */
export function recordContentIn(
  ctx: ContentContext,
  ns: string,
  digest: string,
  size: number,
  options: {labels?: Labels; leaseId?: string; mediaType?: string},
): {info: ContentInfo; created: boolean} {
  const {db} = ctx
  ctx.namespaces.ensureIn(ns)
  const existing = contentRowIn(db, ns, digest)
  const now = nowMicros()
  const given = options.labels ?? {}
  let created = false
  if (!existing) {
    const labels = sortedLabels(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== '')))
    db.prepare('INSERT INTO content (namespace, digest, size, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(
      ns,
      digest,
      size,
      JSON.stringify(labels),
      now,
      now,
    )
    appendEvent(db, ns, {topic: '/content/create', digest, size, mediaType: options.mediaType}, ctx.retention)
    created = true
  } else if (Object.keys(given).length > 0) {
    const merged = mergeLabels(existing.labels, given, false)
    if (JSON.stringify(merged) !== JSON.stringify(existing.labels)) {
      db.prepare('UPDATE content SET labels = ?, updated_at = ? WHERE namespace = ? AND digest = ?').run(JSON.stringify(merged), now, ns, digest)
    }
  }
  if (options.leaseId !== undefined) addLeaseResourceIn(db, ns, options.leaseId, 'content', digest)
  return {info: contentRowIn(db, ns, digest)!, created}
}

/** `current` updated by `given` (empty values remove), or `given` alone with `replaceAll`; sorted. */
export function mergeLabels(current: Labels, given: Labels, replaceAll: boolean): Labels {
  const next: Labels = replaceAll ? {} : {...current}
  for (const [k, v] of Object.entries(given)) {
    if (v === '') delete next[k]
    else next[k] = v
  }
  return sortedLabels(next)
}
