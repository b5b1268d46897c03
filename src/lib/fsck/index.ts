// `ctr fsck`: check that the store's rows, files, mounts and processes agree, and with `repair`
// fix what can be fixed without guessing. Invariants: a check changes nothing; a repair never
// deletes bytes a row references (a damaged blob is moved to `lost+found/`, not deleted), reuses
// the store's own sweepers (GC for debris, the runtime sweep for dead tasks), and the report
// after a repair is a fresh check, so a second run finds exactly what the first said remains.
import {createHash} from 'node:crypto'
import {createReadStream, existsSync, mkdirSync, readdirSync, renameSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {type BerthError, DataLoss, describe, errorKind} from '../errors/index.js'
import {appendEvent, collectGarbage, type Lock, type Store, acquireLock, blobPath, readMountTable, unmountDetached, PRIVATE_DIR_MODE} from '../store/index.js'
import {containersDir, lostAndFoundDir, META_DB_NAME, runcRoot, runcStateDir, snapshotterDir} from '../store/paths.js'
import {isUnfinished} from '../store/task-state.js'
import {blobLockName} from '../store/content.js'
import {removeTree} from '../sys/tree.js'
import {processAlive} from '../runtime/proc.js'
import {sweepRuntime} from '../runtime/sweep.js'
import {taskIsStale, type TaskRuntime} from '../runtime/tasks.js'

/** What is wrong, as one report line: its kind, the object, what is wrong and what repair does. */
export interface FsckProblem {
  /** `database`, `foreign-key`, `blob`, `content`, `image`, `snapshot`, `snapshot-dir`, `ingest`, `mount`, `task`, `runc-state`, `temp`. */
  kind: string
  /** The object: a digest, `<snapshotter>/<id>`, `<ns>/<id>`, a path. */
  object: string
  problem: string
  /** What `--repair` does about it, or why it cannot. */
  action: string
  /** Whether `--repair` can fix it. */
  repairable: boolean
  /** After a repair: whether it is gone. */
  repaired?: boolean
}

/** The outcome: every problem found (after a repair, each says whether it went) and what remains. */
export interface FsckReport {
  problems: FsckProblem[]
  /** Problems a fresh check still finds (after a repair), or all of them. */
  remaining: FsckProblem[]
}

/** Options of {@link fsck}. */
export interface FsckOptions {
  /** Re-hash every blob (slow: reads all content). */
  full?: boolean
  /** Fix what can be fixed. */
  repair?: boolean
  /** The task runtime of a namespace (runc, conmon) for task and runc state checks. */
  runtimeFor(ns: string): Promise<TaskRuntime>
}

/** Where a repair puts damaged blobs: kept for a human, never referenced by a row. */
export const LOST_AND_FOUND = 'lost+found'

interface Found extends FsckProblem {
  /** The repair, run in repair mode (in the order found). */
  fix?: () => Promise<void> | void
  /** Fixed by the GC pass that ends a repair. */
  byGc?: boolean
  /** Fixed by the runtime sweep (task reconciliation) that starts a repair. */
  bySweep?: boolean
}

/**
 * Check the store and, with `repair`, fix what can be fixed; then check again.
 * @throws only what opening the store or reading its directories throws (a damaged database
 * that SQLite refuses to open is the caller's DataLoss).
 */
export async function fsck(store: Store, options: FsckOptions): Promise<FsckReport> {
  const found = await check(store, options)
  const db = found[0]?.kind === 'database' ? found[0] : undefined
  if (options.repair && db?.repairable) {
    // Index damage first: every other check reads through the indexes. Then the rest, afresh.
    let failure: string | undefined
    try {
      await db.fix!()
    } catch (err) {
      failure = describe(err)
    }
    if (checkDatabase(store).length > 0)
      return {
        problems: [{...strip(db), repaired: false, ...(failure ? {action: `${db.action} (failed: ${failure})`} : {})}],
        remaining: checkDatabase(store).map(strip),
      }
    const rest = await fsck(store, options)
    return {problems: [{...strip(db), repaired: true}, ...rest.problems], remaining: rest.remaining}
  }
  if (!options.repair) return {problems: found.map(strip), remaining: found.map(strip)}
  if (found.every((p) => !p.repairable)) return {problems: found.map((p) => ({...strip(p), repaired: false})), remaining: found.map(strip)}
  const failures = new Map<Found, string>()
  const attempt = async (p: Found, fn: () => Promise<unknown> | unknown) => {
    try {
      await fn()
    } catch (err) {
      failures.set(p, describe(err))
    }
  }
  // Tasks first: reconciling a dead task unmounts its rootfs and drops its runc state.
  const sweep = found.filter((p) => p.repairable && p.bySweep)
  if (sweep.length > 0) await attempt(sweep[0], () => sweepRuntime(store, options.runtimeFor))
  for (const p of found) if (p.repairable && p.fix) await attempt(p, p.fix)
  const gc = found.filter((p) => p.repairable && p.byGc)
  if (gc.length > 0 || found.some((p) => p.repairable && (p.kind === 'snapshot' || p.kind === 'blob'))) {
    await attempt(gc[0] ?? found[0], () => collectGarbage(store, {explain: false}))
  }
  const remaining = await check(store, {...options, repair: false})
  const still = new Set(remaining.map(keyOf))
  const problems = found.map((p) => {
    const fixed = !still.has(keyOf(p))
    const failure = failures.get(p)
    return {...strip(p), repaired: fixed, ...(fixed || failure === undefined ? {} : {action: `${p.action} (failed: ${failure})`})}
  })
  return {problems, remaining: remaining.map(strip)}
}

/**
 * {@link fsck} on the store `open` returns; a database SQLite cannot even open (data loss) is
 * reported as the one problem, which no repair fixes.
 * @throws what opening throws, but data loss.
 */
export async function fsckStore(open: () => Promise<Store>, options: FsckOptions): Promise<FsckReport> {
  let store: Store
  try {
    store = await open()
  } catch (err) {
    if (errorKind(err) !== 'data loss') throw err
    const p: FsckProblem = {
      kind: 'database',
      object: META_DB_NAME,
      problem: describe(err),
      action: 'cannot repair: restore meta.db from a backup',
      repairable: false,
    }
    return {problems: [p], remaining: [p]}
  }
  return fsck(store, options)
}

/** The error (DataLoss, exit 8) `ctr fsck` ends with while problems remain; undefined when clean. */
export function fsckIncomplete(report: FsckReport): BerthError | undefined {
  const n = report.remaining.length
  if (n === 0) return undefined
  return new DataLoss(`fsck: ${n} ${n === 1 ? 'problem remains' : 'problems remain'}`)
}

const keyOf = (p: FsckProblem) => `${p.kind}\0${p.object}`
const strip = ({kind, object, problem, action, repairable}: Found): FsckProblem => ({kind, object, problem, action, repairable})

async function check(store: Store, options: FsckOptions): Promise<Found[]> {
  const out: Found[] = []
  // A damaged database makes every other answer doubtful (and reading a damaged table can fail):
  // it is reported alone; a repair rebuilds damaged indexes first and then checks the rest.
  const db = checkDatabase(store)
  if (db.length > 0) return db
  out.push(...(await checkBlobs(store, options.full ?? false)))
  out.push(...checkContentRows(store))
  out.push(...checkImages(store))
  out.push(...checkSnapshots(store))
  out.push(...checkForeignKeys(store))
  out.push(...(await checkTasks(store, options)))
  out.push(...(await checkDebris(store)))
  out.push(...checkTempFiles(store))
  const seen = new Set<string>()
  return out.filter((p) => (seen.has(keyOf(p)) ? false : (seen.add(keyOf(p)), true)))
}

const INDEX_ONLY = /(missing from index|wrong # of entries in index|non-unique entry in index)/

/** SQLite's own check of every page, table and index. Index damage is rebuilt by REINDEX; the rest needs a backup. */
function checkDatabase(store: Store): Found[] {
  let messages: string[]
  try {
    messages = (store.db.pragma('integrity_check') as Array<{integrity_check: string}>).map((r) => r.integrity_check)
  } catch (err) {
    messages = [describe(err)]
  }
  if (messages.length === 1 && messages[0] === 'ok') return []
  const indexOnly = messages.every((m) => INDEX_ONLY.test(m))
  const shown = messages.slice(0, 3).join('; ') + (messages.length > 3 ? `; and ${messages.length - 3} more` : '')
  return [
    {
      kind: 'database',
      object: META_DB_NAME,
      problem: `integrity check failed: ${shown}`,
      action: indexOnly ? 'rebuild the indexes (REINDEX)' : 'cannot repair: table pages are damaged; restore meta.db from a backup',
      repairable: indexOnly,
      fix: () => void store.db.exec('REINDEX'),
    },
  ]
}

/** Foreign keys no dedicated check covers (content -> blobs and snapshots -> dirs have their own). */
function checkForeignKeys(store: Store): Found[] {
  let rows: Array<{table: string; parent: string}>
  try {
    rows = store.db.pragma('foreign_key_check') as Array<{table: string; parent: string}>
  } catch (err) {
    return [{kind: 'foreign-key', object: META_DB_NAME, problem: describe(err), action: 'cannot repair: restore meta.db from a backup', repairable: false}]
  }
  const counts = new Map<string, number>()
  for (const r of rows) {
    if ((r.table === 'content' && r.parent === 'blobs') || (r.table === 'snapshots' && r.parent === 'snapshot_dirs')) continue
    const key = `${r.table} -> ${r.parent}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  return [...counts].map(([object, n]) => ({
    kind: 'foreign-key',
    object,
    problem: `${n} ${n === 1 ? 'row references' : 'rows reference'} a missing ${object.split(' -> ')[1]} row`,
    action: 'cannot repair without guessing: remove the objects with ctr, or restore meta.db from a backup',
    repairable: false,
  }))
}

/** Every blob row has its file, of its size (and, with `full`, of its digest). */
async function checkBlobs(store: Store, full: boolean): Promise<Found[]> {
  const out: Found[] = []
  const rows = store.db.prepare('SELECT digest, size FROM blobs ORDER BY digest').all() as Array<{digest: string; size: number}>
  for (const {digest, size} of rows) {
    const path = blobPath(store.root, digest)
    let actual: number
    try {
      actual = statSync(path).size
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      out.push({
        kind: 'blob',
        object: digest,
        problem: 'file is missing',
        action: 'drop its records (a pull fetches it again)',
        repairable: true,
        fix: () => dropBlob(store, digest),
      })
      continue
    }
    if (actual !== size) {
      out.push({
        kind: 'blob',
        object: digest,
        problem: `file has ${actual} bytes, its record ${size}`,
        action: `move the file to ${LOST_AND_FOUND}/ and drop its records (a pull fetches it again)`,
        repairable: true,
        fix: () => dropBlob(store, digest),
      })
      continue
    }
    if (full) {
      const hashed = await hashFile(path, digest.split(':')[0])
      if (hashed !== digest) {
        out.push({
          kind: 'blob',
          object: digest,
          problem: `content hashes to ${hashed}`,
          action: `move the file to ${LOST_AND_FOUND}/ and drop its records (a pull fetches it again)`,
          repairable: true,
          fix: () => dropBlob(store, digest),
        })
      }
    }
  }
  return out
}

async function hashFile(path: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm)
  for await (const chunk of createReadStream(path, {highWaterMark: 1 << 20})) hash.update(chunk as Buffer)
  return `${algorithm}:${hash.digest('hex')}`
}

/**
 * Under the digest's lock: move a damaged file aside, then drop the blob row and every
 * namespace's content row for it (with their `/content/delete` events) in one transaction. The
 * file goes first: a crash between leaves a row without its file, which the next fsck finds again.
 */
async function dropBlob(store: Store, digest: string): Promise<void> {
  const lock = await acquireLock(store.root, blobLockName(digest), {timeoutMs: 0})
  try {
    const path = blobPath(store.root, digest)
    if (existsSync(path)) {
      const lost = lostAndFoundDir(store.root)
      mkdirSync(lost, {recursive: true, mode: PRIVATE_DIR_MODE})
      renameSync(path, join(lost, `${digest.replace(':', '-')}.${Date.now()}`))
    }
    store.db
      .transaction(() => {
        for (const {namespace} of store.db.prepare('SELECT namespace FROM content WHERE digest = ? ORDER BY namespace').all(digest) as Array<{
          namespace: string
        }>) {
          store.db.prepare('DELETE FROM content WHERE namespace = ? AND digest = ?').run(namespace, digest)
          appendEvent(store.db, namespace, {topic: '/content/delete', digest}, store.retention)
        }
        store.db.prepare('DELETE FROM blobs WHERE digest = ?').run(digest)
      })
      .immediate()
  } finally {
    lock.release()
  }
}

/** Content rows whose blob row is gone: re-recorded when the file is still there and verifies, else dropped. */
function checkContentRows(store: Store): Found[] {
  const rows = store.db
    .prepare('SELECT DISTINCT c.digest, c.size FROM content c LEFT JOIN blobs b ON b.digest = c.digest WHERE b.digest IS NULL ORDER BY c.digest')
    .all() as Array<{digest: string; size: number}>
  return rows.map(({digest, size}) => ({
    kind: 'content',
    object: digest,
    problem: 'recorded in a namespace, but the blob has no record',
    action: 'record the blob again if its file verifies, else drop the records',
    repairable: true,
    fix: async () => {
      const path = blobPath(store.root, digest)
      const verifies = existsSync(path) && statSync(path).size === size && (await hashFile(path, digest.split(':')[0])) === digest
      if (verifies) {
        store.db.prepare('INSERT OR IGNORE INTO blobs (digest, size, created_at) VALUES (?, ?, ?)').run(digest, size, Date.now() * 1000)
      } else {
        await dropBlob(store, digest)
      }
    },
  }))
}

/** Each image's target is content of its namespace. */
function checkImages(store: Store): Found[] {
  const rows = store.db
    .prepare(
      'SELECT i.namespace, i.name, i.target_digest FROM images i LEFT JOIN content c ON c.namespace = i.namespace AND c.digest = i.target_digest ' +
        'WHERE c.digest IS NULL ORDER BY i.namespace, i.name',
    )
    .all() as Array<{namespace: string; name: string; target_digest: string}>
  return rows.map((r) => ({
    kind: 'image',
    object: `${r.namespace}/${r.name}`,
    problem: `target ${r.target_digest} is not in the content store`,
    action: 'cannot repair without guessing: pull the image again, or remove it',
    repairable: false,
  }))
}

/** Each snapshot directory row has its directory; each snapshot record its directory row and parent. */
function checkSnapshots(store: Store): Found[] {
  const out: Found[] = []
  const dirs = store.db.prepare('SELECT snapshotter, id FROM snapshot_dirs ORDER BY snapshotter, id').all() as Array<{snapshotter: string; id: string}>
  for (const d of dirs) {
    if (existsSync(join(snapshotterDir(store.root, d.snapshotter), d.id, 'fs'))) continue
    const users = dependents(store, d.snapshotter, d.id)
    const containers = users.containers
    out.push({
      kind: 'snapshot',
      object: `${d.snapshotter}/${d.id}`,
      problem: `directory is missing (used by ${users.records.length} snapshot ${users.records.length === 1 ? 'record' : 'records'})`,
      action:
        containers.length > 0
          ? `cannot repair: container ${containers[0]} uses it; remove the container, then run fsck --repair again`
          : 'drop its records and those of the snapshots above it (an unpack makes them again)',
      repairable: containers.length === 0,
      fix: () => dropSnapshotDir(store, d.snapshotter, d.id),
    })
  }
  const orphans = store.db
    .prepare(
      `SELECT s.namespace, s.snapshotter, s.key, s.parent FROM snapshots s WHERE s.parent IS NOT NULL AND NOT EXISTS
       (SELECT 1 FROM snapshots p WHERE p.namespace = s.namespace AND p.snapshotter = s.snapshotter AND p.key = s.parent) ORDER BY 1, 2, 3`,
    )
    .all() as Array<{namespace: string; snapshotter: string; key: string; parent: string}>
  for (const s of orphans) {
    out.push({
      kind: 'snapshot',
      object: `${s.namespace}/${s.snapshotter}/${s.key}`,
      problem: `parent ${JSON.stringify(s.parent)} has no record`,
      action: 'cannot repair without guessing: remove the snapshot with ctr snapshots rm',
      repairable: false,
    })
  }
  const dangling = store.db
    .prepare(
      'SELECT s.namespace, s.snapshotter, s.key, s.dir FROM snapshots s LEFT JOIN snapshot_dirs d ON d.snapshotter = s.snapshotter AND d.id = ' +
        's.dir WHERE d.id IS NULL ORDER BY 1, 2, 3',
    )
    .all() as Array<{namespace: string; snapshotter: string; key: string; dir: string}>
  for (const s of dangling) {
    out.push({
      kind: 'snapshot',
      object: `${s.namespace}/${s.snapshotter}/${s.key}`,
      problem: `directory ${s.dir} has no record`,
      action: 'cannot repair without guessing: remove the snapshot with ctr snapshots rm',
      repairable: false,
    })
  }
  return out
}

/** The directory's descendants' snapshot records, and containers using any of them. */
function dependents(store: Store, snapshotter: string, id: string): {dirs: string[]; records: Array<{namespace: string; key: string}>; containers: string[]} {
  const dirs = (
    store.db
      .prepare(
        `WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT d.id FROM snapshot_dirs d JOIN sub ON d.snapshotter = ? AND d.parent = sub.id) SELECT id FROM sub`,
      )
      .all(id, snapshotter) as Array<{id: string}>
  ).map((r) => r.id)
  const json = JSON.stringify(dirs)
  const records = store.db
    .prepare('SELECT namespace, key FROM snapshots WHERE snapshotter = ? AND dir IN (SELECT value FROM json_each(?)) ORDER BY namespace, key')
    .all(snapshotter, json) as Array<{namespace: string; key: string}>
  const containers = (
    store.db
      .prepare(
        `SELECT c.namespace || '/' || c.id AS name FROM containers c ` +
          `JOIN snapshots s ON s.namespace = c.namespace AND s.snapshotter = c.snapshotter AND s.key = c.snapshot_key
         WHERE s.snapshotter = ? AND s.dir IN (SELECT value FROM json_each(?)) ORDER BY 1`,
      )
      .all(snapshotter, json) as Array<{name: string}>
  ).map((r) => r.name)
  return {dirs, records, containers}
}

/** Drop the records of a snapshot directory that is gone, and of every snapshot stacked on it, with `/snapshot/remove`. */
function dropSnapshotDir(store: Store, snapshotter: string, id: string): void {
  store.db
    .transaction(() => {
      const {dirs, records, containers} = dependents(store, snapshotter, id)
      if (containers.length > 0) return
      for (const r of records) {
        store.db.prepare('DELETE FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?').run(r.namespace, snapshotter, r.key)
        appendEvent(store.db, r.namespace, {topic: '/snapshot/remove', key: r.key, snapshotter}, store.retention)
      }
      // Deepest first is not needed: parent is not a foreign key. Directories of descendants that
      // still exist become rowless debris that the closing GC pass removes.
      for (const d of dirs) store.db.prepare('DELETE FROM snapshot_dirs WHERE snapshotter = ? AND id = ?').run(snapshotter, d)
    })
    .immediate()
}

/** Tasks whose process died unrecorded, runc state and rootfs mounts no live task owns. */
async function checkTasks(store: Store, options: FsckOptions): Promise<Found[]> {
  const out: Found[] = []
  const live = new Set<string>() // tasks with a record that is not stopped, dead or alive
  for (const {name: ns} of store.namespaces.list()) {
    const open = store.tasks.list(ns).filter(isUnfinished)
    if (open.length === 0) continue
    const rt = await options.runtimeFor(ns)
    for (const t of open) {
      if (await taskIsStale(rt, t)) {
        out.push({
          kind: 'task',
          object: `${ns}/${t.containerId}`,
          problem: `recorded ${t.status}, but its process (pid ${t.pid}) is gone`,
          action: 'record its exit and clean up its mounts and runc state',
          repairable: true,
          bySweep: true,
        })
      }
      // A stale task's mount and runc state are its own problem's to clean up: one line for it.
      live.add(`${ns}/${t.containerId}`)
    }
  }
  // runc state: <state>/runc/<ns>/<id>/ of a task that is not live.
  for (const ns of listDir(runcStateDir(store.state))) {
    for (const id of listDir(runcRoot(store.state, ns))) {
      if (live.has(`${ns}/${id}`) || (await lockHeld(store, ns, id))) continue
      if (!existsSync(join(runcRoot(store.state, ns), id, 'state.json')) && statSafe(join(runcRoot(store.state, ns), id))?.isDirectory() !== true) continue
      out.push({
        kind: 'runc-state',
        object: `${ns}/${id}`,
        problem: 'runc keeps state for a container with no live task',
        action: 'runc delete --force',
        repairable: true,
        fix: async () => {
          const rt = await options.runtimeFor(ns)
          try {
            await rt.runc.delete(id, {force: true})
          } finally {
            if (existsSync(join(rt.runc.root, id))) removeTree(join(rt.runc.root, id))
          }
        },
      })
    }
  }
  // Rootfs mounts of tasks that are not live.
  const mounts = readMountTable()
  const state = `${store.state.replace(/\/+$/, '')}/`
  for (const m of mounts) {
    if (!m.target.startsWith(state)) continue
    const match = /^(tasks|userns)\/([^/]+)\/([^/]+)\/rootfs$/.exec(m.target.slice(state.length))
    if (!match) continue
    const [, , ns, id] = match as unknown as [string, string, string, string]
    if (live.has(`${ns}/${id}`) || (await lockHeld(store, ns, id))) continue
    out.push({
      kind: 'mount',
      object: m.target,
      problem: `rootfs of ${ns}/${id} is mounted, but it has no live task`,
      action: 'unmount it',
      repairable: true,
      fix: () => unmountDetached(m.target),
    })
  }
  return out
}

/** Whether a command works on the task right now (its lock is held): its files are in flux. */
async function lockHeld(store: Store, ns: string, id: string): Promise<boolean> {
  let lock: Lock
  try {
    lock = await acquireLock(store.state, `task.${ns}.${id}`, {timeoutMs: 0})
  } catch (err) {
    if (errorKind(err) === 'unavailable') return true
    return false // an id that is no lock name is nobody's task
  }
  lock.release()
  return false
}

/**
 * What GC would remove that only a crash leaves behind: blob files and snapshot directories
 * without a row, stale ingests of writers that are gone (GC's rule: unlocked, and idle for its
 * ingest age), and mounts of dead snapshot directories. A repair runs the collection itself.
 */
async function checkDebris(store: Store): Promise<Found[]> {
  const report = await collectGarbage(store, {dryRun: true, explain: false})
  const out: Found[] = []
  for (const r of report.removed) {
    const object = r.namespace ? `${r.namespace}/${r.id}` : r.id
    switch (r.kind) {
      case 'blob':
        out.push({kind: 'blob', object, problem: 'leftover file (no namespace records it)', action: 'delete it (gc)', repairable: true, byGc: true})
        break
      case 'snapshot-dir':
        out.push({kind: 'snapshot-dir', object, problem: 'leftover directory (no snapshot records it)', action: 'delete it (gc)', repairable: true, byGc: true})
        break
      case 'ingest':
        out.push({kind: 'ingest', object, problem: 'leftover download of a writer that is gone', action: 'delete it (gc)', repairable: true, byGc: true})
        break
      case 'mount':
        out.push({kind: 'mount', object, problem: 'leftover mount of a snapshot no record needs', action: 'unmount it (gc)', repairable: true, byGc: true})
        break
      default:
        break // records GC would drop are garbage, not damage
    }
  }
  return out
}

const TEMP_FILE = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/

/** Temporary files of atomic writes (`.<name>.<pid>.<random>.tmp`) whose writer is dead. */
function checkTempFiles(store: Store): Found[] {
  const out: Found[] = []
  const base = containersDir(store.root)
  for (const ns of listDir(base)) {
    for (const id of listDir(join(base, ns))) {
      for (const name of listDir(join(base, ns, id))) {
        const m = TEMP_FILE.exec(name)
        if (!m || processAlive(Number(m[1]))) continue
        const path = join(base, ns, id, name)
        out.push({
          kind: 'temp',
          object: path,
          problem: 'temporary file of a writer that is gone',
          action: 'delete it',
          repairable: true,
          fix: () => removeTree(path),
        })
      }
    }
  }
  return out
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort()
  } catch {
    return []
  }
}

function statSafe(path: string) {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}
