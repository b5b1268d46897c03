// Image records: per-namespace names pointing at a target descriptor, with labels. Each change
// appends its `/images/*` event in the same transaction; writing an image creates its namespace.
import type {Database} from 'better-sqlite3'
import {AlreadyExists, InvalidArgument, NotFound} from '../errors/index.js'
import {digestProblem} from '../oci/digest.js'
import {validateIdentifier} from '../oci/identifiers.js'
import {type Labels, sortedLabels, validateLabels} from '../oci/labels.js'
import {mergeLabels} from './content.js'
import {appendEvent, nowMicros, type Retention} from './event-log.js'
import type {NamespaceStore} from './namespaces.js'

/** The descriptor an image name points at. */
export interface ImageTarget {
  mediaType: string
  digest: string
  size: number
  annotations?: Record<string, string>
}

/** An image as stored. Times are unix microseconds. */
export interface ImageRecord {
  name: string
  target: ImageTarget
  labels: Labels
  createdAt: number
  updatedAt: number
}

/** What `put` and `create` take. */
export interface ImageInput {
  name: string
  target: ImageTarget
  labels?: Labels
}

interface ImageRow {
  name: string
  target_media_type: string
  target_digest: string
  target_size: number
  target_annotations: string | null
  labels: string
  created_at: number
  updated_at: number
}

const COLUMNS = 'name, target_media_type, target_digest, target_size, target_annotations, labels, created_at, updated_at'

const toRecord = (r: ImageRow): ImageRecord => {
  const target: ImageTarget = {mediaType: r.target_media_type, digest: r.target_digest, size: r.target_size}
  if (r.target_annotations !== null) target.annotations = JSON.parse(r.target_annotations) as Record<string, string>
  return {name: r.name, target, labels: JSON.parse(r.labels) as Labels, createdAt: r.created_at, updatedAt: r.updated_at}
}

/** Image operations over one open database. */
export class ImageStore {
  constructor(
    private readonly db: Database,
    private readonly retention: Retention,
    private readonly namespaces: NamespaceStore,
  ) {}

