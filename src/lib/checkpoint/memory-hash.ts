// Hashing the dump's memory file while CRIU still works. CRIU writes a process's pages
// (pages-<n>.img) and closes the file early in the dump, then spends 100 ms and more on the rest
// (namespaces, mounts, cgroups, runc's hooks); the checkpoint's event loop is idle meanwhile. An
// inotify watch on the dump dir says when a pages file is closed after writing; from then on its
// tar leading bytes (criu-tar.ts's leadingBytes: they depend only on its stat) and its data are
// fed to a SHA-256 in 4 MiB steps between event-loop turns, and its writeback is started (ext4's
// insert-range waits for it). makeDumpTar then completes the hash with the tar's end instead of
// the store reading 100 MiB again.
//
// Invariants: the hash is handed on only when, by the time runc returned (CRIU and its children
// gone, so every descriptor that could write the file closed), the file had no second close-write
// (any later writer must have opened and closed it), was not renamed, removed or changed in mode,
// no event was lost (IN_Q_OVERFLOW), its size and change times are those it had when the hash
// began, every byte of that size was hashed, and makeDumpTar's own stat gives the same leading
// bytes; otherwise the store hashes the tar as before. IN_MODIFY is not watched: CRIU's writes
// would queue tens of thousands of events. Nothing here writes to the dump.
import {createHash, type Hash} from 'node:crypto'
import {close, closeSync, fstatSync, openSync, readSync} from 'node:fs'
import {
  IN_ATTRIB,
  IN_CLOSE_WRITE,
  IN_CREATE,
  IN_DELETE,
  IN_MOVED_FROM,
  IN_MOVED_TO,
  IN_Q_OVERFLOW,
  inotifyRead,
  inotifyWatch,
  SYNC_FILE_RANGE_WRITE,
  syncFileRange,
} from '../sys/index.js'
import {type EarlyHash, leadingBytes, memberAt} from './criu-tar.js'

/** Pages files smaller than this are not worth an early hash (the store's pass over them is short). */
const MIN_SIZE = 1 << 20
const STEP = 4 << 20
/** How often the watch is read while CRIU runs. */
const POLL_MS = 2
const PAGES = /^pages-\d+\.img$/

interface Candidate {
  readonly name: string
  readonly fd: number
  readonly size: number
  readonly lead: Buffer
  readonly hash: Hash
  /** size, mtime and ctime (ns) when the hash began. */
  readonly stamp: string
  hashed: number
}

function stampOf(fd: number): string {
  const st = fstatSync(fd, {bigint: true})
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}`
}

/** Watches a dump dir and hashes its first large pages file once CRIU closes it. */
export class MemoryHasher {
  private readonly timer: NodeJS.Timeout
  private candidate: Candidate | undefined
  private spoiled = false
  private stepping = false
  private closed = false
  private buf: Buffer | undefined

  private constructor(
    private readonly dir: string,
    private readonly watch: number,
  ) {
    this.timer = setInterval(() => this.poll(), POLL_MS)
  }

  /** Start watching `dir` (before CRIU writes into it); undefined where inotify cannot (then the store hashes as before). */
  static watch(dir: string): MemoryHasher | undefined {
    try {
      const mask = IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
      return new MemoryHasher(dir, inotifyWatch(dir, mask))
    } catch {
      return undefined
    }
  }

  /**
   * CRIU is done: read the last events, stop watching, hash what is left of the file. Returns the
   * early hash, or undefined (none started, or spoiled). Call once, after the dump succeeded.
   */
  settle(): EarlyHash | undefined {
    if (this.closed) return undefined
    this.poll()
    this.unwatch()
    const c = this.candidate
    this.candidate = undefined
    if (!c) return undefined
    try {
      if (this.spoiled) return undefined
      while (this.step(c)) {
        // the rest, at once: the tar is made next
      }
      if (c.hashed !== c.size || stampOf(c.fd) !== c.stamp) return undefined
      return {name: c.name, lead: c.lead, hash: c.hash}
    } catch {
      return undefined
    } finally {
      closeSync(c.fd)
    }
  }

  /** Stop watching and drop any hash (a failed dump). Idempotent. */
  stop(): void {
    this.unwatch()
    const c = this.candidate
    this.candidate = undefined
    if (c) closeSync(c.fd)
  }

  private unwatch(): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    // On libuv's thread pool: closing an inotify descriptor waits for the kernel to reap its
    // marks (an SRCU grace period, ~20 ms here), which the tar and the commit need not wait for.
    close(this.watch, () => undefined)
  }

  private poll(): void {
    if (this.closed) return
    let events
    try {
      events = inotifyRead(this.watch)
    } catch {
      this.spoil()
      return
    }
    for (const e of events) {
      if (e.mask & IN_Q_OVERFLOW) this.spoil()
      else if (this.candidate) {
        if (e.name === this.candidate.name) this.spoil() // closed after writing again, moved, removed or chmodded
      } else if (!this.spoiled && e.mask & IN_CLOSE_WRITE && PAGES.test(e.name)) this.begin(e.name)
    }
  }

  private begin(name: string): void {
    let fd: number | undefined
    try {
      const m = memberAt(this.dir, name)
      if (m.size < MIN_SIZE) return
      fd = openSync(m.path, 'r')
      const st = fstatSync(fd)
      if (st.size !== m.size) throw new Error('changed while opened')
      const lead = leadingBytes(m, st.blksize)
      this.candidate = {name, fd, size: m.size, lead, hash: createHash('sha256').update(lead), stamp: stampOf(fd), hashed: 0}
      fd = undefined
      try {
        syncFileRange(this.candidate.fd, 0, 0, SYNC_FILE_RANGE_WRITE)
      } catch {
        // only a head start for the insert-range and the commit's fsync
      }
      this.schedule()
    } catch {
      if (fd !== undefined) closeSync(fd)
      this.spoil()
    }
  }

  /** Hash the next step on a later turn of the event loop, so runc's exit and the watch are seen meanwhile. */
  private schedule(): void {
    if (this.stepping) return
    this.stepping = true
    setImmediate(() => {
      this.stepping = false
      const c = this.candidate
      if (this.closed || this.spoiled || !c) return
      try {
        if (this.step(c)) this.schedule()
      } catch {
        this.spoil()
      }
    })
  }

  /** Hash one step of `c`; false at its end. */
  private step(c: Candidate): boolean {
    if (c.hashed >= c.size) return false
    this.buf ??= Buffer.allocUnsafe(STEP)
    const n = readSync(c.fd, this.buf, 0, Math.min(STEP, c.size - c.hashed), c.hashed)
    if (n === 0) throw new Error('pages file shrank')
    c.hash.update(this.buf.subarray(0, n))
    c.hashed += n
    return c.hashed < c.size
  }

  private spoil(): void {
    this.spoiled = true
  }
}
