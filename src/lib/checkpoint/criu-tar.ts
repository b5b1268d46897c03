// The CRIU image dir as the checkpoint's tar blob, without copying the memory: the tar is built
// around the largest file (pages-*.img) in place — block-aligned header space is inserted at its
// front (fallocate FALLOC_FL_INSERT_RANGE) and the other files appended — and extracted for a
// restore with copy_file_range. The result is an ordinary tar (GNU tar and containerd read it):
// a pax header whose padding is a `comment` record fills the inserted space up to the big
// file's own ustar header, so its data starts on a block boundary.
//
// Invariants: the dump dir and the tar are on one filesystem (the store's staging area); files
// are created 0600; a filesystem that refuses insert-range gets a streaming copy instead (same
// bytes); an extraction that neither the in-process reader nor GNU tar can do is DataLoss.
import {spawnSync} from 'node:child_process'
import type {Hash} from 'node:crypto'
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'
import {DataLoss} from '../errors/index.js'
import {copyFileRange, copyFileRangeAsync, FALLOC_FL_INSERT_RANGE, fadvise, fallocate, POSIX_FADV_SEQUENTIAL} from '../sys/index.js'
import {TarReader, tarPadding, tarTrailer} from '../tar/index.js'

type TarModule = typeof import('tar')
let tarModule: TarModule | undefined
function tar(): TarModule {
  return (tarModule ??= createRequire(import.meta.url)('tar') as TarModule)
}

const BLOCK = 512
/** Files at least this large are copied with copy_file_range on extraction (smaller ones: read/write). */
const BIG = 1 << 20

/** How the tar was made: `insert` (the big file became the tar) or `copy` (streamed; insert-range refused or nothing big). */
export type DumpTarMethod = 'insert' | 'copy'

/** A dump file as the tar records it. */
export interface Member {
  readonly name: string
  readonly path: string
  readonly size: number
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly mtime: Date
}

function fileHeader(m: Member): Buffer {
  const {Header} = tar()
  const h = new Header({path: m.name, type: 'File', size: m.size, mode: m.mode, uid: m.uid, gid: m.gid, mtime: m.mtime})
  const block = Buffer.alloc(BLOCK)
  h.encode(block, 0)
  if (h.needPax) throw new Error(`${m.name}: needs a pax header`)
  return block
}

/**
 * `length` bytes (a multiple of 512, at least 1536) that end with `m`'s ustar header: a pax
 * extended header whose one record is a `comment` (ignored by readers) padding the rest.
 */
function alignedHeader(m: Member, length: number): Buffer {
  const {Header} = tar()
  const paxSize = length - 2 * BLOCK
  // "<len> comment=<fill>\n", where <len> counts its own digits.
  const record = `${paxSize} comment=${'x'.repeat(paxSize - String(paxSize).length - ' comment=\n'.length)}\n`
  if (Buffer.byteLength(record) !== paxSize) throw new Error('pax padding miscounted')
  const pax = Buffer.alloc(BLOCK)
  new Header({path: `PaxHeaders/${m.name}`.slice(0, 99), type: 'ExtendedHeader', size: paxSize, mode: 0o644, uid: 0, gid: 0, mtime: m.mtime}).encode(pax, 0)
  return Buffer.concat([pax, Buffer.from(record, 'latin1'), fileHeader(m)])
}

/** `dir/name` as a tar member (its stat now). @throws Error when it is not a regular file. */
export function memberAt(dir: string, name: string): Member {
  const path = join(dir, name)
  const st = statSync(path)
  if (!st.isFile()) throw new Error(`${path}: not a regular file`)
  return {name, path, size: st.size, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime}
}

/**
 * The bytes the tar holds before the leading (largest) member's data, for a filesystem of block
 * size `blksize`: what {@link makeDumpTar} inserts in front of it. The same member and block size
 * give the same bytes, which is what lets a hash of them and the data start before the tar exists.
 */
export function leadingBytes(m: Member, blksize: number): Buffer {
  const block = Math.max(blksize || 4096, BLOCK)
  return alignedHeader(m, Math.ceil((3 * BLOCK) / block) * block)
}

/**
 * A hash begun before the tar was made (checkpoint.ts's MemoryHasher): fed {@link leadingBytes} of
 * member `name` and then all of that file's data, untouched since.
 */
export interface EarlyHash {
  readonly name: string
  readonly lead: Buffer
  readonly hash: Hash
}

/** What {@link makeDumpTar} did; `hash` is the early hash completed over the whole tar, when it could be used. */
export interface DumpTar {
  readonly method: DumpTarMethod
  readonly hash?: Hash
}

function writeAll(fd: number, buf: Buffer, position: number): void {
  for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done, buf.length - done, position + done)
}

