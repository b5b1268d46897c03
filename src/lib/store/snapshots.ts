// Snapshot metadata: per-namespace records (key -> directory) over snapshot directories that
// committed layers share between namespaces. Only rows live here; the directories themselves are
// made and mounted by lib/snapshot. A directory gets its row only once it is complete, and every
// change records its `/snapshot/*` event in the same transaction.
import type {Database} from 'better-sqlite3'
import type {SharingPolicy} from '../config/index.js'
import {AlreadyExists, FailedPrecondition, InvalidArgument, NotFound} from '../errors/index.js'
import {type Labels, sortedLabels, validateLabels} from '../oci/labels.js'
import {mergeLabels, SHAREABLE_LABEL} from './content.js'
import {appendEvent, nowMicros, type Retention} from './event-log.js'
import {addLeaseResourceIn} from './leases.js'
import type {NamespaceStore} from './namespaces.js'
import {randomBytes} from '../sys/random.js'

/** containerd's snapshot kinds, as `snapshots ls` prints them. */
export type SnapshotKind = 'active' | 'view' | 'committed'

/** A snapshot as one namespace sees it. Times are unix microseconds. */
export interface SnapshotRecord {
  snapshotter: string
  key: string
  parent?: string
  kind: SnapshotKind
  /** The directory id under `snapshots/<snapshotter>/`. */
  dir: string
  labels: Labels
  createdAt: number
  updatedAt: number
}

/** A snapshot directory: shared by chain ID when committed by unpack. */
export interface SnapshotDir {
  snapshotter: string
  id: string
  kind: SnapshotKind
  parent?: string
  chainId?: string
}

/** A new snapshot record, and the new directory it names (absent when it reuses one). */
export interface SnapshotInput {
  key: string
  parent?: string
  labels?: Labels
  /** A directory made for this record; omit to point at `existingDir`. */
  newDir?: {id: string; kind: SnapshotKind; parent?: string; chainId?: string}
  existingDir?: string
  /** Lease (same namespace) that keeps the record from GC until the lease goes. */
  leaseId?: string
  /** The key `/snapshot/prepare` names when the record was extracted under a temporary key. */
  extractKey?: string
}

interface SnapshotRow {
  snapshotter: string
  key: string
  parent: string | null
  dir: string
  kind: SnapshotKind
  labels: string
  created_at: number
  updated_at: number
}

interface DirRow {
  snapshotter: string
  id: string
  kind: SnapshotKind
  parent: string | null
  chain_id: string | null
}

const SELECT = `SELECT s.snapshotter, s.key, s.parent, s.dir, d.kind, s.labels, s.created_at, s.updated_at
  FROM snapshots s JOIN snapshot_dirs d ON d.snapshotter = s.snapshotter AND d.id = s.dir`

const toRecord = (r: SnapshotRow): SnapshotRecord => {
  const rec: SnapshotRecord = {
    snapshotter: r.snapshotter,
    key: r.key,
    kind: r.kind,
    dir: r.dir,
    labels: JSON.parse(r.labels) as Labels,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
  if (r.parent !== null) rec.parent = r.parent
  return rec
}

const toDir = (r: DirRow): SnapshotDir => {
  const d: SnapshotDir = {snapshotter: r.snapshotter, id: r.id, kind: r.kind}
  if (r.parent !== null) d.parent = r.parent
  if (r.chain_id !== null) d.chainId = r.chain_id
  return d
}

/** A fresh directory id: 12 base32 characters (60 random bits). Mounts name lower directories
 * relative to the snapshotter root, so 128 layers stay far below the one-page option limit. */
export function newSnapshotDirId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  const bytes = randomBytes(12)
  let id = ''
  for (const b of bytes) id += alphabet[b & 31]
  return id
}

/** `extract-<nanos>-<random> <chainID>`: containerd's temporary unpack key format. */
export function extractKey(chainId: string): string {
  return `extract-${process.hrtime.bigint()}-${randomBytes(6).toString('base64url')} ${chainId}`
}

/** Snapshot record operations over one open database. */
export class SnapshotStore {
  constructor(
    private readonly db: Database,
    private readonly retention: Retention,
    private readonly namespaces: NamespaceStore,
    private readonly policy: SharingPolicy,
  ) {}

