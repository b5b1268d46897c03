// Walks and removals of directory trees whose shape is untrusted (layer contents, what a container
// wrote, what a killed extraction left): iterative with an explicit stack, never recursion on the
// tree's depth, never following a symlink, and working at any depth.
//
// Invariants: every path handed to the kernel stays under PATH_MAX. Past a budget of bytes the walk
// continues from an open descriptor of the directory it reached, through `/proc/self/fd/<fd>/<rest>`
// (openat-style, with no chdir, so it is safe in worker threads); it holds one such descriptor at a
// time and climbs back with `..`, checked against the device and inode it left there. Removal never
// crosses into another file system (a mount point), keeps going past what it cannot remove, and
// only then throws one error naming the first failure and how many more there were.
import {closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, rmdirSync, unlinkSync} from 'node:fs'
import {errorOfKind, FailedPrecondition, Internal, InvalidArgument, isBerthError, PermissionDenied, Unavailable, type BerthError} from '../errors/index.js'
import {kindOfCode} from '../errors/errno.js'

/**
 * Bytes of `base/rel` beyond which the walk re-anchors. Plus `/`, a 255-byte name and a NUL it
 * stays far under PATH_MAX (4096); and the kernel's walk of each path costs time linear in its
 * components: measured on a 4000-deep tree, a budget of 3800 made the walk 3x slower than 1024.
 */
const PATH_BUDGET = 1024
/** The most bytes of path the kernel takes (PATH_MAX, NUL included). */
const PATH_MAX = 4096
/** `..` components climbed per open when returning to an anchor's parent (3 bytes each). */
const CLIMB_STEP = 1000
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW

/** Where the walk was before it re-anchored, to climb back there. */
interface Anchor {
  readonly base: string
  readonly baseBytes: number
  readonly rel: string
  readonly relBytes: number
  /** The directory entered when re-anchoring. */
  readonly name: string
  /** `..` steps from the new anchor back to the previous base. */
  readonly levels: number
  /** Whether the previous base was a descriptor (else the root's path). */
  readonly fromFd: boolean
  /** Identity of the previous base when it was a descriptor (checked after climbing back). */
  readonly dev: number
  readonly ino: number
}

/** A position in a tree: the current directory as `base` (a path or a descriptor) plus a short relative path. */
class Cursor {
  private base: string
  private baseBytes: number
  private rel = ''
  private relBytes = 0
  private relDepth = 0
  private fd = -1
  private readonly anchors: Anchor[] = []

  constructor(root: string) {
    this.base = root
    this.baseBytes = Buffer.byteLength(root)
  }

  /** A path the kernel accepts for the current directory, or for `name` in it. */
  path(name?: string): string {
    const dir = this.rel === '' ? this.base : `${this.base}/${this.rel}`
    return name === undefined ? dir : `${dir}/${name}`
  }

  /** Enter subdirectory `name` (found by a listing as a directory). */
  down(name: string): void {
    const bytes = this.relBytes + (this.rel === '' ? 0 : 1) + Buffer.byteLength(name)
    if (this.baseBytes + 1 + bytes <= PATH_BUDGET) {
      this.rel = this.rel === '' ? name : `${this.rel}/${name}`
      this.relBytes = bytes
      this.relDepth++
      return
    }
    const fd = openSync(this.path(name), DIR_FLAGS)
    let dev = 0
    let ino = 0
    const fromFd = this.fd >= 0
    if (fromFd) {
      const st = fstatSync(this.fd)
      dev = st.dev
      ino = st.ino
      closeSync(this.fd)
    }
    this.anchors.push({base: this.base, baseBytes: this.baseBytes, rel: this.rel, relBytes: this.relBytes, name, levels: this.relDepth + 1, fromFd, dev, ino})
    this.fd = fd
    this.base = `/proc/self/fd/${fd}`
    this.baseBytes = this.base.length
    this.rel = ''
    this.relBytes = 0
    this.relDepth = 0
  }

  /** Leave the current directory for its parent. @returns the name of the directory left. */
  up(): string {
    if (this.rel !== '') {
      const slash = this.rel.lastIndexOf('/')
      const name = this.rel.slice(slash + 1)
      this.rel = slash < 0 ? '' : this.rel.slice(0, slash)
      this.relBytes -= Buffer.byteLength(name) + (slash < 0 ? 0 : 1)
      this.relDepth--
      return name
    }
    const a = this.anchors.pop()
    if (a === undefined) throw new Internal('tree walk: up from the root')
    const wasFd = a.fromFd
    let fd = this.fd
    if (wasFd) {
      // Climb back to the previous anchor's directory, then make sure it is the same one.
      for (let left = a.levels; left > 0; left -= CLIMB_STEP) {
        const next = openSync(`/proc/self/fd/${fd}/${'../'.repeat(Math.min(left, CLIMB_STEP))}`, DIR_FLAGS)
        closeSync(fd)
        fd = next
      }
      const st = fstatSync(fd)
      if (st.dev !== a.dev || st.ino !== a.ino) {
        closeSync(fd)
        this.fd = -1
        throw new FailedPrecondition('tree walk: the tree changed underneath (a directory moved)')
      }
      this.fd = fd
    } else {
      closeSync(fd)
      this.fd = -1
    }
    this.base = wasFd ? `/proc/self/fd/${this.fd}` : a.base
    this.baseBytes = wasFd ? this.base.length : a.baseBytes
    this.rel = a.rel
    this.relBytes = a.relBytes
    this.relDepth = a.levels - 1
    return a.name
  }

