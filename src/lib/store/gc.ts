// Garbage collection by reachability: per namespace, content reachable from images, unexpired
// leases, `containerd.io/gc.root` labels and live ingests (following `containerd.io/gc.ref.content*`
// labels) keeps its record and everything else loses it; then blob files no namespace records any
// more are deleted under their digest's lock (skipped while a writer holds it), and stale ingests
// and expired leases go. Ingests and leases that belong to a process (process-owner.ts) live
// exactly as long as it does: a dead owner's go at once, whatever their age; a live owner's stay. Marking and the
// record sweep share one immediate transaction, so nothing
// recorded after the mark can be swept; a dry run computes the same report and changes nothing.
//
// Snapshots follow the same reachability: roots are containers' snapshots, snapshots labelled
// `containerd.io/gc.root` and snapshots held by an unexpired lease; edges run from marked content
// (an unpacked config's `containerd.io/gc.ref.snapshot.<snapshotter>` label) and images to
// snapshot keys, and from each snapshot to its parent. Unreached snapshot records go (with
// `/snapshot/remove`); then each directory that no record and no live child directory needs
// loses its row and is deleted — unmounting leftover mounts under the state directory first,
// and leaving a directory that is still mounted elsewhere for a later run. Directories with no row at all (a killed unpack) are
// deleted unless a snapshot is being created at that moment.
//
// Like containerd's collector, one object that cannot be deleted (an immutable file, a hostile
// tree) never stops the rest: every file-system deletion is tried, and those that failed are
// listed in the report (`failed`); their rows are gone, so the next run finds them again as files
// without a row. Trees are removed without recursion, at any depth (sys/tree.ts).
import {readdirSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'
import type {Database} from 'better-sqlite3'
import {type BerthError, describe, errorKind, errorOfKind, type ErrorKind} from '../errors/index.js'
import {DIGEST_ALGORITHMS} from '../oci/digest.js'
import {isIndex, isManifest} from '../oci/media-types.js'
import {blobLockName, blobPath} from './content.js'
import {appendEvent, nowMicros, type Retention} from './event-log.js'
import {type IngestEntry, ingestLockName, readIngestOwner, readIngests} from './ingest.js'
import {ownerAlive, ownerPid, removeDeadOwnerFiles} from './process-owner.js'
import {acquireLock, type Lock} from './locks.js'
import {mountsUsing, readMountTable, unmountDetached} from './mounts.js'
import {blobsDir, snapshotsDir} from './paths.js'
import {fsError, removeTree} from '../sys/tree.js'

/** What GC removes or keeps. */
export type GcKind = 'content' | 'blob' | 'lease' | 'ingest' | 'snapshot' | 'snapshot-dir' | 'mount'

/** Something GC removed (or, in a dry run, would remove). Blobs have no namespace. */
export interface GcRemoved {
  kind: GcKind
  namespace?: string
  id: string
}

/** Something GC keeps, and why: the root that reaches it, or why it could not be touched. */
export interface GcKept {
  kind: GcKind
  /** Absent for blobs, which belong to no namespace. */
  namespace?: string
  id: string
  /** e.g. `image docker.io/library/redis:latest -> manifest sha256:… -> layer`, `lease abc`. */
  reason: string
}

/** Something GC should have deleted from disk but could not; its record is gone, a later run tries again. */
export interface GcFailed {
  kind: GcKind
  namespace?: string
  id: string
  /** The error, as one line. */
  error: string
  /** Its kind (decides the exit code of `ctr gc`). */
  errorKind: ErrorKind
}

/** The outcome of one collection, each list ordered by kind, namespace and id. */
export interface GcReport {
  removed: GcRemoved[]
  kept: GcKept[]
  /** What could not be deleted (never in a dry run); everything else was. */
  failed: GcFailed[]
}

/**
 * The error `ctr gc` ends with when some object could not be deleted: of the first failure's kind,
 * counting them (each is named in the report). Undefined when everything went.
 */
export function gcIncomplete(report: GcReport): BerthError | undefined {
  const first = report.failed[0]
  if (first === undefined) return undefined
  const n = report.failed.length
  return errorOfKind(first.errorKind, `gc: ${n} ${n === 1 ? 'object' : 'objects'} could not be removed (everything else was collected)`)
}

/** Options of `collectGarbage`. */
export interface GcOptions {
  /** Compute the report, change nothing (takes no GC lock). */
  dryRun?: boolean
  /** List kept content records with their reasons (default true; false saves work after deletes). */
  explain?: boolean
  /** Ingests untouched for longer than this, and not locked, are removed (default 24 h). */
  ingestMaxAgeMs?: number
}

/** The part of a store GC works on. */
export interface GcStore {
  readonly root: string
  readonly state: string
  readonly db: Database
  readonly retention: Retention
}

/** Ingests idle this long are garbage unless a writer holds them (containerd's 24 h expiry). */
export const INGEST_MAX_AGE_MS = 24 * 3600 * 1000

const GC_ROOT_LABEL = 'containerd.io/gc.root'
const GC_REF_CONTENT = 'containerd.io/gc.ref.content'
const GC_REF_SNAPSHOT = 'containerd.io/gc.ref.snapshot.'

/** SQL test for a label key that references content: the key itself, or it plus `.x` or `/x`. */
const isRefKey = (column: string): string => `(${column} = '${GC_REF_CONTENT}' OR ${column} GLOB '${GC_REF_CONTENT}.*' OR ${column} GLOB '${GC_REF_CONTENT}/*')`

/**
 * Collect garbage across all namespaces. Holds the global `gc` lock for a real run (waiting for
 * another collection to finish). Cheap enough to call after every deleting command: the marking is
 * a few set-based SQL statements, and only blobs that lost their last record cost a lock each.
 * @throws Internal, PermissionDenied (I/O), Unavailable (database busy beyond the timeout).
 */
export async function collectGarbage(store: GcStore, options: GcOptions = {}): Promise<GcReport> {
  const dryRun = options.dryRun ?? false
  const gcLock = dryRun ? undefined : await acquireLock(store.root, 'gc')
  try {
    return await collect(store, dryRun, options.explain ?? true, options.ingestMaxAgeMs ?? INGEST_MAX_AGE_MS)
  } finally {
    gcLock?.release()
  }
}

interface MarkRow {
  namespace: string
  digest: string
  parent: string | null
  via: string | null
  root: string
  depth: number
}

interface IngestRoot {
  namespace: string
  digest: string
  ref: string
}

async function collect(store: GcStore, dryRun: boolean, explain: boolean, ingestMaxAgeMs: number): Promise<GcReport> {
  const {db, root} = store
  const removed: GcRemoved[] = []
  const kept: GcKept[] = []
  const failed: GcFailed[] = []
  const fail = (item: {kind: GcKind; namespace?: string; id: string}, err: unknown): void => {
    failed.push({...item, error: describe(err), errorKind: errorKind(err)})
  }
  const now = nowMicros()

  // 1. Ingests: those of a live owner, fresh or locked ones are live roots; a dead owner's, idle
  // unowned ones and debris are removed (under the ingest's lock, so never while being written).
  const ingestRoots: IngestRoot[] = []
  const alive = new Map<string, boolean>()
  const isAlive = (owner: string): boolean => {
    let known = alive.get(owner)
    if (known === undefined) alive.set(owner, (known = ownerAlive(root, owner)))
    return known
  }
  const remainingOwners = new Set<string>()
  for (const entry of readIngests(root)) {
    const status = entry.status
    const owner = status?.owner
    const fresh = status !== undefined && (owner === undefined ? now - status.updatedAt < ingestMaxAgeMs * 1000 : isAlive(owner))
    const id = status?.ref ?? entry.key
    const withNs = <T extends object>(o: T): T & {namespace?: string} => (status?.namespace ? {...o, namespace: status.namespace} : o)
    if (owner !== undefined) remainingOwners.add(owner)
    if (fresh) {
      if (status.expected && status.namespace) ingestRoots.push({namespace: status.namespace, digest: status.expected, ref: status.ref})
      kept.push(withNs({kind: 'ingest' as const, id, reason: owner === undefined ? 'in progress' : `in progress (owner pid ${ownerPid(owner)} is alive)`}))
      continue
    }
    const lock = await tryLock(root, ingestLockName(entry.key))
    if (!lock) {
      if (status?.expected && status.namespace) ingestRoots.push({namespace: status.namespace, digest: status.expected, ref: status.ref})
      kept.push(withNs({kind: 'ingest' as const, id, reason: 'locked by a writer'}))
      continue
    }
    try {
      // Under the lock, again: another process may have taken the ingest over since it was read.
      const current = owner === undefined ? undefined : readIngestOwner(entry.dir)
      if (current !== undefined && current !== owner && ownerAlive(root, current)) {
        remainingOwners.add(current)
        kept.push(withNs({kind: 'ingest' as const, id, reason: `in progress (owner pid ${ownerPid(current)} is alive)`}))
        continue
      }
      if (!dryRun) removeIngest(entry)
      removed.push(withNs({kind: 'ingest' as const, id}))
      if (owner !== undefined && !dryRun) remainingOwners.delete(owner)
    } catch (err) {
      fail(withNs({kind: 'ingest' as const, id}), err)
    } finally {
      lock.release()
    }
  }

  // 2. Expired leases, marking and the record sweep: one transaction.
  db.pragma('temp_store = MEMORY')
  db.exec(`
    CREATE TEMP TABLE IF NOT EXISTS gc_mark (
      namespace TEXT NOT NULL,
      digest    TEXT NOT NULL,
      parent    TEXT,            -- the digest whose label reached this one; NULL for a root
      via       TEXT,            -- that label's key, or 'target:<media type>' for an image target
      root      TEXT NOT NULL,   -- 'image <name>', 'lease <id>', 'label containerd.io/gc.root', 'ingest <ref>'
      depth     INTEGER NOT NULL,
      PRIMARY KEY (namespace, digest)
    ) WITHOUT ROWID; -- no secondary indexes: maintaining them costs more than the scans they save
  `)
  const sweep = () => {
    const expired = db.prepare('SELECT namespace, id FROM leases WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY namespace, id').all(now) as Array<{
      namespace: string
      id: string
    }>
    if (!dryRun) db.prepare('DELETE FROM leases WHERE expires_at IS NOT NULL AND expires_at <= ?').run(now)
    for (const l of expired) removed.push({kind: 'lease', namespace: l.namespace, id: l.id})
    // Leases of processes that died (a killed or failed pull): nothing will ever finish them.
    const owned = db.prepare('SELECT namespace, id, owner FROM leases WHERE owner IS NOT NULL ORDER BY namespace, id').all() as Array<{
      namespace: string
      id: string
      owner: string
    }>
    const delLease = db.prepare('DELETE FROM leases WHERE namespace = ? AND id = ?')
    for (const l of owned) {
      if (isAlive(l.owner)) {
        remainingOwners.add(l.owner)
        continue
      }
      if (!dryRun && delLease.run(l.namespace, l.id).changes === 0) continue // expired above
      if (dryRun && expired.some((e) => e.namespace === l.namespace && e.id === l.id)) continue
      removed.push({kind: 'lease', namespace: l.namespace, id: l.id})
    }

    mark(db, now, ingestRoots)

    const unreached = db
      .prepare(
        'SELECT namespace, digest FROM content c WHERE NOT EXISTS (SELECT 1 FROM temp.gc_mark m WHERE m.namespace = c.namespace AND m.digest = ' +
          'c.digest) ORDER BY namespace, digest',
      )
      .all() as Array<{namespace: string; digest: string}>
    const del = db.prepare('DELETE FROM content WHERE namespace = ? AND digest = ?')
    for (const c of unreached) {
      if (!dryRun) {
        del.run(c.namespace, c.digest)
        appendEvent(db, c.namespace, {topic: '/content/delete', digest: c.digest}, store.retention)
      }
      removed.push({kind: 'content', namespace: c.namespace, id: c.digest})
    }
    if (explain) kept.push(...explainMarks(db.prepare('SELECT namespace, digest, parent, via, root, depth FROM temp.gc_mark').all() as MarkRow[]))
    const unrecorded = db
      .prepare(
        `SELECT digest FROM blobs b WHERE NOT EXISTS (
           SELECT 1 FROM content c WHERE c.digest = b.digest
           AND EXISTS (SELECT 1 FROM temp.gc_mark m WHERE m.namespace = c.namespace AND m.digest = c.digest)
         ) ORDER BY digest`,
      )
      .all() as Array<{digest: string}>
    const recorded = new Set((db.prepare('SELECT digest FROM blobs').all() as Array<{digest: string}>).map((r) => r.digest))
    const deadDirs = sweepSnapshots(store, now, dryRun, removed, explain ? kept : undefined)
    db.exec('DELETE FROM temp.gc_mark')
    return {unrecorded: unrecorded.map((r) => r.digest), recorded, deadDirs}
  }
  const {unrecorded, recorded, deadDirs} = dryRun ? db.transaction(sweep).deferred() : db.transaction(sweep).immediate()

  // Snapshot directories: those that lost their row, and those that never had one.
  await removeSnapshotDirs(store, deadDirs, dryRun, removed, kept, fail)

  // 3. Blob files that no namespace records any more, plus files a crash left without a row.
  const candidates = new Set(unrecorded)
  for (const digest of blobFilesOnDisk(root)) if (!recorded.has(digest)) candidates.add(digest)
  for (const digest of [...candidates].sort()) {
    const lock = await tryLock(root, blobLockName(digest))
    if (!lock) {
      kept.push({kind: 'blob', id: digest, reason: 'locked by a writer'})
      continue
    }
    try {
      if (dryRun) {
        removed.push({kind: 'blob', id: digest})
        continue
      }
      // Re-check under the lock: a namespace may have recorded it since the mark.
      const gone = db
        .transaction(() => {
          if (db.prepare('SELECT 1 FROM content WHERE digest = ? LIMIT 1').get(digest)) return false
          db.prepare('DELETE FROM blobs WHERE digest = ?').run(digest)
          return true
        })
        .immediate()
      if (!gone) continue
      try {
        unlinkSync(blobPath(root, digest))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          fail({kind: 'blob', id: digest}, fsError(err, `blob ${digest}`))
          continue
        }
      }
      removed.push({kind: 'blob', id: digest})
    } finally {
      lock.release()
    }
  }
  // 4. Owner files of dead processes that no ingest or lease names any more.
  if (!dryRun) removeDeadOwnerFiles(root, remainingOwners)
  return {removed: sortReport(removed), kept: sortReport(kept), failed: sortReport(failed)}
}