  /** One snapshot. @throws NotFound `snapshot "<key>": not found`. */
  get(ns: string, snapshotter: string, key: string): SnapshotRecord {
    const found = this.find(ns, snapshotter, key)
    if (!found) throw new NotFound(`snapshot ${JSON.stringify(key)}`, {suffixKind: true})
    return found
  }

  find(ns: string, snapshotter: string, key: string): SnapshotRecord | undefined {
    const row = this.db.prepare(`${SELECT} WHERE s.namespace = ? AND s.snapshotter = ? AND s.key = ?`).get(ns, snapshotter, key) as SnapshotRow | undefined
    return row && toRecord(row)
  }

  /** Every snapshot of the namespace in one snapshotter, ordered by key. */
  list(ns: string, snapshotter: string): SnapshotRecord[] {
    return (this.db.prepare(`${SELECT} WHERE s.namespace = ? AND s.snapshotter = ? ORDER BY s.key`).all(ns, snapshotter) as SnapshotRow[]).map(toRecord)
  }

  /** The directory and its ancestors, nearest first. @throws NotFound (a broken chain). */
  dirChain(snapshotter: string, id: string): SnapshotDir[] {
    const rows = this.db
      .prepare(
        `WITH RECURSIVE chain(id, depth) AS (SELECT ?, 0 UNION ALL
           SELECT d.parent, c.depth + 1 FROM chain c JOIN snapshot_dirs d ON d.snapshotter = ? AND d.id = c.id WHERE d.parent IS NOT NULL AND c.depth < 10000)
         SELECT d.snapshotter, d.id, d.kind, d.parent, d.chain_id FROM chain c JOIN snapshot_dirs d ON d.snapshotter = ? AND d.id = c.id ORDER BY c.depth`,
      )
      .all(id, snapshotter, snapshotter) as DirRow[]
    const chain = rows.map(toDir)
    const last = chain.at(-1)
    if (chain.length === 0 || last?.parent !== undefined)
      throw new NotFound(`snapshot directory ${snapshotter}/${id} or one of its parents`, {suffixKind: true})
    return chain
  }

  /**
   * A committed directory holding `chainId` that this namespace may record without extracting:
   * any such directory under the `shared` policy; under `isolated`, only one that a namespace
   * labelled `containerd.io/namespace.shareable=true` records. Reads only.
   */
  findShareable(ns: string, snapshotter: string, chainId: string): string | undefined {
    const own = this.find(ns, snapshotter, chainId)
    if (own?.kind === 'committed') return own.dir
    const row =
      this.policy === 'shared'
        ? (this.db
            .prepare(`SELECT id FROM snapshot_dirs WHERE snapshotter = ? AND chain_id = ? AND kind = 'committed' ORDER BY created_at LIMIT 1`)
            .get(snapshotter, chainId) as {id: string} | undefined)
        : (this.db
            .prepare(
              `SELECT d.id FROM snapshot_dirs d JOIN snapshots s ON s.snapshotter = d.snapshotter AND s.dir = d.id
               JOIN namespaces n ON n.name = s.namespace
               WHERE d.snapshotter = ? AND d.chain_id = ? AND d.kind = 'committed' AND json_extract(n.labels, '$."${SHAREABLE_LABEL}"') = 'true'
               ORDER BY d.created_at LIMIT 1`,
            )
            .get(snapshotter, chainId) as {id: string} | undefined)
    return row?.id
  }

