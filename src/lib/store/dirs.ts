// Making the directories of root and state: created with explicit modes (never the umask's), and
// root and state themselves tightened to 0700 when an older Berth made them 0711. A leaf of the
// store: it imports only paths.ts, so locks.ts and database.ts can both use it without a circle.
import {chmodSync, existsSync, mkdirSync, readdirSync, statSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fromSystemError} from '../errors/errno.js'
import {PARENT_DIR_MODE, PRIVATE_DIR_MODE, TRAVERSE_DIR_MODE} from './paths.js'

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

function fsError(err: unknown, what: string): Error {
  return fromSystemError(err, what)
}
