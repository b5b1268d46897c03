// Ingests: partial blobs under `content/ingest/<sha256hex(ref)>/` (files `ref`, `total`,
// `expected`, `namespace`, `owner`, `startedat`, `updatedat`, then `data` last), written only by
// the holder of the ref's lock (and the digest's lock), hashed as they grow, re-hashed on reopen so
// that a killed writer's bytes are resumed, and renamed into `content/blobs/` only once verified
// and fsynced: a crash at any point leaves at most an ingest or an unreferenced blob file, never a
// row without its file. Each ingest belongs to the process that last opened it (`owner`, see
// process-owner.ts): once that process is gone, GC may remove it at once.
import {createHash, type Hash} from 'node:crypto'
import {chmodSync, closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {removeTree} from '../sys/tree.js'
import {type FileHandle, open} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {DataLoss, FailedPrecondition, NotFound} from '../errors/index.js'
import {fromSystemError} from '../errors/errno.js'
import type {Labels} from '../oci/labels.js'
import {blobPath, type ContentContext, type ContentInfo, type ContentWriter, recordContentIn, type WriterOptions} from './content-records.js'
import {ensureDir} from './database.js'
import {nowMicros} from './event-log.js'
import {addLeaseResourceIn} from './leases.js'
import {acquireLock, type Lock} from './locks.js'
import {ingestRoot, PRIVATE_FILE_MODE} from './paths.js'
import {ownerAlive, ownerPid, type OwnerStatus, ownerStatus, processOwner} from './process-owner.js'

/** An ingest as `ctr content active` shows it. Times are unix microseconds. */
export interface IngestStatus {
  ref: string
  /** Bytes in the ingest so far. */
  offset: number
  total: number
  startedAt: number
  /** Last write (the later of the `updatedat` file and the data file's mtime). */
  updatedAt: number
  /** The digest the writer expects. */
  expected?: string
  /** The namespace that started the ingest (ingests are stored once, keyed by ref). */
  namespace?: string
  /** The owner id of the process that last opened it (absent for ingests of older versions). */
  owner?: string
}

/** One directory under `content/ingest/`; `status` is undefined when it is incomplete. */
export interface IngestEntry {
  readonly key: string
  readonly dir: string
  readonly status: IngestStatus | undefined
  /** Directory mtime in unix microseconds (for incomplete ingests). */
  readonly mtime: number
}

/** An ingest directory with its owner's liveness, as `ctr fsck` and `content active` see it. */
export interface IngestListing extends IngestEntry {
  /** Undefined when the ingest records no owner (incomplete, or written by an older version). */
  readonly owner: OwnerStatus | undefined
}

/** How often a writer refreshes `updatedat` while streaming. */
const TOUCH_EVERY_MS = 1000
const HASH_BUFFER = 1 << 20

/** The directory name of a ref's ingest: sha256 hex of the ref, for constant-length paths. */
export function ingestKey(ref: string): string {
  return createHash('sha256').update(ref).digest('hex')
}

/** The lock that serialises writers of one ingest. */
export function ingestLockName(key: string): string {
  return `ingest-${key}`
}

export {ingestRoot} from './paths.js'

/** Every ingest directory, ordered by ref (incomplete ones last, by key). Never throws for a missing dir. */
export function readIngests(root: string): IngestEntry[] {
  const base = ingestRoot(root)
  let names: string[]
  try {
    names = readdirSync(base)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw ioError(err, `cannot read ${JSON.stringify(base)}`)
  }
  const entries: IngestEntry[] = []
  for (const key of names) {
    const dir = join(base, key)
    let mtime: number
    try {
      mtime = Math.round(statSync(dir).mtimeMs * 1000)
    } catch {
      continue // removed meanwhile
    }
    entries.push({key, dir, status: readIngestStatus(dir), mtime})
  }
  return entries.sort((a, b) => {
    if (a.status && b.status) return a.status.ref < b.status.ref ? -1 : a.status.ref > b.status.ref ? 1 : 0
    if (a.status || b.status) return a.status ? -1 : 1
    return a.key < b.key ? -1 : 1
  })
}

/**
 * Every ingest directory under `root` with its owner's liveness (see {@link readIngests} for the
 * order). An ingest whose owner is dead and whose lock is free is leftover: `ctr gc` removes it.
 */
export function listIngests(root: string): IngestListing[] {
  return readIngests(root).map((e) => ({...e, owner: e.status?.owner === undefined ? undefined : ownerStatus(root, e.status.owner)}))
}

/**
 * Discard the ingest of `ref` seen from `ns` (`content rm <ref>`): under its lock, and never one
 * that a live process owns or is writing. Drops it from the namespace's leases too.
 * @throws NotFound (no such ingest), FailedPrecondition (in use), PermissionDenied/Internal (I/O).
 */
export async function discardIngest(ctx: ContentContext, ns: string, ref: string): Promise<void> {
  const entry = readIngests(ctx.root).find((e) => e.status?.ref === ref && (e.status.namespace === undefined || e.status.namespace === ns))
  if (!entry) throw new NotFound(`ingest ref ${JSON.stringify(ref)}`, {suffixKind: true})
  let lock: Lock
  try {
    lock = await acquireLock(ctx.root, ingestLockName(entry.key), {timeoutMs: 0})
  } catch (err) {
    if ((err as {kind?: string}).kind !== 'unavailable') throw err
    throw new FailedPrecondition(`ingest ref ${JSON.stringify(ref)} is being written by a running process`, {suffixKind: true})
  }
  try {
    const owner = readIngestOwner(entry.dir)
    if (owner !== undefined && ownerAlive(ctx.root, owner)) {
      throw new FailedPrecondition(`ingest ref ${JSON.stringify(ref)} belongs to running process ${ownerPid(owner)}`, {suffixKind: true})
    }
    try {
      removeTree(entry.dir)
    } catch (err) {
      throw ioError(err, `cannot remove ingest ${JSON.stringify(ref)}`)
    }
    ctx.db.prepare("DELETE FROM lease_resources WHERE namespace = ? AND kind = 'ingest' AND ref = ?").run(ns, ref)
  } finally {
    lock.release()
  }
}

function readIngestStatus(dir: string): IngestStatus | undefined {
  try {
    const read = (name: string) => readFileSync(join(dir, name), 'utf8')
    const ref = read('ref')
    const total = Number(read('total'))
    const startedAt = Number(read('startedat'))
    const updatedFile = Number(read('updatedat'))
    const expected = read('expected')
    const namespace = read('namespace')
    const data = statSync(join(dir, 'data'))
    if (!Number.isSafeInteger(total) || !Number.isFinite(startedAt) || !Number.isFinite(updatedFile)) return undefined
    const status: IngestStatus = {ref, offset: data.size, total, startedAt, updatedAt: Math.max(updatedFile, Math.round(data.mtimeMs * 1000))}
    if (expected) status.expected = expected
    if (namespace) status.namespace = namespace
    const owner = readOptional(join(dir, 'owner'))
    if (owner) status.owner = owner
    return status
  } catch {
    return undefined
  }
}

/** The owner id recorded in an ingest directory, if any. */
export function readIngestOwner(dir: string): string | undefined {
  return readOptional(join(dir, 'owner')) || undefined
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

/**
 * Open (resuming or starting) the ingest for `options.ref` while `blobLock` is held; takes the
 * ref's lock (waiting). An existing ingest is resumed only when its ref, total and expected digest
 * match — and, under the `isolated` policy, only when this namespace started it, so that no
 * namespace gets credit for bytes it did not stream — otherwise it is discarded and restarted.
 * The writer owns `blobLock` from here on. @throws NotFound (lease), Internal, PermissionDenied.
 */
export async function openIngestWriter(ctx: ContentContext, ns: string, options: WriterOptions, blobLock: Lock): Promise<ContentWriter> {
  const {digest, size} = options.expected
  const key = ingestKey(options.ref)
  const ingestLock = await acquireLock(ctx.root, ingestLockName(key))
  let fh: FileHandle | undefined
  try {
    const dir = join(ingestRoot(ctx.root), key)
    const found = readIngestStatus(dir)
    const reusable =
      found !== undefined &&
      found.ref === options.ref &&
      found.total === size &&
      found.expected === digest &&
      found.offset <= size &&
      (ctx.policy === 'shared' || found.namespace === ns)
    // The ingest is this process's from now on, resumed or not (before a byte is written).
    const owner = ownerOf(ctx.root)
    if (!reusable) createIngest(dir, ns, options, owner)
    else if (found.owner !== owner) writeMeta(dir, 'owner', owner, options.ref)
    try {
      fh = await open(join(dir, 'data'), 'r+')
    } catch (err) {
      throw ioError(err, `cannot open ingest ${JSON.stringify(options.ref)}`)
    }
    // Re-hash what is there: the hash must cover every byte of the blob, resumed ones included.
    const hash = createHash(digest.slice(0, digest.indexOf(':')))
    let offset = 0
    const buffer = Buffer.allocUnsafe(HASH_BUFFER)
    for (;;) {
      const {bytesRead} = await fh.read(buffer, 0, buffer.length, offset)
      if (bytesRead === 0) break
      hash.update(buffer.subarray(0, bytesRead))
      offset += bytesRead
    }
    // An ingest makes its namespace exist (as containerd's ingest bucket does) and joins the lease.
    ctx.db
      .transaction(() => {
        ctx.namespaces.ensureIn(ns)
        if (options.leaseId !== undefined) addLeaseResourceIn(ctx.db, ns, options.leaseId, 'ingest', options.ref)
      })
      .immediate()
    return new IngestWriter(ctx, ns, options, dir, fh, hash, offset, blobLock, ingestLock)
  } catch (err) {
    await fh?.close().catch(() => undefined)
    ingestLock.release()
    throw err
  }
}

/** Start a fresh ingest: metadata files first, `data` last (its presence marks a complete ingest). */
function createIngest(dir: string, ns: string, options: WriterOptions, owner: string): void {
  try {
    removeTree(dir)
    ensureDir(dir)
    const now = String(nowMicros())
    const meta = {mode: PRIVATE_FILE_MODE} // not the umask's: a caller with umask 000 would make them writable by all
    writeFileSync(join(dir, 'ref'), options.ref, meta)
    writeFileSync(join(dir, 'total'), String(options.expected.size), meta)
    writeFileSync(join(dir, 'expected'), options.expected.digest, meta)
    writeFileSync(join(dir, 'namespace'), ns, meta)
    writeFileSync(join(dir, 'owner'), owner, meta)
    writeFileSync(join(dir, 'startedat'), now, meta)
    writeFileSync(join(dir, 'updatedat'), now, meta)
    const fd = openSync(join(dir, 'data'), 'wx', 0o644)
    closeSync(fd)
    chmodSync(join(dir, 'data'), 0o644) // the umask may have narrowed it
  } catch (err) {
    throw ioError(err, `cannot create ingest ${JSON.stringify(options.ref)}`)
  }
}

/** This process's owner id, its errors mapped to their kinds. */
function ownerOf(root: string): string {
  try {
    return processOwner(root)
  } catch (err) {
    throw ioError(err, 'cannot record the owner of an ingest')
  }
}

/** Replace one metadata file of an ingest (a rename: a crash leaves the old or the new one). */
function writeMeta(dir: string, name: string, value: string, ref: string): void {
  const tmp = join(dir, `.${name}`)
  try {
    writeFileSync(tmp, value, {mode: PRIVATE_FILE_MODE})
    renameSync(tmp, join(dir, name))
  } catch (err) {
    rmSync(tmp, {force: true})
    throw ioError(err, `cannot take over ingest ${JSON.stringify(ref)}`)
  }
}

/** The writer `openWriter` hands out for status `write`. Operations run one at a time. */
class IngestWriter implements ContentWriter {
  private position: number
  private done = false
  private failed: unknown
  private handleClosed = false
  private lastTouch = Date.now()
  private chain: Promise<unknown> = Promise.resolve()

  constructor(
    private readonly ctx: ContentContext,
    private readonly ns: string,
    private readonly options: WriterOptions,
    private readonly dir: string,
    private readonly fh: FileHandle,
    private readonly hash: Hash,
    offset: number,
    private readonly blobLock: Lock,
    private readonly ingestLock: Lock,
  ) {
    this.position = offset
  }

  get ref(): string {
    return this.options.ref
  }

  get offset(): number {
    return this.position
  }

  get total(): number {
    return this.options.expected.size
  }

  write(chunk: Uint8Array | readonly Uint8Array[]): Promise<void> {
    return this.serial(() => this.append(chunk instanceof Uint8Array ? [chunk] : chunk))
  }

  commit(options: {labels?: Labels; mediaType?: string} = {}): Promise<ContentInfo> {
    return this.serial(() => this.verifyAndRecord(options))
  }

  close(): Promise<void> {
    return this.serial(() => this.finish(false))
  }

  abort(): Promise<void> {
    return this.serial(() => this.finish(true))
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn)
    this.chain = next.catch(() => undefined)
    return next
  }

  private assertUsable(): void {
    if (this.done) throw new FailedPrecondition(`writer for ${JSON.stringify(this.ref)} is closed`, {suffixKind: true})
    if (this.failed !== undefined) {
      throw new FailedPrecondition(`writer for ${JSON.stringify(this.ref)} failed earlier; close it and open a new one`, {cause: this.failed, suffixKind: true})
    }
  }

  private async append(chunks: readonly Uint8Array[]): Promise<void> {
    this.assertUsable()
    let length = 0
    for (const c of chunks) length += c.length
    if (length === 0) return
    const after = this.position + length
    if (after > this.total) {
      // Refuse before writing a byte past the expected size; the source is wrong, start over next time.
      await this.finish(true)
      throw new DataLoss(`${JSON.stringify(this.ref)} failed size validation: ${after} > ${this.total} (more bytes than expected)`, {suffixKind: true})
    }
    try {
      // writev until all is written (a short write continues with the rest of the chunk it stopped in).
      let rest = chunks.filter((c) => c.length > 0)
      for (let at = this.position; rest.length > 0; ) {
        const {bytesWritten} = rest.length === 1 ? await this.fh.write(rest[0], 0, rest[0].length, at) : await this.fh.writev(rest, at)
        at += bytesWritten
        rest = skipBytes(rest, bytesWritten)
      }
    } catch (err) {
      this.failed = err // the file may now hold part of the chunks; a reopen re-hashes whatever is there
      throw ioError(err, `cannot write ingest ${JSON.stringify(this.ref)}`)
    }
    for (const c of chunks) this.hash.update(c)
    this.position = after
    if (Date.now() - this.lastTouch >= TOUCH_EVERY_MS) this.touch()
  }

  private async verifyAndRecord(options: {labels?: Labels; mediaType?: string}): Promise<ContentInfo> {
    this.assertUsable()
    const {digest, size} = this.options.expected
    if (this.position !== size) {
      const have = this.position
      await this.finish(true)
      throw new DataLoss(`${JSON.stringify(this.ref)} failed size validation: ${have} != ${size}`, {suffixKind: true})
    }
    const actual = `${digest.slice(0, digest.indexOf(':'))}:${this.hash.digest('hex')}`
    if (actual !== digest) {
      await this.finish(true)
      throw new DataLoss(`${JSON.stringify(this.ref)} unexpected digest ${actual}, expected ${digest}`, {suffixKind: true})
    }
    const {db, root} = this.ctx
    try {
      const data = join(this.dir, 'data')
      try {
        await this.fh.sync()
        await this.fh.close()
        this.handleClosed = true
        const target = blobPath(root, digest)
        ensureDir(dirname(target))
        if (this.recordedOnDisk(target, size)) {
          // Another namespace's verified copy is in place: keep it, never store the bytes twice.
          rmSync(data, {force: true})
        } else {
          chmodSync(data, 0o644)
          renameSync(data, target)
          fsyncDir(dirname(target))
        }
        removeTree(this.dir)
      } catch (err) {
        throw ioError(err, `cannot commit ${JSON.stringify(this.ref)}`)
      }
      return db
        .transaction(() => {
          db.prepare('INSERT INTO blobs (digest, size, created_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING').run(digest, size, nowMicros())
          const labels = {...(this.options.labels ?? {}), ...(options.labels ?? {})}
          const {info} = recordContentIn(this.ctx, this.ns, digest, size, {labels, leaseId: this.options.leaseId, mediaType: options.mediaType})
          this.dropIngestFromLease()
          return info
        })
        .immediate()
    } finally {
      this.release()
    }
  }

  /** True when the blob has its row and a file of the right size (so it was verified before). */
  private recordedOnDisk(target: string, size: number): boolean {
    if (!this.ctx.db.prepare('SELECT 1 FROM blobs WHERE digest = ?').get(this.options.expected.digest)) return false
    try {
      return statSync(target).size === size
    } catch {
      return false
    }
  }

  private async finish(discard: boolean): Promise<void> {
    if (this.done) return
    try {
      if (!this.handleClosed) {
        this.handleClosed = true
        await this.fh.close().catch(() => undefined)
      }
      if (discard) {
        removeTree(this.dir)
        this.ctx.db.transaction(() => this.dropIngestFromLease()).immediate()
      } else {
        this.touch()
      }
    } finally {
      this.release()
    }
  }

  private dropIngestFromLease(): void {
    if (this.options.leaseId === undefined) return
    this.ctx.db
      .prepare("DELETE FROM lease_resources WHERE namespace = ? AND lease_id = ? AND kind = 'ingest' AND ref = ?")
      .run(this.ns, this.options.leaseId, this.ref)
  }

  private touch(): void {
    this.lastTouch = Date.now()
    try {
      if (existsSync(this.dir)) writeFileSync(join(this.dir, 'updatedat'), String(nowMicros()), {mode: PRIVATE_FILE_MODE})
    } catch {
      // Only informational: the data file's mtime says the same.
    }
  }

  private release(): void {
    this.done = true
    this.ingestLock.release()
    this.blobLock.release()
  }
}

/** `chunks` without their first `n` bytes. */
function skipBytes(chunks: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = []
  let skip = n
  for (const c of chunks) {
    if (skip >= c.length) {
      skip -= c.length
      continue
    }
    out.push(skip > 0 ? c.subarray(skip) : c)
    skip = 0
  }
  return out
}

/** fsync a directory so that a rename into it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** `err` with `what` before it: a Berth error as it is, a system error with its errno's kind. */
export function ioError(err: unknown, what: string): Error {
  if ((err as {kind?: string}).kind !== undefined) return err as Error
  return fromSystemError(err, what)
}