  /**
   * Record a snapshot (and its new directory) in one immediate transaction, with
   * `/snapshot/prepare` (and `/snapshot/commit` for a committed one). The parent must be a
   * committed snapshot of the namespace. Returns false, changing nothing, when a committed
   * snapshot with this key already exists and `idempotent` is set (a concurrent unpack won).
   * @throws AlreadyExists, NotFound (parent, lease), InvalidArgument.
   */
  create(ns: string, snapshotter: string, input: SnapshotInput, options: {idempotent?: boolean} = {}): boolean {
    validateKey(input.key)
    if (input.labels) validateLabels(input.labels)
    return this.db
      .transaction(() => {
        this.namespaces.ensureIn(ns)
        const existing = this.find(ns, snapshotter, input.key)
        if (existing) {
          if (options.idempotent && existing.kind === 'committed') return false
          throw new AlreadyExists(`snapshot ${JSON.stringify(input.key)}`, {suffixKind: true})
        }
        if (input.parent !== undefined) {
          const parent = this.find(ns, snapshotter, input.parent)
          if (!parent) throw new NotFound(`parent snapshot ${JSON.stringify(input.parent)} does not exist`, {suffixKind: true})
          if (parent.kind !== 'committed') throw new InvalidArgument(`parent ${JSON.stringify(input.parent)} is not committed snapshot`, {suffixKind: true})
        }
        const now = nowMicros()
        let dir = input.existingDir
        let kind: SnapshotKind
        if (input.newDir) {
          dir = input.newDir.id
          kind = input.newDir.kind
          this.db
            .prepare('INSERT INTO snapshot_dirs (snapshotter, id, kind, parent, chain_id, created_at) VALUES (?, ?, ?, ?, ?, ?)')
            .run(snapshotter, dir, kind, input.newDir.parent ?? null, input.newDir.chainId ?? null, now)
        } else {
          const row = this.db.prepare('SELECT kind FROM snapshot_dirs WHERE snapshotter = ? AND id = ?').get(snapshotter, dir) as
            | {kind: SnapshotKind}
            | undefined
          if (!row) throw new NotFound(`snapshot directory ${snapshotter}/${dir}`, {suffixKind: true})
          kind = row.kind
        }
        this.db
          .prepare('INSERT INTO snapshots (namespace, snapshotter, key, parent, dir, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(ns, snapshotter, input.key, input.parent ?? null, dir, JSON.stringify(sortedLabels(input.labels ?? {})), now, now)
        if (input.leaseId) addLeaseResourceIn(this.db, ns, input.leaseId, 'snapshot', `${snapshotter}/${input.key}`)
        const prepareKey = kind === 'committed' ? (input.extractKey ?? input.key) : input.key
        appendEvent(this.db, ns, {topic: '/snapshot/prepare', key: prepareKey, parent: input.parent, snapshotter}, this.retention)
        if (kind === 'committed') appendEvent(this.db, ns, {topic: '/snapshot/commit', key: prepareKey, name: input.key, snapshotter}, this.retention)
        return true
      })
      .immediate()
  }

  /** Several `create`s in one transaction (one fsync): how unpack records an adopted chain. */
  createAll(ns: string, snapshotter: string, inputs: readonly SnapshotInput[], options: {idempotent?: boolean} = {}): boolean[] {
    return this.db.transaction(() => inputs.map((input) => this.create(ns, snapshotter, input, options))).immediate()
  }

  /**
   * Commit the active snapshot `key` as the committed snapshot `name` (containerd's Commit): its
   * directory becomes committed and the active key goes. @throws NotFound, AlreadyExists,
   * FailedPrecondition (not active).
   */
  commit(ns: string, snapshotter: string, name: string, key: string, labels: Labels = {}): SnapshotRecord {
    validateKey(name)
    validateLabels(labels)
    return this.db
      .transaction(() => {
        const active = this.get(ns, snapshotter, key)
        if (active.kind !== 'active') throw new FailedPrecondition(`snapshot ${JSON.stringify(key)} is not an active snapshot`, {suffixKind: true})
        if (this.find(ns, snapshotter, name)) throw new AlreadyExists(`snapshot ${JSON.stringify(name)}`, {suffixKind: true})
        if (this.hasChildren(ns, snapshotter, key))
          throw new FailedPrecondition(`cannot commit snapshot ${JSON.stringify(key)} with children`, {suffixKind: true})
        const now = nowMicros()
        this.db.prepare(`UPDATE snapshot_dirs SET kind = 'committed' WHERE snapshotter = ? AND id = ?`).run(snapshotter, active.dir)
        this.db.prepare('DELETE FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?').run(ns, snapshotter, key)
        this.db
          .prepare('INSERT INTO snapshots (namespace, snapshotter, key, parent, dir, labels, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
          .run(ns, snapshotter, name, active.parent ?? null, active.dir, JSON.stringify(sortedLabels({...active.labels, ...labels})), now, now)
        appendEvent(this.db, ns, {topic: '/snapshot/commit', key, name, snapshotter}, this.retention)
        return this.get(ns, snapshotter, name)
      })
      .immediate()
  }

  /**
   * Remove a snapshot record, with `/snapshot/remove`. Returns the directory ids that no record
   * and no child directory needs any more (their rows are deleted too; the caller removes the
   * directories). @throws NotFound, FailedPrecondition (it has children).
   */
  remove(ns: string, snapshotter: string, key: string): string[] {
    return this.db
      .transaction(() => {
        const rec = this.get(ns, snapshotter, key)
        if (this.hasChildren(ns, snapshotter, key)) throw new FailedPrecondition('cannot remove snapshot with child', {suffixKind: true})
        this.db.prepare('DELETE FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?').run(ns, snapshotter, key)
        this.db.prepare(`DELETE FROM lease_resources WHERE namespace = ? AND kind = 'snapshot' AND ref = ?`).run(ns, `${snapshotter}/${key}`)
        appendEvent(this.db, ns, {topic: '/snapshot/remove', key, snapshotter}, this.retention)
        return this.releaseDirIn(snapshotter, rec.dir)
      })
      .immediate()
  }

  /**
   * Set (empty value: remove) labels, or replace them all. containerd publishes no event for a
   * snapshot update. @throws NotFound, InvalidArgument.
   */
  setLabels(ns: string, snapshotter: string, key: string, labels: Labels, options: {replaceAll?: boolean} = {}): SnapshotRecord {
    return this.db
      .transaction(() => {
        const rec = this.get(ns, snapshotter, key)
        const next = sortedLabels(mergeLabels(rec.labels, labels, options.replaceAll ?? false))
        validateLabels(next)
        this.db
          .prepare('UPDATE snapshots SET labels = ?, updated_at = ? WHERE namespace = ? AND snapshotter = ? AND key = ?')
          .run(JSON.stringify(next), nowMicros(), ns, snapshotter, key)
        return this.get(ns, snapshotter, key)
      })
      .immediate()
  }

  /** How many snapshot records (in any namespace) name directory `dir`. */
  recordsOf(snapshotter: string, dir: string): number {
    return (this.db.prepare('SELECT count(*) AS n FROM snapshots WHERE snapshotter = ? AND dir = ?').get(snapshotter, dir) as {n: number}).n
  }

  private hasChildren(ns: string, snapshotter: string, key: string): boolean {
    return this.db.prepare('SELECT 1 FROM snapshots WHERE namespace = ? AND snapshotter = ? AND parent = ? LIMIT 1').get(ns, snapshotter, key) !== undefined
  }

  /**
   * Inside a transaction: drop the directory's row when no record and no child directory needs
   * it, then the same for its parent, and so on. Returns the ids dropped, nearest first.
   */
  private releaseDirIn(snapshotter: string, dir: string): string[] {
    const dropped: string[] = []
    for (let id: string | null = dir; id !== null; ) {
      if (this.db.prepare('SELECT 1 FROM snapshots WHERE snapshotter = ? AND dir = ? LIMIT 1').get(snapshotter, id)) break
      if (this.db.prepare('SELECT 1 FROM snapshot_dirs WHERE snapshotter = ? AND parent = ? LIMIT 1').get(snapshotter, id)) break
      const row = this.db.prepare('SELECT parent FROM snapshot_dirs WHERE snapshotter = ? AND id = ?').get(snapshotter, id) as
        | {parent: string | null}
        | undefined
      if (!row) break
      this.db.prepare('DELETE FROM snapshot_dirs WHERE snapshotter = ? AND id = ?').run(snapshotter, id)
      dropped.push(id)
      id = row.parent
    }
    return dropped
  }
}

/** Snapshot keys are free-form in containerd (chain IDs, paths); only empty and NUL are refused. */
function validateKey(key: string): void {
  if (key.length === 0) throw new InvalidArgument('snapshot key must not be empty', {suffixKind: true})
  if (key.includes('\0')) throw new InvalidArgument(`invalid snapshot key ${JSON.stringify(key)}`, {suffixKind: true})
}