  /** One image. @throws NotFound `image "<name>": not found`. */
  get(ns: string, name: string): ImageRecord {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM images WHERE namespace = ? AND name = ?`).get(ns, name) as ImageRow | undefined
    if (!row) throw new NotFound(`image ${JSON.stringify(name)}`, {suffixKind: true})
    return toRecord(row)
  }

  /** One image, or undefined. */
  find(ns: string, name: string): ImageRecord | undefined {
    const row = this.db.prepare(`SELECT ${COLUMNS} FROM images WHERE namespace = ? AND name = ?`).get(ns, name) as ImageRow | undefined
    return row && toRecord(row)
  }

  /** Every image of `ns`, ordered by name. */
  list(ns: string): ImageRecord[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM images WHERE namespace = ? ORDER BY name`).all(ns) as ImageRow[]).map(toRecord)
  }

  /**
   * Create or update: an existing name gets the new target and labels (replaced, not merged).
   * Appends `/images/create` or `/images/update` `{name, labels}` (labels omitted when empty) and
   * creates the namespace when missing. @throws InvalidArgument (namespace, name, target, labels).
   */
  put(ns: string, record: ImageInput): {image: ImageRecord; created: boolean} {
    const labels = this.validate(ns, record)
    return this.db
      .transaction(() => {
        this.namespaces.ensureIn(ns)
        const created = !this.exists(ns, record.name)
        this.write(ns, record, labels, created)
        return {image: this.get(ns, record.name), created}
      })
      .immediate()
  }

  /**
   * Record several images in one transaction (an import: all or none). A new name gets its
   * labels; an existing one gets the new target and keeps its labels, with the given ones merged
   * over them (containerd's import updates only the target). Each appends `/images/create` or
   * `/images/update`; a name given twice is written twice, the later target winning.
   * @throws InvalidArgument (namespace, name, target, labels).
   */
  putAll(ns: string, records: readonly ImageInput[]): Array<{image: ImageRecord; created: boolean}> {
    const checked = records.map((r) => ({record: r, labels: this.validate(ns, r)}))
    return this.db
      .transaction(() => {
        this.namespaces.ensureIn(ns)
        return checked.map(({record, labels}) => {
          const existing = this.exists(ns, record.name) ? this.get(ns, record.name) : undefined
          this.write(ns, record, existing ? mergeLabels(existing.labels, labels, false) : labels, existing === undefined)
          return {image: this.get(ns, record.name), created: existing === undefined}
        })
      })
      .immediate()
  }

  /**
   * Create only (`images tag` without `--force`). @throws AlreadyExists
   * `image "<name>": already exists`, InvalidArgument.
   */
  create(ns: string, record: ImageInput): ImageRecord {
    const labels = this.validate(ns, record)
    return this.db
      .transaction(() => {
        this.namespaces.ensureIn(ns)
        if (this.exists(ns, record.name)) throw new AlreadyExists(`image ${JSON.stringify(record.name)}`, {suffixKind: true})
        this.write(ns, record, labels, true)
        return this.get(ns, record.name)
      })
      .immediate()
  }

  /**
   * Set labels (an empty value removes one; `replaceAll` makes `labels` the whole set) and append
   * `/images/update`. @throws NotFound, InvalidArgument (labels).
   */
  setLabels(ns: string, name: string, labels: Labels, options: {replaceAll?: boolean} = {}): ImageRecord {
    validateLabels(labels)
    return this.db
      .transaction(() => {
        const current = this.get(ns, name)
        const next = mergeLabels(current.labels, labels, options.replaceAll ?? false)
        this.db.prepare('UPDATE images SET labels = ?, updated_at = ? WHERE namespace = ? AND name = ?').run(JSON.stringify(next), nowMicros(), ns, name)
        appendEvent(this.db, ns, {topic: '/images/update', name, labels: next}, this.retention)
        return this.get(ns, name)
      })
      .immediate()
  }

  /**
   * Delete and append `/images/delete {name}`. What only this image referenced becomes
   * collectable: call `collectGarbage` afterwards. @throws NotFound.
   */
  delete(ns: string, name: string): void {
    this.db
      .transaction(() => {
        if (this.db.prepare('DELETE FROM images WHERE namespace = ? AND name = ?').run(ns, name).changes === 0) {
          throw new NotFound(`image ${JSON.stringify(name)}`, {suffixKind: true})
        }
        appendEvent(this.db, ns, {topic: '/images/delete', name}, this.retention)
      })
      .immediate()
  }

  private exists(ns: string, name: string): boolean {
    return this.db.prepare('SELECT 1 FROM images WHERE namespace = ? AND name = ?').get(ns, name) !== undefined
  }

  private write(ns: string, record: ImageInput, labels: Labels, created: boolean): void {
    const now = nowMicros()
    const {target} = record
    const annotations = target.annotations === undefined ? null : JSON.stringify(target.annotations)
    if (created) {
      this.db
        .prepare(`INSERT INTO images (namespace, ${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(ns, record.name, target.mediaType, target.digest, target.size, annotations, JSON.stringify(labels), now, now)
    } else {
      this.db
        .prepare(
          'UPDATE images SET target_media_type = ?, target_digest = ?, target_size = ?, target_annotations = ?, labels = ?, updated_at = ? WHERE ' +
            'namespace = ? AND name = ?',
        )
        .run(target.mediaType, target.digest, target.size, annotations, JSON.stringify(labels), now, ns, record.name)
    }
    appendEvent(this.db, ns, {topic: created ? '/images/create' : '/images/update', name: record.name, labels}, this.retention)
  }

  /** containerd's validateImage; returns the labels to store (sorted, empty values dropped). */
  private validate(ns: string, record: ImageInput): Labels {
    validateIdentifier(ns)
    if (!record.name) throw new InvalidArgument('image name must not be empty', {suffixKind: true})
    const given = record.labels ?? {}
    validateLabels(given)
    const {target} = record
    const problem = digestProblem(target.digest)
    if (problem !== undefined) throw new InvalidArgument(`Target.Digest ${JSON.stringify(target.digest)} invalid: ${problem}`, {suffixKind: true})
    if (!Number.isSafeInteger(target.size) || target.size <= 0) throw new InvalidArgument('Target.Size must be greater than zero', {suffixKind: true})
    if (!target.mediaType) throw new InvalidArgument('Target.MediaType must be set', {suffixKind: true})
    return sortedLabels(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== '')))
  }
}