  /** Release the descriptor held. Idempotent. */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }
}

/** Collects what could not be removed; the first failure names the error. */
class Failures {
  first: NodeJS.ErrnoException | undefined
  firstWhere = ''
  count = 0

  constructor(private readonly root: string) {}

  add(err: unknown, where: string): void {
    const code = (err as NodeJS.ErrnoException)?.code
    if (code === 'ENOENT') return // gone already: what we wanted
    if (this.count++ === 0) {
      this.first = err as NodeJS.ErrnoException
      this.firstWhere = where
    }
  }

  /** @throws the BerthError for the first failure, if any. */
  check(): void {
    if (this.count === 0) return
    const e = this.first!
    const text = e.code ? `${e.syscall ?? 'remove'} ${this.firstWhere}: ${e.code}: ${errnoText(e)}` : `${this.firstWhere}: ${e.message}`
    const more = this.count > 1 ? ` (and ${this.count - 1} more ${this.count === 2 ? 'failure' : 'failures'})` : ''
    throw errorFor(e, `cannot remove ${JSON.stringify(this.root)}: ${text}${more}`)
  }
}

/** Node's description of an errno (`EPERM: operation not permitted, unlink '…'` -> `operation not permitted`). */
function errnoText(e: NodeJS.ErrnoException): string {
  const m = /^[A-Z0-9]+: ([^,]*)/.exec(e.message)
  return m ? m[1] : e.message
}

/** The error of the kind `e`'s errno means here; codes this file does not single out take the one table's kind (ENOSPC: unavailable). */
function errorFor(e: NodeJS.ErrnoException, message: string): BerthError {
  const Kind = specialKind(e)
  return Kind ? new Kind(message, {cause: e}) : errorOfKind(kindOfCode(e.code), message, {cause: e})
}

function specialKind(e: NodeJS.ErrnoException): (new (message: string, options?: {cause?: unknown}) => BerthError) | undefined {
  switch (e.code) {
    case 'EPERM':
    case 'EACCES':
    case 'EROFS':
      return PermissionDenied
    case 'EBUSY':
    case 'EXDEV':
      return FailedPrecondition
    case 'EMFILE':
    case 'ENFILE':
    case 'ENOMEM':
      return Unavailable
    case 'ENAMETOOLONG':
    case 'ELOOP':
      return InvalidArgument
    case undefined:
      return Internal
    default:
      return undefined
  }
}

/**
 * A file-system error as a BerthError of the kind its errno means (EPERM -> PermissionDenied, ...),
 * its message prefixed with `what`; BerthErrors pass through unchanged.
 */
export function fsError(err: unknown, what: string): BerthError {
  if (isBerthError(err)) return err
  const e = err as NodeJS.ErrnoException
  return errorFor(e ?? {}, `${what}: ${e?.code ? `${e.code}: ${errnoText(e)}` : String(e?.message ?? err)}`)
}

/** A short, readable form of a path inside a tree for messages: at most about 200 characters. */
export function shortPath(path: string): string {
  return path.length <= 200 ? path : `${path.slice(0, 80)}…${path.slice(-100)} (${Buffer.byteLength(path)} bytes)`
}

/** Options of {@link removeTree}. */
export interface RemoveTreeOptions {
  /**
   * Told about each entry removed below the root, with its path relative to the root, as long as
   * the root's path plus that one fit in PATH_MAX (deeper entries cannot have been made by path).
   */
  readonly onRemoved?: (rel: string) => void
}

interface RemoveFrame {
  readonly dirs: string[]
  i: number
  /** Path of this directory relative to the root, while short enough to report. */
  readonly rel: string | undefined
}

/**
 * Remove `path` and everything below it, like `rm -rf --one-file-system`: a missing path is
 * fine, a symlink or file at `path` is unlinked, symlinks inside are removed, never followed,
 * and a directory on another file system (a mount point) is left with what it holds. Removes
 * everything it can before it reports what it could not.
 * @throws PermissionDenied (EPERM, EACCES: an immutable file, a read-only file system),
 * FailedPrecondition (a mount point, EBUSY), Unavailable, Internal — naming the first entry that
 * stayed and counting the others.
 */
