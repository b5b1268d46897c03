// Hashing and copying the dump's memory file while CRIU still works. CRIU writes a process's
// pages (pages-<n>.img) and closes the file early in the dump, then spends 100 ms and more on the
// rest (namespaces, mounts, cgroups, runc's hooks); the checkpoint's event loop is idle meanwhile.
// An inotify watch on the dump dir says when a pages file is closed after writing; from then on
// its tar leading bytes (criu-tar.ts's leadingBytes: they depend only on its stat) and its data
// are fed to a SHA-256 in 4 MiB steps between event-loop turns, and, with a tar path, the same
// bytes are written as the head of the tar (leading bytes, then copy_file_range on libuv's thread
// pool, then writeback started). makeDumpTar then only appends the rest and completes the hash:
// the store does not read 100 MiB again, and the memory stays in the page cache (insert-range
// would write it out and drop it, and a restore soon after read it back from the disk).
//
// Invariants: the hash is handed on only when, by the time runc returned (CRIU and its children
// gone, so every descriptor that could write the file closed), the file had no second close-write
// (any later writer must have opened and closed it), was not renamed, removed or changed in mode,
// no event was lost (IN_Q_OVERFLOW), its size and change times are those it had when the hash
// began, every byte of that size was hashed, and makeDumpTar's own stat gives the same leading
// bytes; otherwise the store hashes the tar as before. IN_MODIFY is not watched: CRIU's writes
// would queue tens of thousands of events. Nothing here writes to the dump.
import {createHash, type Hash} from 'node:crypto'
import {closeSync, fstatSync, openSync, readSync, rmSync, writeSync} from 'node:fs'
import {
  copyFileRangeAsync,
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
  /** The copy into the tar's head (through descriptors of its own, closed when it ends): true when all of it is there. */
  copy?: Promise<boolean>
}

function stampOf(fd: number): string {
  const st = fstatSync(fd, {bigint: true})
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}`
}

/** Watches a dump dir and hashes (and copies into the tar's head) its first large pages file once CRIU closes it. */
export class MemoryHasher {
  private readonly timer: NodeJS.Timeout
  private candidate: Candidate | undefined
  private spoiled = false
  private stepping = false
  private closed = false
  private buf: Buffer | undefined

  private constructor(
    private readonly dir: string,
    private readonly tar: string | undefined,
    private readonly watch: number,
  ) {
    this.timer = setInterval(() => this.poll(), POLL_MS)
  }

  /**
   * Start watching `dir` (before CRIU writes into it); with `tar` (a path on the same filesystem,
   * not yet existing), also copy the file into the tar's head. Undefined where inotify cannot
   * (then the store hashes as before).
   */
  static watch(dir: string, tar?: string): MemoryHasher | undefined {
    try {
      const mask = IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
      return new MemoryHasher(dir, tar, inotifyWatch(dir, mask))
    } catch {
      return undefined
    }
  }

  /**
   * CRIU is done: read the last events, stop watching, hash what is left of the file, wait for
   * the copy. Returns the early hash (`copied` when the tar's head is written), or undefined
   * (none started, or spoiled: then no tar file is left either). Call once, after the dump succeeded.
   */
  async settle(): Promise<EarlyHash | undefined> {
    if (this.closed) return undefined
    this.poll()
    this.unwatch()
    const c = this.candidate
    this.candidate = undefined
    if (!c) return undefined
    let early: EarlyHash | undefined
    try {
      if (!this.spoiled) {
        while (this.step(c)) {
          // the rest, at once: the tar is made next
        }
        if (c.hashed === c.size && stampOf(c.fd) === c.stamp) early = {name: c.name, lead: c.lead, hash: c.hash}
      }
    } catch {
      early = undefined
    }
    closeSync(c.fd)
    if (!c.copy) return early
    const copied = await c.copy
    if (early && copied) return {...early, copied: true}
    if (this.tar) rmSync(this.tar, {force: true})
    return early
  }

  /** Stop watching and drop any hash (a failed dump). Idempotent. A copy under way closes its descriptors when it ends. */
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
    closeSync(this.watch)
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
      const c: Candidate = {name, fd, size: m.size, lead, hash: createHash('sha256').update(lead), stamp: stampOf(fd), hashed: 0}
      fd = undefined
      this.candidate = c
      if (this.tar) c.copy = this.copyHead(c, this.tar)
      this.schedule()
    } catch {
      if (fd !== undefined) closeSync(fd)
      this.spoil()
    }
  }

  /**
   * Write the tar's head (leading bytes, then the file's data by copy_file_range off the main
   * thread) and start its writeback. Resolves true when all of it is there. Its descriptors are
   * its own, closed when it ends, whatever happened (never while the copy may still use them).
   */
  private async copyHead(c: Candidate, tar: string): Promise<boolean> {
    let src: number
    let out: number
    try {
      src = openSync(`/proc/self/fd/${c.fd}`, 'r') // the same file, a descriptor of the copy's own
    } catch {
      return false
    }
    try {
      out = openSync(tar, 'wx', 0o600)
    } catch {
      closeSync(src)
      return false
    }
    try {
      if (writeSync(out, c.lead, 0, c.lead.length, 0) !== c.lead.length) return false
      if ((await copyFileRangeAsync(src, 0, out, c.lead.length, c.size)) !== c.size) return false
      try {
        syncFileRange(out, 0, 0, SYNC_FILE_RANGE_WRITE) // the commit's fsync then finds most of it on disk
      } catch {
        // only a head start
      }
      return true
    } catch {
      return false
    } finally {
      closeSync(out)
      closeSync(src)
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
