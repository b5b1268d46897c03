// The content store: blob bytes live once under `content/blobs/<alg>/<hex>` for every namespace,
// and a namespace sees a blob only through its own `content` row; a row exists only after its
// file was verified, fsynced and renamed into place, and every change records its event in the
// same transaction.
import {readFileSync} from 'node:fs'
import type {Database} from 'better-sqlite3'
import type {SharingPolicy} from '../config/index.js'
import {InvalidArgument, NotFound} from '../errors/index.js'
import {parseDigest} from '../oci/digest.js'
import {validateIdentifier} from '../oci/identifiers.js'
import {type Labels, sortedLabels, validateLabels} from '../oci/labels.js'
import {appendEvent, nowMicros, type Retention} from './event-log.js'
import {type IngestStatus, openIngestWriter, readIngests} from './ingest.js'
import {addLeaseResourceIn, assertLeaseIn} from './leases.js'
import {acquireLock} from './locks.js'
import type {NamespaceStore} from './namespaces.js'
import {blobPath} from './paths.js'

export type {Labels} from '../oci/labels.js'
export type {IngestStatus} from './ingest.js'

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
}

/** The outcome of `openWriter`: nothing to do, recorded without bytes, or bytes to stream. */
export type OpenWriterResult =
  | {status: 'exists'; info: ContentInfo}
  | {status: 'shared'; info: ContentInfo}
  | {status: 'write'; writer: ContentWriter}

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
   * Append bytes, hashing as it goes (the hash covers resumed bytes too).
   * @throws DataLoss as soon as the total would be exceeded (the ingest is discarded),
   * FailedPrecondition after commit/close/abort, Internal on I/O errors.
   */
  write(chunk: Uint8Array): Promise<void>
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

interface ContentRow {
  digest: string
  size: number
  labels: string
  created_at: number
  updated_at: number
}