export function removeTree(path: string, options: RemoveTreeOptions = {}): void {
  const failures = new Failures(path)
  let st
  try {
    st = lstatSync(path)
  } catch (err) {
    failures.add(err, shortPath(path))
    return failures.check()
  }
  if (!st.isDirectory()) {
    try {
      unlinkSync(path)
    } catch (err) {
      failures.add(err, shortPath(path))
    }
    return failures.check()
  }
  const onRemoved = options.onRemoved
  const relRoom = PATH_MAX - 2 - Buffer.byteLength(path) // bytes left for `/<rel>` and the NUL
  const childRel = (parent: string | undefined, name: string): string | undefined => {
    if (parent === undefined) return undefined
    const rel = parent === '' ? name : `${parent}/${name}`
    return Buffer.byteLength(rel) <= relRoom ? rel : undefined
  }
  const where = (rel: string | undefined, name?: string): string =>
    rel !== undefined ? shortPath(rel === '' ? path : `${path}/${rel}`) : `${shortPath(path)}/…/${name ?? ''}`
  const cursor = new Cursor(path)
  const stack: RemoveFrame[] = []
  // List the current directory: unlink what is not a directory, keep subdirectories for later.
  const enter = (rel: string | undefined): void => {
    const dirs: string[] = []
    stack.push({dirs, i: 0, rel})
    let entries
    try {
      entries = readdirSync(cursor.path(), {withFileTypes: true})
    } catch (err) {
      failures.add(err, where(rel))
      return
    }
    for (const e of entries) {
      const name = e.name
      const entryPath = cursor.path(name)
      try {
        if (e.isDirectory()) {
          const sub = lstatSync(entryPath)
          if (sub.isDirectory()) {
            if (sub.dev === st.dev) dirs.push(name)
            else
              failures.add(
                Object.assign(new Error('EXDEV: another file system is mounted there'), {code: 'EXDEV', syscall: 'rmdir'}),
                where(childRel(rel, name), name),
              )
            continue
          }
        }
        unlinkSync(entryPath)
        if (onRemoved !== undefined) {
          const r = childRel(rel, name)
          if (r !== undefined) onRemoved(r)
        }
      } catch (err) {
        failures.add(err, where(childRel(rel, name), name))
      }
    }
  }
  try {
    enter('')
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      if (top.i < top.dirs.length) {
        const name = top.dirs[top.i++]
        const rel = childRel(top.rel, name)
        try {
          cursor.down(name)
        } catch (err) {
          failures.add(err, where(rel, name))
          continue
        }
        enter(rel)
        continue
      }
      stack.pop()
      if (stack.length === 0) break
      const name = cursor.up()
      try {
        rmdirSync(cursor.path(name))
        if (top.rel !== undefined) onRemoved?.(top.rel)
      } catch (err) {
        failures.add(err, where(top.rel, name))
      }
    }
    try {
      rmdirSync(path)
    } catch (err) {
      if (failures.count === 0) failures.add(err, shortPath(path))
    }
  } catch (err) {
    // Only climbing back failed: the walk cannot go on safely.
    failures.add(err, shortPath(path))
  } finally {
    cursor.close()
  }
  failures.check()
}

/** containerd's snapshots.Usage: allocated bytes (512-byte blocks) and distinct inodes. */
export interface TreeUsage {
  size: number
  inodes: number
}

/**
 * Allocated bytes and distinct inodes below (and including) `path`, without following symlinks
 * and counting each inode once (hardlinks), as `du` does. Entries that vanish during the walk are
 * skipped; a missing `path` counts nothing.
 * @throws Node's errors for other failures (EACCES, ...).
 */
export function treeUsage(path: string): TreeUsage {
  const seen = new Set<string>()
  let size = 0
  const count = (p: string): boolean | undefined => {
    let st
    try {
      st = lstatSync(p, {bigint: true})
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
    const key = `${st.dev}:${st.ino}`
    if (!seen.has(key)) {
      seen.add(key)
      size += Number(st.blocks) * 512
    }
    return st.isDirectory()
  }
  if (count(path) !== true) return {size, inodes: seen.size}
  const cursor = new Cursor(path)
  const stack: {dirs: string[]; i: number}[] = []
  const enter = (): void => {
    const dirs: string[] = []
    stack.push({dirs, i: 0})
    let names: string[]
    try {
      names = readdirSync(cursor.path())
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    for (const name of names) if (count(cursor.path(name)) === true) dirs.push(name)
  }
  try {
    enter()
    while (stack.length > 0) {
      const top = stack[stack.length - 1]
      if (top.i < top.dirs.length) {
        const name = top.dirs[top.i++]
        try {
          cursor.down(name)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
          throw err
        }
        enter()
        continue
      }
      stack.pop()
      if (stack.length > 0) cursor.up()
    }
  } finally {
    cursor.close()
  }
  return {size, inodes: seen.size}
}