/** Copy `length` bytes of `inFd` from 0 into `outFd` at `position`: in the kernel when it can, else read/write. */
function copyInto(inFd: number, outFd: number, position: number, length: number): void {
  let done = 0
  try {
    done = copyFileRange(inFd, 0, outFd, position, length)
  } catch {
    // EXDEV, EINVAL, ENOSYS...: the byte loop below does it
  }
  const buf = Buffer.allocUnsafe(Math.min(BIG, Math.max(length - done, 1)))
  while (done < length) {
    const n = readSync(inFd, buf, 0, Math.min(buf.length, length - done), done)
    if (n === 0) throw new Error('file shrank while archived')
    writeAll(outFd, buf.subarray(0, n), position + done)
    done += n
  }
}

/**
 * Turn CRIU image dir `dir` (flat: regular files only) into tar file `file` on the same
 * filesystem, consuming the dir's files. The largest file leads the tar and keeps its blocks
 * (insert-range), unless the filesystem refuses; the rest follow sorted by name. With `early`
 * for that same leading member and the same leading bytes, the hash is completed with the bytes
 * after the member's data (read back from the tar) and returned: the memory is not read again.
 * Returns how it was made. @throws Error on I/O failure or a dir that is not flat (checked before anything changes).
 */
export function makeDumpTar(dir: string, file: string, options: {noInsert?: boolean; early?: EarlyHash} = {}): DumpTar {
  const members = readdirSync(dir)
    .sort()
    .map((name) => memberAt(dir, name))
  const big = members.reduce<Member | undefined>((a, m) => (!a || m.size > a.size ? m : a), undefined)
  const rest = members.filter((m) => m !== big)
  let fd = -1
  let method: DumpTarMethod = 'copy'
  let end: number
  let hash: Hash | undefined
  let hashFrom = 0
  try {
    if (big) {
      const bigFd = openSync(big.path, 'r+')
      let prefix: Buffer
      try {
        prefix = leadingBytes(big, fstatSync(bigFd).blksize)
        const {early} = options
        if (early && early.name === big.name && early.lead.equals(prefix)) {
          hash = early.hash
          hashFrom = prefix.length + big.size
        }
        if (!options.noInsert && big.size > 0) {
          try {
            fallocate(bigFd, FALLOC_FL_INSERT_RANGE, 0, prefix.length)
            method = 'insert'
          } catch {
            // EOPNOTSUPP (tmpfs, overlayfs, ...), EINVAL: stream it instead
          }
        }
        if (method === 'insert') {
          writeAll(bigFd, prefix, 0)
          fchmodSync(bigFd, 0o600)
          fd = bigFd
        } else {
          fd = openSync(file, 'wx+', 0o600) // + : an early hash reads its end back
          writeAll(fd, prefix, 0)
          copyInto(bigFd, fd, prefix.length, big.size)
          closeSync(bigFd)
        }
      } catch (err) {
        if (fd !== bigFd) closeSync(bigFd)
        throw err
      }
      end = prefix.length + big.size
      const pad = Buffer.alloc(tarPadding(big.size))
      writeAll(fd, pad, end)
      end += pad.length
    } else {
      fd = openSync(file, 'wx+', 0o600) // + : an early hash reads its end back
      end = 0
    }
    for (const m of rest) {
      writeAll(fd, fileHeader(m), end)
      end += BLOCK
      const inFd = openSync(m.path, 'r')
      try {
        copyInto(inFd, fd, end, m.size)
      } finally {
        closeSync(inFd)
      }
      end += m.size
      const pad = Buffer.alloc(tarPadding(m.size))
      writeAll(fd, pad, end)
      end += pad.length
    }
    const trailer = tarTrailer()
    writeAll(fd, trailer, end)
    end += trailer.length
    if (hash) hashRange(fd, hashFrom, end, hash)
  } finally {
    if (fd >= 0) closeSync(fd)
  }
  if (method === 'insert') renameSync(big!.path, file)
  else if (big) unlinkSync(big.path)
  for (const m of rest) unlinkSync(m.path)
  return hash ? {method, hash} : {method}
}

/** Feed bytes `from`..`to` of `fd` to `hash`. */
function hashRange(fd: number, from: number, to: number, hash: Hash): void {
  const buf = Buffer.allocUnsafe(Math.min(BIG, Math.max(to - from, 1)))
  for (let pos = from; pos < to; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, to - pos), pos)
    if (n === 0) throw new Error('tar shrank while hashed')
    hash.update(buf.subarray(0, n))
    pos += n
  }
}

/** The tar could not be read by the in-process reader (a member it does not handle, or a bad header). */
class Unreadable extends Error {}

