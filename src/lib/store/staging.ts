// Staged blobs: files of unknown or not-yet-wanted content (an archive being imported) streamed
// into one private directory under `content/ingest/`, hashed and counted while written, and later
// either committed into the content store — under the digest the store computed itself, never one
// a caller claims (the one exception, `adoptHashed`, takes a hash state this process fed with the
// file's bytes as it made them, not a digest) — or dropped with the directory.
//
// Invariants: the directory is locked by its writer for its whole life (GC keeps a locked ingest
// and removes an unlocked, abandoned one), so a killed import leaves only garbage GC removes; a
// staged file becomes a blob exactly as an ingest does (fsync, rename into `content/blobs/`,
// then the rows in one immediate transaction, under the digest's lock); nothing is recorded
// until `commit`, and `discard` leaves no file behind.
import {createHash, type Hash} from 'node:crypto'
import {
  chmodSync,
  closeSync,
  createReadStream,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import {type FileHandle, open} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {FailedPrecondition, Internal} from '../errors/index.js'
import type {Labels} from '../oci/labels.js'
import {randomBytes} from '../sys/random.js'
import {blobLockName, blobPath, type ContentContext, type ContentInfo, contentRowIn, recordContentIn} from './content.js'
import {ensureDir} from './database.js'
import {nowMicros} from './event-log.js'
import {fsyncDir, ingestKey, ingestLockName, ingestRoot, ioError} from './ingest.js'
import {addLeaseResourceIn} from './leases.js'
import {acquireLock, type Lock} from './locks.js'

/** A staged file, hashed: what `commit` needs. Only a {@link Staging} makes these. */
export interface StagedBlob {
  readonly digest: string
  readonly size: number
  /** The first bytes of the data (up to 16), to tell a compressed layer from a plain tar. */
  readonly head: Buffer
}

/** Writes one staged file; `end()` hashes the result. Calls are serialised. */
export interface StagedWriter {
  /** Bytes accepted so far. */
  readonly size: number
  /** Append bytes (copied, and batched into large writes); the chunk may be reused once this settles. */
  write(chunk: Uint8Array): Promise<void>
  /** Flush, close and hash. */
  end(): Promise<StagedBlob>
  /** Drop the file. Idempotent. */
  abort(): Promise<void>
}

const BATCH_BYTES = 1 << 20
const HEAD_BYTES = 16

/** Internal bookkeeping of one staged blob: where its bytes are, if anywhere. */
interface StagedFile {
  path: string | undefined
}

/** Staged files of one writer (an import), in one locked directory. */
export class Staging {
  private readonly files = new WeakMap<StagedBlob, StagedFile>()
  private next = 0
  private closed = false

  private constructor(
    private readonly ctx: ContentContext,
    private readonly ns: string,
    private readonly dir: string,
    private readonly lock: Lock,
  ) {}

  /**
   * A fresh staging directory for `ns`, locked until {@link discard}. `purpose` names it in
   * `content/ingest/<sha256(ref)>/ref` (the ref is `<purpose>-<random>`).
   * @throws Internal, PermissionDenied (I/O).
   */
  static async open(ctx: ContentContext, ns: string, purpose: string): Promise<Staging> {
    const ref = `${purpose}-${randomBytes(8).toString('hex')}`
    const key = ingestKey(ref)
    const lock = await acquireLock(ctx.root, ingestLockName(key))
    const dir = join(ingestRoot(ctx.root), key)
    try {
      ensureDir(dir)
      // `ref` and `namespace` say what it is; no `data` file, so it never shows as an active ingest.
      writeFileSync(join(dir, 'ref'), ref)
      writeFileSync(join(dir, 'namespace'), ns)
      mkdirSync(join(dir, 'staged'), {mode: 0o700})
    } catch (err) {
      lock.release()
      rmSync(dir, {recursive: true, force: true})
      throw ioError(err, `cannot create staging directory for ${ref}`)
    }
    return new Staging(ctx, ns, dir, lock)
  }

  /** A writer of a new staged file, hashed with `algorithm` (`sha256` or `sha512`). */
  create(algorithm = 'sha256'): StagedWriter {
    this.assertOpen()
    const path = join(this.dir, 'staged', String(this.next++))
    return new FileWriter(path, algorithm, (blob) => this.files.set(blob, {path}))
  }

  /**
   * A fresh private (0700) directory inside the staging area, for a producer that writes files
   * itself (CRIU's dump): on the blob store's filesystem, so a file made there is renamed, not
   * copied, into the store by {@link adopt} + {@link commit}. Removed with the area.
   */
  makeDir(name: string): string {
    this.assertOpen()
    const path = join(this.dir, 'staged', `${name}-${this.next++}`)
    mkdirSync(path, {mode: 0o700})
    return path
  }

  /**
   * Stage a file already inside this staging area (made in a {@link makeDir} directory): it is
   * hashed here, in one pass of large reads, so the digest is still the store's own.
   * @throws Internal (outside the area, or unreadable).
   */
  adopt(path: string, algorithm = 'sha256'): StagedBlob {
    this.assertOpen()
    if (!path.startsWith(`${join(this.dir, 'staged')}/`)) throw new Internal(`${path} is not in this staging area`)
    const hash = createHash(algorithm)
    let size = 0
    let head = Buffer.alloc(0)
    try {
      // Synchronous reads: the file is in the page cache (just written), and a thread-pool round
      // trip per MiB cost more than the hashing here.
      const fd = openSync(path, 'r')
      try {
        const buf = Buffer.allocUnsafe(BATCH_BYTES)
        for (;;) {
          const n = readSync(fd, buf, 0, BATCH_BYTES, size)
          if (n === 0) break
          hash.update(buf.subarray(0, n))
          if (size === 0) head = Buffer.from(buf.subarray(0, Math.min(HEAD_BYTES, n)))
          size += n
        }
      } finally {
        closeSync(fd)
      }
    } catch (err) {
      throw ioError(err, `cannot stage ${path}`)
    }
    const blob: StagedBlob = {digest: `${algorithm}:${hash.digest('hex')}`, size, head}
    this.files.set(blob, {path})
    return blob
  }

  /**
   * {@link adopt} for a file whose bytes were hashed in this process as they were produced (the
   * checkpoint's CRIU tar: its memory hashed while CRIU ran, the rest as the tar was written), so
   * the store need not read them again: `hash` (of `algorithm`) must have been fed exactly the
   * file's bytes. The size and head are the file's own. @throws Internal (outside the area, or unreadable).
   */
  adoptHashed(path: string, hash: Hash, algorithm = 'sha256'): StagedBlob {
    this.assertOpen()
    if (!path.startsWith(`${join(this.dir, 'staged')}/`)) throw new Internal(`${path} is not in this staging area`)
    let size: number
    const head = Buffer.alloc(HEAD_BYTES)
    let headBytes: number
    try {
      const fd = openSync(path, 'r')
      try {
        size = fstatSync(fd).size
        headBytes = readSync(fd, head, 0, HEAD_BYTES, 0)
      } finally {
        closeSync(fd)
      }
    } catch (err) {
      throw ioError(err, `cannot stage ${path}`)
    }
    const blob: StagedBlob = {digest: `${algorithm}:${hash.digest('hex')}`, size, head: head.subarray(0, headBytes)}
    this.files.set(blob, {path})
    return blob
  }

  /** Stage `bytes` (a document made in memory) as a blob. */
  async stageBytes(bytes: Buffer): Promise<StagedBlob> {
    const writer = this.create()
    await writer.write(bytes)
    return writer.end()
  }

  /**
   * The bytes of a staged blob (from its file, or from the content store for a hash-only one).
   * @throws Internal (not of this staging area, or gone), FailedPrecondition (larger than `limit`).
   */
  readBytes(blob: StagedBlob, limit: number): Buffer {
    if (blob.size > limit) throw new FailedPrecondition(`${blob.digest}: ${blob.size} bytes is more than the limit of ${limit} bytes`)
    try {
      return readFileSync(this.pathOf(blob))
    } catch (err) {
      throw ioError(err, `cannot read ${blob.digest}`)
    }
  }

  /** A stream of a staged blob's bytes. @throws Internal (not of this staging area). */
  openRead(blob: StagedBlob): NodeJS.ReadableStream {
    return createReadStream(this.pathOf(blob), {highWaterMark: BATCH_BYTES})
  }

  /**
   * A writer that only hashes and counts (nothing reaches the disk): for content this namespace
   * already has, which `commit` then merely re-records. The caller checks with {@link holds}.
   */
  hashOnly(algorithm = 'sha256'): StagedWriter {
    this.assertOpen()
    return new FileWriter(undefined, algorithm, (blob) => this.files.set(blob, {path: undefined}))
  }

  /**
   * Whether `ns` already sees `digest`; if so it is added to `leaseId` in the same transaction,
   * so that GC keeps it until the caller records what references it.
   */
  holds(digest: string, leaseId: string | undefined): boolean {
    const {db} = this.ctx
    if (leaseId === undefined) return contentRowIn(db, this.ns, digest) !== undefined
    return db
      .transaction(() => {
        if (!contentRowIn(db, this.ns, digest)) return false
        if (leaseId !== undefined) addLeaseResourceIn(db, this.ns, leaseId, 'content', digest)
        return true
      })
      .immediate()
  }

  /**
   * Make a staged blob visible in the namespace under its computed digest: the existing record
   * (labels merged), the bytes already on disk (recorded; ours dropped), or ours fsynced and
   * renamed into the blob store (0644, or 0600 with `private`). Adds it to `leaseId`, appends `/content/create` for a new record.
   * @throws FailedPrecondition (a hash-only blob whose record vanished), NotFound (lease), Internal.
   */
  async commit(
    blob: StagedBlob,
    options: {mediaType?: string; labels?: Labels; leaseId?: string; private?: boolean} = {},
  ): Promise<{info: ContentInfo; created: boolean}> {
    this.assertOpen()
    const file = this.files.get(blob)
    if (!file) throw new Internal('not a blob of this staging area')
    const {db, root} = this.ctx
    const {digest, size} = blob
    const record = () => recordContentIn(this.ctx, this.ns, digest, size, {labels: options.labels, leaseId: options.leaseId, mediaType: options.mediaType})
    const blobLock = await acquireLock(root, blobLockName(digest))
    try {
      const known = db.transaction(() => (contentRowIn(db, this.ns, digest) ? record() : undefined)).immediate()
      if (known) {
        this.drop(file)
        return known
      }
      const target = blobPath(root, digest)
      if (this.onDisk(digest, size, target)) {
        this.drop(file)
        return db.transaction(record).immediate()
      }
      if (file.path === undefined) {
        throw new FailedPrecondition(`content ${digest} was removed while it was being imported; import again`, {suffixKind: true})
      }
      try {
        const fd = openSync(file.path, 'r')
        try {
          fsyncSync(fd)
        } finally {
          closeSync(fd)
        }
        chmodSync(file.path, options.private ? 0o600 : 0o644) // private: process memory, root only
        ensureDir(dirname(target))
        renameSync(file.path, target)
        file.path = undefined
        fsyncDir(dirname(target))
      } catch (err) {
        throw ioError(err, `cannot commit ${digest}`)
      }
      return db
        .transaction(() => {
          db.prepare('INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING').run(digest, size, nowMicros())
          return record()
        })
        .immediate()
    } finally {
      blobLock.release()
    }
  }

  /** Remove the directory and everything still staged in it, and release its lock. Idempotent. */
  discard(): void {
    if (this.closed) return
    this.closed = true
    try {
      rmSync(this.dir, {recursive: true, force: true})
    } finally {
      this.lock.release()
    }
  }

  /** Where a blob's bytes are: its staged file, or the content store's copy. */
  private pathOf(blob: StagedBlob): string {
    const file = this.files.get(blob)
    if (!file) throw new Internal('not a blob of this staging area')
    return file.path ?? blobPath(this.ctx.root, blob.digest)
  }

  /** True when the blob has its row and a file of the right size (so it was verified before). */
  private onDisk(digest: string, size: number, target: string): boolean {
    if (!this.ctx.db.prepare('SELECT 1 FROM blobs WHERE digest = ?').get(digest)) return false
    try {
      return statSync(target).size === size
    } catch {
      return false
    }
  }

  private drop(file: StagedFile): void {
    if (file.path !== undefined) rmSync(file.path, {force: true})
    file.path = undefined
  }

  private assertOpen(): void {
    if (this.closed) throw new FailedPrecondition('staging area already discarded')
  }
}

/**
 * A staged file's writer (or, without a path, a hasher). Data is copied into one batch buffer and
 * written 1 MiB at a time, so a caller may reuse its chunk once the write's promise settles.
 */
class FileWriter implements StagedWriter {
  private readonly hash: Hash
  private fh: FileHandle | undefined
  private batch: Buffer | undefined
  private batchBytes = 0
  private written = 0
  private accepted = 0
  private head = Buffer.alloc(0)
  private chain: Promise<unknown> = Promise.resolve()
  private finished = false

  constructor(
    private readonly path: string | undefined,
    private readonly algorithm: string,
    private readonly onEnd: (blob: StagedBlob) => void,
  ) {
    this.hash = createHash(algorithm)
  }

  get size(): number {
    return this.accepted
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.finished) return Promise.reject(new Internal('staged file already ended'))
    if (chunk.length === 0) return Promise.resolve()
    // Hash at once: calls arrive in stream order. Only the copy and the disk write queue up.
    this.hash.update(chunk)
    this.accepted += chunk.length
    if (this.head.length < HEAD_BYTES) this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD_BYTES - this.head.length)])
    if (this.path === undefined) return Promise.resolve()
    return this.serial(async () => {
      for (let offset = 0; offset < chunk.length; ) {
        this.batch ??= Buffer.allocUnsafe(BATCH_BYTES)
        const n = Math.min(chunk.length - offset, BATCH_BYTES - this.batchBytes)
        this.batch.set(chunk.subarray(offset, offset + n), this.batchBytes)
        this.batchBytes += n
        offset += n
        if (this.batchBytes === BATCH_BYTES) await this.flush()
      }
    })
  }

  end(): Promise<StagedBlob> {
    return this.serial(async () => {
      if (this.finished) throw new Internal('staged file already ended')
      this.finished = true
      if (this.path !== undefined) {
        await this.flush()
        if (!this.fh) await this.openFile() // an empty file still exists
        await this.fh!.close()
        this.fh = undefined
      }
      this.batch = undefined
      const blob: StagedBlob = {digest: `${this.algorithm}:${this.hash.digest('hex')}`, size: this.accepted, head: this.head}
      this.onEnd(blob)
      return blob
    })
  }

  abort(): Promise<void> {
    this.finished = true
    return this.serial(async () => {
      this.batch = undefined
      await this.fh?.close().catch(() => undefined)
      this.fh = undefined
      if (this.path !== undefined) rmSync(this.path, {force: true})
    })
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn)
    this.chain = next.catch(() => undefined)
    return next
  }

  private async openFile(): Promise<void> {
    try {
      this.fh = await open(this.path!, 'wx', 0o600)
    } catch (err) {
      throw ioError(err, 'cannot create a staged file')
    }
  }

  private async flush(): Promise<void> {
    if (this.batchBytes === 0 || !this.batch) return
    if (!this.fh) await this.openFile()
    try {
      for (let done = 0; done < this.batchBytes; ) {
        const {bytesWritten} = await this.fh!.write(this.batch, done, this.batchBytes - done, this.written + done)
        done += bytesWritten
      }
      this.written += this.batchBytes
      this.batchBytes = 0
    } catch (err) {
      throw ioError(err, 'cannot write a staged file')
    }
  }
}
