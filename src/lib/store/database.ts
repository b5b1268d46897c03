// Opens `<root>/meta.db`: creates root on first use (0700, tightening one an older Berth made
// 0711; dirs.ts), sets WAL and the busy timeout, and migrates. The native SQLite addon is loaded
// here, only when a command needs the store.
import {closeSync, existsSync, openSync, readdirSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join} from 'node:path'
import type {Database, Statement} from 'better-sqlite3'
import {fromSystemError} from '../errors/errno.js'
import {DataLoss, errorKind, FailedPrecondition, isBerthError, PermissionDenied} from '../errors/index.js'
import {distDir} from '../sys/index.js'
import {ensureTopDir} from './dirs.js'
import {SCHEMA_VERSION} from './schema-version.js'
import {blobsDir, DB_MODE, metaDbPath, snapshotterDir} from './paths.js'

/** Kept for the modules that made directories through this one before dirs.ts existed. */
export {ensureDir, ensureTopDir} from './dirs.js'

/**
 * How long a writer waits for another process's write transaction. Long on purpose: a CLI call
 * that waits is fine, one that fails with "database is locked" is a bug.
 */
export const BUSY_TIMEOUT_MS = 60_000

/**
 * Open (creating and migrating as needed) the metadata database under `root`.
 * @throws PermissionDenied, Unavailable, FailedPrecondition (schema newer than this binary).
 */
export async function openDatabase(root: string): Promise<Database> {
  ensureTopDir(root)
  const path = metaDbPath(root)
  try {
    // SQLite would create the file with the umask's mode; create it 0600 first. The WAL and
    // shared-memory files copy the database's permissions.
    closeSync(openSync(path, 'wx', DB_MODE))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(err, `cannot create ${JSON.stringify(path)}`)
    refuseLostDatabase(root, path)
  }
  const {default: SQLite} = await import('better-sqlite3')
  let db: Database
  try {
    db = new SQLite(path, {timeout: BUSY_TIMEOUT_MS, nativeBinding: nativeBindingPath()})
    cacheStatements(db)
  } catch (err) {
    throw fsError(err, `cannot open metadata store ${JSON.stringify(path)}`)
  }
  try {
    // One statement for both reads and one exec for both settings: each pragma() call prepares a
    // statement of its own, half a millisecond of every command's start-up for the four.
    const {journal, version} = db
      .prepare('SELECT j.journal_mode AS journal, v.user_version AS version FROM pragma_journal_mode() AS j, pragma_user_version() AS v')
      .get() as {journal: string; version: number}
    if (journal !== 'wal') await switchToWal(db, root)
    db.exec('PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON')
    if (version !== SCHEMA_VERSION) {
      // A new or older store (or a newer one, refused there): only then are the migrations loaded.
      const {migrate, MIGRATIONS} = await import('./migrations.js')
      migrate(db, MIGRATIONS, version)
    }
    return db
  } catch (err) {
    db.close()
    const code = (err as {code?: string}).code ?? ''
    if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
      throw new DataLoss(
        `metadata store ${JSON.stringify(path)} is damaged (${(err as Error).message}): restore it from a backup, or move it away to start an empty store`,
        {cause: err},
      )
    }
    if (isBerthError(err)) throw err
    const wrapped = fsError(err, `metadata store ${JSON.stringify(path)}`)
    throw isPermissionDenied(wrapped)
      ? new PermissionDenied(`${wrapped.message} (the store is on a read-only file system, or this user may not write it)`, {cause: err})
      : wrapped
  }
}

/**
 * An existing but empty meta.db is a lost or truncated database, not a new store, when content or
 * snapshots are already on disk: initialising it would record nothing, and the next GC would then
 * delete every blob and snapshot as unreferenced. Refuse instead. (A new store's file is empty only
 * between its creation and SQLite's first write, before any blob can exist.)
 * @throws DataLoss.
 */