const toInfo = (r: ContentRow): ContentInfo => ({
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
  const row = db.prepare('SELECT digest, size, labels, created_at, updated_at FROM content WHERE namespace = ? AND digest = ?').get(ns, digest) as ContentRow | undefined
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
    db.prepare('INSERT INTO content (namespace, digest, size, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)').run(ns, digest, size, JSON.stringify(labels), now, now)
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

/** Content operations over one open store. Namespaced reads see only that namespace's records. */
export class ContentStore {
  constructor(private readonly ctx: ContentContext) {}

  /** The record of `digest` in `ns`. @throws NotFound `content digest <dgst>: not found`. */
  info(ns: string, digest: string): ContentInfo {
    const info = contentRowIn(this.ctx.db, ns, digest)
    if (!info) throw notFound(digest)
    return info
  }

  /** Is `digest` visible in `ns`? */
  has(ns: string, digest: string): boolean {
    return contentRowIn(this.ctx.db, ns, digest) !== undefined
  }

  /** Every record of `ns`, ordered by digest. */
  list(ns: string): ContentInfo[] {
    return (this.ctx.db.prepare('SELECT digest, size, labels, created_at, updated_at FROM content WHERE namespace = ? ORDER BY digest').all(ns) as ContentRow[]).map(toInfo)
  }

  /** Records of `ns` whose label `key` has `value`, ordered by digest (e.g. compressed forms of a layer). */
  findByLabel(ns: string, key: string, value: string): ContentInfo[] {
    return (
      this.ctx.db
        .prepare('SELECT digest, size, labels, created_at, updated_at FROM content WHERE namespace = ? AND json_extract(labels, ?) = ? ORDER BY digest')
        .all(ns, `$.${JSON.stringify(key)}`, value) as ContentRow[]
    ).map(toInfo)
  }

  /** Path to the bytes, only if visible in `ns`. @throws NotFound, InvalidArgument (digest). */
  path(ns: string, digest: string): string {
    this.info(ns, digest)
    return blobPath(this.ctx.root, digest)
  }

  /** The whole blob (manifests, configs). @throws NotFound (also when the file is missing). */
  readBytes(ns: string, digest: string): Buffer {
    const path = this.path(ns, digest)
    try {
      return readFileSync(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(`content digest ${digest}: blob file missing`, {cause: err, suffixKind: true})
      throw err
    }
  }

  /**
   * The bytes of a blob this store holds on disk whether or not `ns`'s view has it: for reading a
   * document the namespace may share (`canShare`) before recording it. @throws NotFound.
   */
  readShareable(digest: string): Buffer {
    if (!this.ctx.db.prepare('SELECT 1 FROM blobs WHERE digest = ?').get(digest)) throw notFound(digest)
    try {
      return readFileSync(blobPath(this.ctx.root, digest))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(`content digest ${digest}: blob file missing`, {cause: err, suffixKind: true})
      throw err
    }
  }

  /**
   * Set labels on a record (an empty value removes that label; `replaceAll` makes `labels` the
   * whole set). containerd publishes no event for a content update; neither do we.
   * @throws NotFound, InvalidArgument (labels).
   */
  setLabels(ns: string, digest: string, labels: Labels, options: {replaceAll?: boolean} = {}): ContentInfo {
    validateLabels(labels)
    const {db} = this.ctx
    return db
      .transaction(() => {
        const current = this.info(ns, digest)
        const next = mergeLabels(current.labels, labels, options.replaceAll ?? false)
        db.prepare('UPDATE content SET labels = ?, updated_at = ? WHERE namespace = ? AND digest = ?').run(JSON.stringify(next), nowMicros(), ns, digest)
        return this.info(ns, digest)
      })
      .immediate()
  }

  /**
   * Remove the record from `ns` and append `/content/delete {digest}`. The bytes stay until
   * `collectGarbage` finds no namespace referencing them. @throws NotFound.
   */
  delete(ns: string, digest: string): void {
    const {db} = this.ctx
    db.transaction(() => {
      if (db.prepare('DELETE FROM content WHERE namespace = ? AND digest = ?').run(ns, digest).changes === 0) throw notFound(digest)
      appendEvent(db, ns, {topic: '/content/delete', digest}, this.ctx.retention)
    }).immediate()
  }

  /**
   * Make `options.expected` visible in `ns`: `exists` when it already is (labels merged, lease
   * added), `shared` when the policy lets this namespace record bytes already on disk (nothing
   * transferred), else `write` with a writer holding the digest's lock (single-flight across
   * processes and namespaces) and the ref's lock, positioned at the resume offset. Waits while
   * another process writes the same digest, then re-checks. Creates the namespace.
   * @throws InvalidArgument (ref, digest, size, labels, namespace), NotFound (lease), Internal.
   */
  async openWriter(ns: string, options: WriterOptions): Promise<OpenWriterResult> {
    validateIdentifier(ns)
    if (!options.ref) throw new InvalidArgument('ref must not be empty', {suffixKind: true})
    const {digest, size} = options.expected
    parseDigest(digest)
    if (!Number.isSafeInteger(size) || size < 0) throw new InvalidArgument(`invalid expected size ${size} for ${digest}`, {suffixKind: true})
    validateLabels(options.labels ?? {})
    if (options.leaseId !== undefined) assertLeaseIn(this.ctx.db, ns, options.leaseId)

    const fast = this.recordWithoutBytes(ns, options)
    if (fast) return fast
    const blobLock = await acquireLock(this.ctx.root, blobLockName(digest))
    try {
      // Another process may have finished this blob while we waited.
      const again = this.recordWithoutBytes(ns, options)
      if (again) {
        blobLock.release()
        return again
      }
      return {status: 'write', writer: await openIngestWriter(this.ctx, ns, options, blobLock)}
    } catch (err) {
      blobLock.release()
      throw err
    }
  }

  /** In-progress ingests of every namespace (see `IngestStatus.namespace`), ordered by ref. */
  activeIngests(filter?: (s: IngestStatus) => boolean): IngestStatus[] {
    const all = readIngests(this.ctx.root)
      .filter((i) => i.status !== undefined)
      .map((i) => i.status!)
    return filter ? all.filter(filter) : all
  }

  /** Would `ns` be allowed to see `digest` without transferring bytes (policy + bytes present)? */
  canShare(ns: string, digest: string): boolean {
    void ns // the decision depends on the policy and on other namespaces, not on ns itself
    return canShareIn(this.ctx.db, this.ctx.policy, digest)
  }

  /** The `exists` / `shared` outcomes, in one immediate transaction; undefined means stream. */
  private recordWithoutBytes(ns: string, options: WriterOptions): OpenWriterResult | undefined {
    const {db} = this.ctx
    const {digest, size} = options.expected
    return db
      .transaction((): OpenWriterResult | undefined => {
        if (contentRowIn(db, ns, digest)) {
          const {info} = recordContentIn(this.ctx, ns, digest, size, options)
          return {status: 'exists', info}
        }
        const blob = db.prepare('SELECT size FROM blobs WHERE digest = ?').get(digest) as {size: number} | undefined
        if (!blob || blob.size !== size || !canShareIn(db, this.ctx.policy, digest)) return undefined
        const {info} = recordContentIn(this.ctx, ns, digest, size, options)
        return {status: 'shared', info}
      })
      .immediate()
  }
}

function notFound(digest: string): NotFound {
  return new NotFound(`content digest ${digest}`, {suffixKind: true})
}
