// Opens `<root>/meta.db`: creates root and state on first use (0700, tightening those an older
// Berth made 0711), sets WAL and the busy timeout, and migrates. The native SQLite addon is loaded
// here, only when a command needs the store.
import {chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, statSync} from 'node:fs'
import {createRequire} from 'node:module'
import {dirname, join, resolve} from 'node:path'
import type {Database} from 'better-sqlite3'
import {fromSystemError} from '../errors/errno.js'
import {DataLoss, errorKind, FailedPrecondition, isBerthError, PermissionDenied} from '../errors/index.js'
import {migrate} from './migrations.js'
import {DB_MODE, PARENT_DIR_MODE, PRIVATE_DIR_MODE, TRAVERSE_DIR_MODE} from './paths.js'

/**
 * How long a writer waits for another process's write transaction. Long on purpose: a CLI call
 * that waits is fine, one that fails with "database is locked" is a bug.
 */
export const BUSY_TIMEOUT_MS = 60_000

/**
 * Create `dir` (mode `mode`) and its missing parents (mode `parentMode`). Existing directories are
 * left as they are. Hand-rolled because Node's recursive mkdirSync spins forever where mkdir(2)
 * answers ENOENT under an existing parent (e.g. below /proc). @throws PermissionDenied, Internal.
 */
export function ensureDir(dir: string, mode = PRIVATE_DIR_MODE, parentMode = mode): void {
  const target = resolve(dir)
  const missing: string[] = []
  for (let current = target; ; current = dirname(current)) {
    if (existsSync(current)) break
    missing.unshift(current)
    if (dirname(current) === current) break
  }
  for (const path of missing) {
    const wanted = path === target ? mode : parentMode
    try {
      mkdirSync(path, {mode: wanted})
      chmodSync(path, wanted) // exactly: never what the umask makes of it
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue // created concurrently
      throw fsError(err, `cannot create directory ${JSON.stringify(dir)}`)
    }
  }
}

/**
 * Make root or state ready: create it 0700 (missing parents 0711) on first use. One that exists
 * with another mode — an older Berth made them 0711, and their first-level directories (content,
 * snapshots, tasks, ...) 0711 too — is tightened once: it and every directory directly in it
 * become 0700. The check is the one stat the existence test took anyway, so a store in order
 * costs nothing more to open. With `traversable`, a 0711 top is accepted (state, once a container
 * with a user namespace ran) as long as its other children are 0700, which is checked then.
 * @throws PermissionDenied, Internal.
 */
export function ensureTopDir(dir: string, options: {traversable?: string} = {}): void {
  let mode: number
  try {
    mode = statSync(dir).mode & 0o7777
  } catch {
    ensureDir(dir, PRIVATE_DIR_MODE, PARENT_DIR_MODE) // missing (or unreachable: mkdir says why)
    return
  }
  if (mode === PRIVATE_DIR_MODE) return
  if (mode === TRAVERSE_DIR_MODE && options.traversable !== undefined) {
    // State made traversable for a user-namespace container: only its one traversable child may be.
    tightenChildren(dir, options.traversable)
    return
  }
  tightenTopDir(dir)
}

/** chmod 0700 the directories directly in `dir` that are not 0700, but `except`. */
function tightenChildren(dir: string, except: string): void {
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    if (!entry.isDirectory() || entry.name === except) continue
    const path = join(dir, entry.name)
    try {
      if ((statSync(path).mode & 0o7777) !== PRIVATE_DIR_MODE) chmodSync(path, PRIVATE_DIR_MODE)
    } catch {
      // removed meanwhile, or not ours
    }
  }
}

/**
 * chmod 0700 `dir` and the directories directly in it (not following symlinks). Not owning them
 * is no error (another user's store, opened to read): what is in it stays as its owner made it,
 * as containerd leaves a root it cannot chmod.
 */
function tightenTopDir(dir: string): void {
  try {
    chmodSync(dir, PRIVATE_DIR_MODE)
  } catch {
    return
  }
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    if (!entry.isDirectory()) continue
    try {
      chmodSync(join(dir, entry.name), PRIVATE_DIR_MODE)
    } catch {
      // removed meanwhile
    }
  }
}

/**
 * Open (creating and migrating as needed) the metadata database under `root`.
 * @throws PermissionDenied, Unavailable, FailedPrecondition (schema newer than this binary).
 */
export async function openDatabase(root: string): Promise<Database> {
  ensureTopDir(root)
  const path = join(root, 'meta.db')
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
  } catch (err) {
    throw fsError(err, `cannot open metadata store ${JSON.stringify(path)}`)
  }
  try {
    if ((db.pragma('journal_mode', {simple: true}) as string) !== 'wal') await switchToWal(db, root)
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    migrate(db)
    return db
  } catch (err) {
    db.close()
    const code = (err as {code?: string}).code ?? ''
    if (code.startsWith('SQLITE_NOTADB') || code.startsWith('SQLITE_CORRUPT')) {
      throw new DataLoss(`metadata store ${JSON.stringify(path)} is damaged (${(err as Error).message}): restore it from a backup, or move it away to start an empty store`, {cause: err})
    }
    if (isBerthError(err)) throw err
    const wrapped = fsError(err, `metadata store ${JSON.stringify(path)}`)
    throw isPermissionDenied(wrapped) ? new PermissionDenied(`${wrapped.message} (the store is on a read-only file system, or this user may not write it)`, {cause: err}) : wrapped
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
  for (const dir of ['content/blobs/sha256', 'snapshots/overlayfs', 'snapshots/native']) {
    let entries: string[]
    try {
      entries = readdirSync(join(root, dir))
    } catch {
      continue
    }
    if (entries.length > 0) {
      throw new DataLoss(
        `metadata store ${JSON.stringify(path)} is empty, but ${join(root, dir)} holds ${entries.length} entries: the database was lost or truncated; restore it from a backup (refusing to start a new store that garbage collection would then empty)`,
      )
    }
  }
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
    throw new FailedPrecondition(`the SQLite addon is not built (${join(pkg, 'build', 'Release', 'better_sqlite3.node')} is missing; was ctr installed with --ignore-scripts?): run \`npm rebuild better-sqlite3\` in ${dirname(dirname(pkg))}`)
  }
}

function fsError(err: unknown, what: string): Error {
  return fromSystemError(err, what)
}

const isPermissionDenied = (err: unknown) => errorKind(err) === 'permission denied'