function refuseLostDatabase(root: string, path: string): void {
  if (statSync(path).size !== 0) return
  for (const dir of [blobsDir(root, 'sha256'), snapshotterDir(root, 'overlayfs'), snapshotterDir(root, 'native')]) {
    let entries: string[]
    try {
      entries = readdirSync(dir)
    } catch {
      continue
    }
    if (entries.length > 0) {
      throw new DataLoss(
        `metadata store ${JSON.stringify(path)} is empty, but ${dir} holds ${entries.length} entries: the database was lost or truncated; restore ` +
          `it from a backup (refusing to start a new store that garbage collection would then empty)`,
      )
    }
  }
}

/** More distinct texts than the store's code has; a guard against SQL built with values in it. */
const STATEMENT_CACHE_SIZE = 512

/**
 * Answers `db.prepare` from a cache of prepared statements. The store's code prepares each
 * statement where it uses it, and one `images pull` into a second namespace prepared 263
 * statements of 21 texts: 5–6 ms of compiling SQL again. A statement that is still being iterated
 * is busy, so another use of its text meanwhile gets a fresh one. Nothing in Berth switches a
 * statement's modes (pluck, raw, expand, bind), which would carry over to the next user of the
 * text; better-sqlite3's own `pragma()` prepares through the native handle, not through this.
 */
function cacheStatements(db: Database): void {
  const prepare = db.prepare.bind(db)
  const cache = new Map<string, Statement>()
  db.prepare = ((sql: string) => {
    const cached = cache.get(sql)
    if (cached !== undefined && !cached.busy) return cached
    const statement = prepare(sql)
    if (cached === undefined && cache.size < STATEMENT_CACHE_SIZE) cache.set(sql, statement)
    return statement
  }) as Database['prepare']
}

/**
 * Switch a new database to WAL. The switch needs an exclusive lock, and two processes that both
 * read the journal mode and then ask for it get SQLITE_BUSY at once (SQLite's deadlock
 * avoidance skips the busy handler), so first openers take turns under a flock. Later opens
 * find WAL already set and never come here.
 */
async function switchToWal(db: Database, root: string): Promise<void> {
  const {acquireLock} = await import('./locks.js')
  const lock = await acquireLock(root, 'store-init')
  try {
    db.pragma('journal_mode = WAL')
  } finally {
    lock.release()
  }
}

/**
 * The addon's path, given to better-sqlite3 directly: its `bindings` lookup probes a dozen paths
 * on every start. (The bundle also inlines better-sqlite3's JavaScript; only the addon is loaded
 * from node_modules.)
 */
function nativeBindingPath(): string | undefined {
  // A checkout or a package with its own node_modules: `<package>/dist/...` beside
  // `<package>/node_modules/better-sqlite3`. One stat, where require.resolve walks the module
  // tree and reads package.json files (about a millisecond of every start).
  const dist = distDir()
  const beside = dist === undefined ? undefined : join(dist, '..', 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')
  if (beside !== undefined && existsSync(beside)) return beside
  const require = createRequire(import.meta.url)
  try {
    return require.resolve('better-sqlite3/build/Release/better_sqlite3.node')
  } catch {
    let pkg: string
    try {
      pkg = dirname(require.resolve('better-sqlite3/package.json'))
    } catch {
      return undefined // not an npm layout: let better-sqlite3 find its addon itself
    }
    // Its install script builds the addon; `npm install --ignore-scripts` skips it.
    throw new FailedPrecondition(
      `the SQLite addon is not built (${join(pkg, 'build', 'Release', 'better_sqlite3.node')} is missing; was ctr installed with ` +
        `--ignore-scripts?): run \`npm rebuild better-sqlite3\` in ${dirname(dirname(pkg))}`,
    )
  }
}

function fsError(err: unknown, what: string): Error {
  return fromSystemError(err, what)
}

const isPermissionDenied = (err: unknown) => errorKind(err) === 'permission denied'
