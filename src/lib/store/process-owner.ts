// Who owns a pull's lease and ingests: each process that starts one holds an exclusive flock on
// its own owner file `<root>/owners/<pid>-<nonce>` for as long as it lives. The lock belongs to an
// open file description that is close-on-exec (no runc or conmon child inherits it), so it goes
// exactly when the process ends, however it ends. A lease or ingest whose owner file is gone or
// unlocked belongs to a dead process and is collectable at once; a live owner's never are.
//
// Invariant: an owner file is visible under its name only while locked by its creator — it is
// made under a dot-name, locked, then renamed into place — so a checker never mistakes a process
// that is just starting for a dead one.
import {closeSync, openSync, readdirSync, renameSync, statSync, unlinkSync} from 'node:fs'
import {join} from 'node:path'
import * as sys from '../sys/index.js'
import {ensureDir} from './database.js'
import {ownersDir, PRIVATE_FILE_MODE} from './paths.js'

/** An owner as `content active` and `ctr fsck` show it. */
export interface OwnerStatus {
  /** `<pid>-<nonce>`, as recorded with the ingest or the lease. */
  readonly id: string
  readonly pid: number
  /** True while the owning process lives (its flock is held). */
  readonly alive: boolean
}

const OWNER_ID = /^([1-9][0-9]*)-[0-9a-f]{8}$/
/** Half-made owner files (`.<id>`) older than this belong to a process killed while starting. */
const STARTING_MAX_AGE_MS = 60_000

export {ownersDir}

const mine = new Map<string, string>()

/**
 * This process's owner id under `root`, creating and locking its owner file on first use; the
 * lock is held until the process exits (the file is removed on a normal exit).
 * @throws a system error (the caller maps it) when the file cannot be made.
 */
export function processOwner(root: string): string {
  const known = mine.get(root)
  if (known !== undefined) return known
  const dir = ownersDir(root)
  ensureDir(dir)
  const nonce = Math.floor(Math.random() * 0x1_0000_0000)
    .toString(16)
    .padStart(8, '0')
  const id = `${process.pid}-${nonce}`
  const starting = join(dir, `.${id}`)
  const fd = openSync(starting, 'wx', PRIVATE_FILE_MODE) // empty: needs an inode, not a block of a full disk
  try {
    sys.flock(fd, sys.LOCK_EX | sys.LOCK_NB)
    renameSync(starting, join(dir, id))
  } catch (err) {
    closeSync(fd)
    try {
      unlinkSync(starting)
    } catch {
      // nothing was made
    }
    throw err
  }
  mine.set(root, id)
  // The descriptor stays open (and locked) for the life of the process, on purpose.
  process.once('exit', () => {
    try {
      unlinkSync(join(dir, id))
    } catch {
      // GC removes it once it is seen unlocked
    }
  })
  return id
}

/** The pid an owner id names, or 0 for a malformed one. */
export function ownerPid(id: string): number {
  const m = OWNER_ID.exec(id)
  return m ? Number(m[1]) : 0
}

/**
 * Is the process that owns `id` alive? True when its owner file is locked by someone (this
 * process's own included). A missing file, a malformed id or an unlocked file is a dead owner.
 */
export function ownerAlive(root: string, id: string): boolean {
  if (!OWNER_ID.test(id)) return false
  if (mine.get(root) === id) return true
  let fd: number
  try {
    fd = openSync(join(ownersDir(root), id), 'r')
  } catch {
    return false
  }
  try {
    sys.flock(fd, sys.LOCK_SH | sys.LOCK_NB)
    return false // we got it: nobody holds it
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'EWOULDBLOCK' || code === 'EAGAIN'
  } finally {
    closeSync(fd) // releases our probe lock, if taken
  }
}

/** The status of owner `id` (see {@link ownerAlive}). */
export function ownerStatus(root: string, id: string): OwnerStatus {
  return {id, pid: ownerPid(id), alive: ownerAlive(root, id)}
}

/**
 * Remove the owner files of dead processes that nothing in `referenced` names any more, and
 * half-made ones older than a minute. Returns the ids removed. Never throws (a file that cannot
 * be removed is tried again next time).
 */
export function removeDeadOwnerFiles(root: string, referenced: ReadonlySet<string>): string[] {
  const dir = ownersDir(root)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of names) {
    const starting = name.startsWith('.')
    const id = starting ? name.slice(1) : name
    if (referenced.has(id) || !OWNER_ID.test(id)) continue
    try {
      if (starting && Date.now() - statSync(join(dir, name)).mtimeMs < STARTING_MAX_AGE_MS) continue
      if (!starting && ownerAlive(root, id)) continue
      unlinkSync(join(dir, name))
      removed.push(id)
    } catch {
      // gone meanwhile, or not removable now
    }
  }
  return removed
}