interface Entry {
  readonly name: string
  readonly type: string
  readonly size: number
  readonly offset: number
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

/** Zeros standing in for a member's data while listing: the listing never reads the memory. */
let zeros: Buffer | undefined

/**
 * The members of tar `fd` of `size` bytes: regular files and directories only, else Unreadable.
 * lib/tar's reader parses every header (checksums, pax, ustar prefix); the blocks between them
 * are read as they come, except a file's data, which is stood in for by zeros (it is copied by
 * offset, not read here).
 */
function listTar(fd: number, size: number): Entry[] {
  const entries: Entry[] = []
  let pos = 0
  const last: {entry?: Entry | undefined} = {} // the entry the block just pushed announced
  const reader = new TarReader({
    entry(h) {
      if (h.type !== 'file' && h.type !== 'dir') throw new Unreadable(`member type ${h.type}`)
      const name = h.path.replace(/\/+$/, '')
      if (name === '' || name.split('/').includes('..') || name.startsWith('/')) throw new Unreadable(`member name ${JSON.stringify(h.path)}`)
      last.entry = {name, type: h.type === 'dir' ? 'Directory' : 'File', size: h.size, offset: pos + BLOCK, mode: h.mode, uid: h.uid, gid: h.gid}
      entries.push(last.entry)
    },
    data: () => undefined,
    entryEnd: () => undefined,
  })
  const block = Buffer.alloc(BLOCK)
  try {
    while (!reader.finished) {
      if (pos + BLOCK > size) throw new Unreadable('truncated tar (no end blocks)')
      if (readSync(fd, block, 0, BLOCK, pos) !== BLOCK) throw new Unreadable('short read')
      last.entry = undefined
      reader.push(block)
      pos += BLOCK
      const announced = last.entry as Entry | undefined // set by the push above, which TypeScript cannot see
      if (announced && announced.size > 0) {
        const skip = announced.size + tarPadding(announced.size)
        if (pos + skip > size) throw new Unreadable(`member at ${pos - BLOCK} runs past the end`)
        zeros ??= Buffer.alloc(BIG)
        for (let left = skip; left > 0; left -= zeros.length) reader.push(left >= zeros.length ? zeros : zeros.subarray(0, left))
        pos += skip
      }
    }
  } catch (err) {
    if (err instanceof Unreadable) throw err
    throw new Unreadable((err as Error).message)
  }
  return entries
}

/** An extraction under way: `done` settles when every file is written. */
export interface DumpExtraction {
  readonly done: Promise<void>
}

/**
 * Extract CRIU image tar `file` into `dir` (created 0700), owners and modes kept. Large members
 * are copied by copy_file_range on libuv's thread pool, so the caller can prepare the rootfs
 * meanwhile and await `done` before the restore; a tar the in-process reader does not handle goes
 * to GNU tar. @throws (from `done`) DataLoss when neither can read it.
 */
export function extractDumpTar(file: string, dir: string): DumpExtraction {
  mkdirSync(dir, {recursive: true, mode: 0o700})
  let entries: Entry[]
  let fd: number
  try {
    fd = openSync(file, 'r')
  } catch (err) {
    return {done: Promise.reject(err)}
  }
  try {
    entries = listTar(fd, fstatSync(fd).size)
  } catch (err) {
    closeSync(fd)
    if (!(err instanceof Unreadable)) return {done: Promise.reject(err)}
    return {done: gnuExtract(file, dir, err)}
  }
  fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
  const copies: Promise<unknown>[] = []
  const opened: number[] = []
  let failed: unknown
  try {
    for (const e of entries) {
      const path = join(dir, e.name)
      if (e.type === 'Directory') {
        mkdirSync(path, {recursive: true, mode: 0o700})
        continue
      }
      const out = openSync(path, 'wx', 0o600)
      opened.push(out)
      fchmodSync(out, e.mode)
      if (e.uid !== process.getuid?.() || e.gid !== process.getgid?.()) fchownSync(out, e.uid, e.gid)
      if (e.size >= BIG) {
        copies.push(
          copyFileRangeAsync(fd, e.offset, out, 0, e.size).then((n) => {
            if (n !== e.size) throw new Error(`${e.name}: copied ${n} of ${e.size} bytes`)
          }),
        )
      } else if (e.size > 0) {
        const buf = Buffer.allocUnsafe(e.size)
        if (readSync(fd, buf, 0, e.size, e.offset) !== e.size) throw new Error(`${e.name}: short read`)
        writeAll(out, buf, 0)
      }
    }
  } catch (err) {
    failed = err
  }
  const done = Promise.allSettled(copies).then((results) => {
    for (const o of opened) closeSync(o)
    closeSync(fd)
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    const err = failed ?? rejected?.reason
    if (err === undefined) return
    // The in-process copy failed (EXDEV, EINVAL, I/O): GNU tar, into a clean directory.
    rmSync(dir, {recursive: true, force: true})
    mkdirSync(dir, {recursive: true, mode: 0o700})
    return gnuExtract(file, dir, err)
  })
  return {done}
}

/** GNU tar's extraction; DataLoss (with the first failure as cause) when it cannot either. */
async function gnuExtract(file: string, dir: string, cause: unknown): Promise<void> {
  const r = spawnSync('tar', ['-x', '-f', file, '-C', dir, '--same-owner', '--same-permissions', '--no-overwrite-dir'], {encoding: 'utf8'})
  if (r.status === 0) return
  const why = r.error ? r.error.message : r.stderr.trim().split('\n').at(-1)
  throw new DataLoss(`checkpoint's CRIU image ${file} cannot be read: ${(cause as Error).message}; tar: ${why}`, {cause})
}