/**
 * Mark every content record reachable from a root into `temp.gc_mark`, breadth first: one
 * INSERT … SELECT per level over the labels (json_each) of the previous level. The primary key
 * keeps the first (shortest) path to each record, which both stops cycles and gives the reason.
 * (Not one recursive CTE: its UNION cannot keep one path per record, so cycles with reasons would
 * not terminate.) CROSS JOIN pins the join order: left to itself the planner scans every content
 * row of the namespace for each label, quadratic in the number of images.
 */
function mark(db: Database, now: number, ingestRoots: IngestRoot[]): void {
  db.exec('DELETE FROM temp.gc_mark')
  const insert = 'INSERT OR IGNORE INTO temp.gc_mark (namespace, digest, parent, via, root, depth)'
  // Roots, in the order that decides which reason a record reports.
  db.prepare(
    `${insert} SELECT i.namespace, i.target_digest, NULL, 'target:' || i.target_media_type, 'image ' || i.name, 0
     FROM images i JOIN content c ON c.namespace = i.namespace AND c.digest = i.target_digest
     ORDER BY i.namespace, i.name`,
  ).run()
  db.prepare(
    `${insert} SELECT i.namespace, j.value, NULL, j.key, 'image ' || i.name, 0
     FROM images i CROSS JOIN json_each(i.labels) j CROSS JOIN content c ON c.namespace = i.namespace AND c.digest = j.value
     WHERE ${isRefKey('j.key')} ORDER BY i.namespace, i.name, j.key`,
  ).run()
  db.prepare(
    `${insert} SELECT namespace, digest, NULL, NULL, 'label ${GC_ROOT_LABEL}', 0
     FROM content WHERE json_extract(labels, '$."${GC_ROOT_LABEL}"') IS NOT NULL ORDER BY namespace, digest`,
  ).run()
  db.prepare(
    `${insert} SELECT r.namespace, r.ref, NULL, NULL, 'lease ' || r.lease_id, 0
     FROM lease_resources r
     JOIN leases l ON l.namespace = r.namespace AND l.id = r.lease_id
     JOIN content c ON c.namespace = r.namespace AND c.digest = r.ref
     WHERE r.kind = 'content' AND (l.expires_at IS NULL OR l.expires_at > ?)
     ORDER BY r.namespace, r.lease_id, r.ref`,
  ).run(now)
  if (ingestRoots.length > 0) {
    db.prepare(
      `${insert} SELECT c.namespace, c.digest, NULL, NULL, 'ingest ' || json_extract(x.value, '$.ref'), 0
       FROM json_each(?) x JOIN content c ON c.namespace = json_extract(x.value, '$.namespace') AND c.digest = json_extract(x.value, '$.digest')`,
    ).run(JSON.stringify(ingestRoots))
  }
  const step = db.prepare(
    `${insert} SELECT p.namespace, j.value, p.digest, j.key, p.root, p.depth + 1
     FROM temp.gc_mark p
     CROSS JOIN content pc ON pc.namespace = p.namespace AND pc.digest = p.digest
     CROSS JOIN json_each(pc.labels) j
     CROSS JOIN content c ON c.namespace = p.namespace AND c.digest = j.value
     WHERE p.depth = ? AND ${isRefKey('j.key')}
     ORDER BY p.namespace, p.digest, j.key`,
  )
  for (let depth = 0; step.run(depth).changes > 0; depth++);
}

