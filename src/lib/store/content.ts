// The content store: blob bytes live once under `content/blobs/<alg>/<hex>` for every namespace,
// and a namespace sees a blob only through its own `content` row; a row exists only after its
// file was verified, fsynced and renamed into place, and every change records its event in the
// same transaction.
import {readFileSync} from 'node:fs'
import {InvalidArgument, NotFound} from '../errors/index.js'
import {parseDigest} from '../oci/digest.js'
import {validateIdentifier} from '../oci/identifiers.js'
import {type Labels, validateLabels} from '../oci/labels.js'
import {
  blobLockName,
  blobPath,
  canShareIn,
  type ContentContext,
  type ContentInfo,
  type ContentRow,
  contentRowIn,
  type ContentWriter,
  mergeLabels,
  recordContentIn,
  toInfo,
  type WriterOptions,
} from './content-records.js'
import {appendEvent, nowMicros} from './event-log.js'
import {discardIngest, type IngestListing, type IngestStatus, listIngests, openIngestWriter} from './ingest.js'
import {assertLeaseIn} from './leases.js'
import {acquireLock} from './locks.js'

export type {Labels} from '../oci/labels.js'
export type {IngestStatus} from './ingest.js'
// The lower half, re-exported: importers of the content store need not know where it lives.
export {blobLockName, blobPath, canShareIn, contentRowIn, mergeLabels, recordContentIn, SHAREABLE_LABEL} from './content-records.js'
export type {ContentContext, ContentInfo, ContentWriter, WriterOptions} from './content-records.js'

/** The outcome of `openWriter`: nothing to do, recorded without bytes, or bytes to stream. */
export type OpenWriterResult = {status: 'exists'; info: ContentInfo} | {status: 'shared'; info: ContentInfo} | {status: 'write'; writer: ContentWriter}

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
    return (
      this.ctx.db.prepare('SELECT digest, size, labels, created_at, updated_at FROM content WHERE namespace = ? ORDER BY digest').all(ns) as ContentRow[]
    ).map(toInfo)
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
    options.beforeIngest?.()
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

  /**
   * In-progress ingests of every namespace (see `IngestStatus.namespace`), ordered by ref, each
   * with its owner's pid and liveness when it records one.
   */
  activeIngests(filter?: (s: IngestStatus) => boolean): ActiveIngest[] {
    const all = listIngests(this.ctx.root)
      .filter((i): i is IngestListing & {status: IngestStatus} => i.status !== undefined)
      .map((i): ActiveIngest => (i.owner ? {...i.status, ownerPid: i.owner.pid, ownerAlive: i.owner.alive} : i.status))
    return filter ? all.filter(filter) : all
  }

  /**
   * `content rm` of one argument: the content record of a digest visible in `ns`, else the ingest
   * of that ref (see `discardIngest`). @throws NotFound (neither), InvalidArgument (not a digest
   * and no such ingest), FailedPrecondition (an ingest in use).
   */
  async remove(ns: string, arg: string): Promise<'content' | 'ingest'> {
    let digest: string | undefined
    let invalid: unknown
    try {
      digest = parseDigest(arg)
    } catch (err) {
      invalid = err
    }
    if (digest !== undefined && this.has(ns, digest)) {
      this.delete(ns, digest)
      return 'content'
    }
    const ingest = this.activeIngests((s) => s.ref === arg && (s.namespace === undefined || s.namespace === ns))
    if (ingest.length === 0) {
      if (invalid !== undefined) throw invalid
      throw notFound(digest!)
    }
    await discardIngest(this.ctx, ns, arg)
    return 'ingest'
  }

  /**
   * containerd's `content prune references`: drop the layer reference labels
   * (`containerd.io/gc.ref.content.l.*`, and the legacy `containerd.io/gc.ref.content.<n>` with
   * n > 0) from every record of `ns`, so that layers stay only as long as something else holds
   * them. Returns what was (or, with `dryRun`, would be) removed, ordered by digest and label.
   */
  pruneReferences(ns: string, options: {dryRun?: boolean} = {}): Array<{digest: string; label: string}> {
    const {db} = this.ctx
    return db
      .transaction(() => {
        const removed: Array<{digest: string; label: string}> = []
        for (const info of this.list(ns)) {
          const labels = Object.keys(info.labels).filter(isLayerLabel).sort()
          if (labels.length === 0) continue
          for (const label of labels) removed.push({digest: info.digest, label})
          if (options.dryRun) continue
          const next = {...info.labels}
          for (const label of labels) delete next[label]
          db.prepare('UPDATE content SET labels = ?, updated_at = ? WHERE namespace = ? AND digest = ?').run(JSON.stringify(next), nowMicros(), ns, info.digest)
        }
        return removed
      })
      .immediate()
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

/** An ingest as `content active` shows it: its status plus its owner, when it records one. */
export interface ActiveIngest extends IngestStatus {
  ownerPid?: number
  /** False once the owning process has exited: the next `ctr gc` removes the ingest. */
  ownerAlive?: boolean
}

const LAYER_PREFIX = 'containerd.io/gc.ref.content.l.'
const CONTENT_PREFIX = 'containerd.io/gc.ref.content.'

/** containerd's isLayerLabel (cmd/ctr/commands/content/prune.go). */
function isLayerLabel(key: string): boolean {
  if (key.startsWith(LAYER_PREFIX)) return true
  if (!key.startsWith(CONTENT_PREFIX)) return false
  const rest = key.slice(CONTENT_PREFIX.length)
  return /^[0-9]*$/.test(rest) && rest !== '0'
}

function notFound(digest: string): NotFound {
  return new NotFound(`content digest ${digest}`, {suffixKind: true})
}