/** Kept records with the path from their root, e.g. `image x -> index sha256:… -> manifest sha256:… -> layer`. */
function explainMarks(rows: MarkRow[]): GcKept[] {
  const byKey = new Map<string, MarkRow>()
  for (const r of rows) byKey.set(`${r.namespace}\0${r.digest}`, r)
  const prefixes = new Map<MarkRow, string>()
  // The path up to and including `r`, with its digest: memoised, since subtrees share prefixes.
  const prefix = (r: MarkRow): string => {
    let p = prefixes.get(r)
    if (p === undefined) {
      const parent = r.parent === null ? undefined : byKey.get(`${r.namespace}\0${r.parent}`)
      p = `${parent ? prefix(parent) : r.root} -> ${nodeKind(r)} ${r.digest}`
      prefixes.set(r, p)
    }
    return p
  }
  return rows.map((r) => {
    const parent = r.parent === null ? undefined : byKey.get(`${r.namespace}\0${r.parent}`)
    const reason = parent ? `${prefix(parent)} -> ${nodeKind(r)}` : r.via === null ? r.root : `${r.root} -> ${nodeKind(r)}`
    return {kind: 'content' as const, namespace: r.namespace, id: r.digest, reason}
  })
}

/** What a marked record is, from the edge that reached it (containerd's ChildGCLabels names). */
function nodeKind(r: MarkRow): string {
  const via = r.via
  if (via === null) return 'content'
  if (via.startsWith('target:')) {
    const mediaType = via.slice('target:'.length)
    return isIndex(mediaType) ? 'index' : isManifest(mediaType) ? 'manifest' : 'content'
  }
  const suffix = via.slice(GC_REF_CONTENT.length + 1)
  if (/^m\.\d+$/.test(suffix)) return 'manifest'
  if (suffix === 'config') return 'config'
  if (/^l\.\d+$/.test(suffix)) return 'layer'
  if (suffix.startsWith('referrer')) return 'referrer'
  return 'content'
}

/** Digests of the files under `content/blobs/<alg>/` (names that are not digests are ignored). */
function blobFilesOnDisk(root: string): string[] {
  const out: string[] = []
  for (const [algorithm, length] of Object.entries(DIGEST_ALGORITHMS)) {
    let names: string[]
    try {
      names = readdirSync(blobsDir(root, algorithm))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
    for (const name of names) if (name.length === length && /^[a-f0-9]+$/.test(name)) out.push(`${algorithm}:${name}`)
  }
  return out
}

function removeIngest(entry: IngestEntry): void {
  removeTree(entry.dir)
}

/** The lock if free right now, else undefined (someone is working on it). */
async function tryLock(root: string, name: string): Promise<Lock | undefined> {
  try {
    return await acquireLock(root, name, {timeoutMs: 0})
  } catch (err) {
    if (errorKind(err) === 'unavailable') return undefined
    throw err
  }
}

const KIND_ORDER: Record<GcKind, number> = {lease: 0, ingest: 1, content: 2, blob: 3, snapshot: 4, mount: 5, 'snapshot-dir': 6}

function sortReport<T extends {kind: GcKind; namespace?: string; id: string}>(items: T[]): T[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
  return items.sort((a, b) => KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || cmp(a.namespace ?? '', b.namespace ?? '') || cmp(a.id, b.id))
}

interface SnapMarkRow {
  namespace: string
  snapshotter: string
  key: string
  parent: string | null
  root: string
}

/**
 * Inside the sweep transaction, after content marking (temp.gc_mark): mark snapshots, delete the
 * unreached records (unless dry), and return the directories no remaining record needs.
 */
function sweepSnapshots(
  store: GcStore,
  now: number,
  dryRun: boolean,
  removed: GcRemoved[],
  kept: GcKept[] | undefined,
): Array<{snapshotter: string; id: string}> {
  const {db} = store
  db.exec(`
    CREATE TEMP TABLE IF NOT EXISTS gc_snap_mark (
      namespace   TEXT NOT NULL,
      snapshotter TEXT NOT NULL,
      key         TEXT NOT NULL,
      parent      TEXT,            -- the child key that reached this one; NULL for a root
      root        TEXT NOT NULL,
      depth       INTEGER NOT NULL,
      PRIMARY KEY (namespace, snapshotter, key)
    ) WITHOUT ROWID;
    DELETE FROM temp.gc_snap_mark;
  `)
  const insert = 'INSERT OR IGNORE INTO temp.gc_snap_mark (namespace, snapshotter, key, parent, root, depth)'
  const refSnapshotter = `CASE WHEN instr(substr(j.key, ${GC_REF_SNAPSHOT.length + 1}), '/') > 0
      THEN substr(j.key, ${GC_REF_SNAPSHOT.length + 1}, instr(substr(j.key, ${GC_REF_SNAPSHOT.length + 1}), '/') - 1)
      ELSE substr(j.key, ${GC_REF_SNAPSHOT.length + 1}) END`
  // Roots: marked content and images referencing a snapshot, gc.root labels, unexpired leases.
  db.prepare(
    `${insert} SELECT m.namespace, ${refSnapshotter}, j.value, NULL, m.root || ' -> config ' || m.digest, 0
     FROM temp.gc_mark m CROSS JOIN content c ON c.namespace = m.namespace AND c.digest = m.digest CROSS JOIN json_each(c.labels) j
     CROSS JOIN snapshots s ON s.namespace = m.namespace AND s.snapshotter = ${refSnapshotter} AND s.key = j.value
     WHERE j.key GLOB '${GC_REF_SNAPSHOT}*' ORDER BY m.depth, m.namespace, m.digest`,
  ).run()
  db.prepare(
    `${insert} SELECT i.namespace, ${refSnapshotter}, j.value, NULL, 'image ' || i.name, 0
     FROM images i CROSS JOIN json_each(i.labels) j
     CROSS JOIN snapshots s ON s.namespace = i.namespace AND s.snapshotter = ${refSnapshotter} AND s.key = j.value
     WHERE j.key GLOB '${GC_REF_SNAPSHOT}*'`,
  ).run()
  db.prepare(
    `${insert} SELECT c.namespace, c.snapshotter, c.snapshot_key, NULL, 'container ' || c.id, 0
     FROM containers c JOIN snapshots s ON s.namespace = c.namespace AND s.snapshotter = c.snapshotter AND s.key = c.snapshot_key
     ORDER BY c.namespace, c.id`,
  ).run()
  db.prepare(
    `${insert} SELECT namespace, snapshotter, key, NULL, 'label ${GC_ROOT_LABEL}', 0
     FROM snapshots WHERE json_extract(labels, '$."${GC_ROOT_LABEL}"') IS NOT NULL`,
  ).run()
  db.prepare(
    `${insert} SELECT s.namespace, s.snapshotter, s.key, NULL, 'lease ' || r.lease_id, 0
     FROM lease_resources r JOIN leases l ON l.namespace = r.namespace AND l.id = r.lease_id
     JOIN snapshots s ON s.namespace = r.namespace AND s.snapshotter || '/' || s.key = r.ref
     WHERE r.kind = 'snapshot' AND (l.expires_at IS NULL OR l.expires_at > ?)`,
  ).run(now)
  const step = db.prepare(
    `${insert} SELECT s.namespace, s.snapshotter, s.parent, s.key, m.root, m.depth + 1
     FROM temp.gc_snap_mark m CROSS JOIN snapshots s ON s.namespace = m.namespace AND s.snapshotter = m.snapshotter AND s.key = m.key
     WHERE m.depth = ? AND s.parent IS NOT NULL`,
  )
  for (let depth = 0; step.run(depth).changes > 0; depth++);

  const unreached = db
    .prepare(
      `SELECT namespace, snapshotter, key FROM snapshots s WHERE NOT EXISTS (
         SELECT 1 FROM temp.gc_snap_mark m WHERE m.namespace = s.namespace AND m.snapshotter = s.snapshotter AND m.key = s.key)
       ORDER BY namespace, snapshotter, key`,
    )
    .all() as Array<{namespace: string; snapshotter: string; key: string}>
  const del = db.prepare('DELETE FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?')
  for (const s of unreached) {
    if (!dryRun) {
      del.run(s.namespace, s.snapshotter, s.key)
      appendEvent(db, s.namespace, {topic: '/snapshot/remove', key: s.key, snapshotter: s.snapshotter}, store.retention)
    }
    removed.push({kind: 'snapshot', namespace: s.namespace, id: `${s.snapshotter}/${s.key}`})
  }
  if (kept) {
    for (const m of db.prepare('SELECT namespace, snapshotter, key, parent, root FROM temp.gc_snap_mark').all() as SnapMarkRow[]) {
      kept.push({
        kind: 'snapshot',
        namespace: m.namespace,
        id: `${m.snapshotter}/${m.key}`,
        reason: m.parent === null ? m.root : `${m.root} -> … -> parent of ${m.parent}`,
      })
    }
  }
  // Live directories: those of the marked records, and their ancestors.
  const dead = db
    .prepare(
      `WITH RECURSIVE live(snapshotter, id) AS (
         SELECT s.snapshotter, s.dir FROM snapshots s JOIN temp.gc_snap_mark m ON m.namespace = s.namespace AND m.snapshotter = s.snapshotter AND m.key = s.key
         UNION SELECT d.snapshotter, d.parent FROM live l JOIN snapshot_dirs d ON d.snapshotter = l.snapshotter AND d.id = l.id WHERE d.parent IS NOT NULL)
       SELECT snapshotter, id FROM snapshot_dirs d WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.snapshotter = d.snapshotter AND l.id = d.id)
       ORDER BY snapshotter, id`,
    )
    .all() as Array<{snapshotter: string; id: string}>
  if (!dryRun) {
    const delDir = db.prepare('DELETE FROM snapshot_dirs WHERE snapshotter = ? AND id = ?')
    for (const d of dead) delDir.run(d.snapshotter, d.id)
  }
  db.exec('DELETE FROM temp.gc_snap_mark')
  return dead
}

/**
 * Delete the directories whose rows went (`dead`) and those on disk that never had a row, unless a
 * snapshot is being created (the `snapshot-create` lock is held shared by creators). Leftover
 * mounts under the state directory are detached first; a directory mounted anywhere else stays.
 */
async function removeSnapshotDirs(
  store: GcStore,
  dead: Array<{snapshotter: string; id: string}>,
  dryRun: boolean,
  removed: GcRemoved[],
  kept: GcKept[],
  fail: (item: {kind: GcKind; id: string}, err: unknown) => void,
): Promise<void> {
  const base = snapshotsDir(store.root)
  let snapshotters: string[]
  try {
    snapshotters = readdirSync(base)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  const candidates = new Map<string, {snapshotter: string; id: string}>()
  for (const d of dead) candidates.set(`${d.snapshotter}/${d.id}`, d)
  const createLock = await tryLock(store.root, 'snapshot-create')
  try {
    if (createLock) {
      const rows = new Set(
        (store.db.prepare('SELECT snapshotter, id FROM snapshot_dirs').all() as Array<{snapshotter: string; id: string}>).map(
          (r) => `${r.snapshotter}/${r.id}`,
        ),
      )
      for (const sn of snapshotters) {
        for (const id of readdirSync(join(base, sn))) {
          if (!/^[a-z2-7]+$/.test(id)) continue
          const key = `${sn}/${id}`
          if (!rows.has(key) && !candidates.has(key)) candidates.set(key, {snapshotter: sn, id})
        }
      }
    }
    const mounts = candidates.size > 0 ? readMountTable() : []
    const statePrefix = `${store.state.replace(/\/+$/, '')}/`
    for (const c of [...candidates.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const dir = join(base, c.snapshotter, c.id)
      const users = mountsUsing(mounts, join(base, c.snapshotter), c.id).map((m) => m.target)
      const foreign = users.filter((m) => !m.startsWith(statePrefix))
      if (foreign.length > 0) {
        kept.push({kind: 'snapshot-dir', id: `${c.snapshotter}/${c.id}`, reason: `mounted at ${foreign[0]}`})
        continue
      }
      const id = `${c.snapshotter}/${c.id}`
      try {
        for (const target of users) {
          try {
            if (!dryRun) unmountDetached(target)
          } catch (err) {
            throw fsError(err, `unmount ${JSON.stringify(target)}`)
          }
          removed.push({kind: 'mount', id: target})
        }
        if (!dryRun) removeTree(dir)
        removed.push({kind: 'snapshot-dir', id})
      } catch (err) {
        fail({kind: 'snapshot-dir', id}, err)
      }
    }
  } finally {
    createLock?.release()
  }
}
