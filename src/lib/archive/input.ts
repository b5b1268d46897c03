// The byte stream of an archive to import: a file or stdin (`-`), read in order and never held
// whole in memory. Beyond ctr, an archive compressed with gzip or zstd (`docker save | gzip`,
// k3s's `.tar.zst`) is recognised by its first bytes and decompressed on the fly.
//
// Files, and stdin when it is a file or a pipe, are read with read(2) into one reused buffer:
// streaming hundreds of megabytes through freshly allocated chunks lets V8 leave tens of
// megabytes of dead buffers around between collections (peak RSS about 90 MB for a 150 MiB
// archive, against about 60 MB this way). So a chunk is valid only until the next one is asked for.
import {spawn} from 'node:child_process'
import {fstatSync, read as readFs} from 'node:fs'
import {type FileHandle, open} from 'node:fs/promises'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGunzip} from 'node:zlib'
import {DataLoss, FailedPrecondition, Internal, InvalidArgument, NotFound, PermissionDenied} from '../errors/index.js'

/** An open archive. */
export interface ArchiveInput {
  /** The uncompressed tar stream, chunk by chunk; a chunk is valid only until the next is requested. */
  readonly chunks: AsyncIterable<Buffer>
  /** Size of the tar stream when it is known up front (an uncompressed regular file). */
  readonly size: number | undefined
  /** Release the file (stdin stays open). Idempotent. */
  close(): Promise<void>
}

const READ_CHUNK = 1 << 20

/**
 * Open `source` (a path, or `-` for stdin).
 * @throws NotFound (`open <path>: no such file or directory`), PermissionDenied, InvalidArgument
 * (a directory), Internal.
 */
export async function openArchiveInput(source: string): Promise<ArchiveInput> {
  if (source === '-') return openStdin()
  let fh: FileHandle
  try {
    fh = await open(source, 'r')
  } catch (err) {
    throw openError(err, source)
  }
  const stat = await fh.stat()
  if (stat.isDirectory()) {
    await fh.close()
    throw new InvalidArgument(`read ${source}: is a directory`)
  }
  let pos = 0
  const readAt = async (buffer: Buffer) => {
    const {bytesRead} = await fh.read(buffer, 0, buffer.length, pos)
    pos += bytesRead
    return bytesRead
  }
  return decompressing(readChunks(readAt), stat.isFile() ? stat.size : undefined, closeOnce(fh))
}

/** stdin: read(2) on a file or pipe (a pipe through a fresh, blocking open of it), else node's stream. */
async function openStdin(): Promise<ArchiveInput> {
  const stat = fstatSync(0)
  if (stat.isFile()) {
    // From the descriptor's own offset (a script may have read part of the file already).
    const readFd0 = (buffer: Buffer) =>
      new Promise<number>((resolve, reject) => readFs(0, buffer, 0, buffer.length, null, (err, n) => (err ? reject(err) : resolve(n))))
    return decompressing(readChunks(readFd0), stat.size, async () => undefined)
  }
  if (stat.isFIFO()) {
    // Our own open file description of the pipe: fd 0 may be non-blocking, which read(2) in
    // node's thread pool would not survive.
    const fh = await open('/proc/self/fd/0', 'r').catch(() => undefined)
    if (fh)
      return decompressing(
        readChunks(async (buffer) => (await fh.read(buffer, 0, buffer.length, null)).bytesRead),
        undefined,
        closeOnce(fh),
      )
  }
  return decompressing(process.stdin as AsyncIterable<Buffer>, undefined, async () => undefined)
}

/** Chunks read with one reused buffer until end of file. */
async function* readChunks(readInto: (buffer: Buffer) => Promise<number>): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafe(READ_CHUNK)
  for (;;) {
    const bytesRead = await readInto(buffer)
    if (bytesRead === 0) return
    yield buffer.subarray(0, bytesRead)
  }
}

function closeOnce(fh: FileHandle): () => Promise<void> {
  let closed = false
  return async () => {
    if (closed) return
    closed = true
    await fh.close().catch(() => undefined)
  }
}

function openError(err: unknown, source: string): Error {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new NotFound(`open ${source}: no such file or directory`, {cause: err})
  if (code === 'EACCES' || code === 'EPERM') return new PermissionDenied(`open ${source}: permission denied`, {cause: err})
  return new Internal(`open ${source}: ${(err as Error).message}`, {cause: err})
}

type Compression = 'gzip' | 'zstd' | 'none'

function sniff(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd) return 'zstd'
  return 'none'
}

/** Look at the first bytes and hand out the tar stream, decompressed if it is compressed. */
async function decompressing(source: AsyncIterable<Buffer>, size: number | undefined, close: () => Promise<void>): Promise<ArchiveInput> {
  const it = source[Symbol.asyncIterator]()
  const first: Buffer[] = []
  let headBytes = 0
  while (headBytes < 4) {
    const r = await it.next()
    if (r.done) break
    first.push(Buffer.from(r.value))
    headBytes += r.value.length
  }
  const compression = sniff(Buffer.concat(first))
  // The first chunks were collected (copied) to look at them; the rest pass through as they come.
  async function* raw(): AsyncGenerator<Buffer> {
    yield* first
    for (;;) {
      const r = await it.next()
      if (r.done) return
      yield r.value
    }
  }
  // A decompressor queues its input: hand it copies, not the reused read buffer.
  async function* copied(): AsyncGenerator<Buffer> {
    for await (const chunk of raw()) yield Buffer.from(chunk)
  }
  switch (compression) {
    case 'none':
      return {chunks: raw(), size, close}
    case 'gzip':
      return {chunks: gunzipped(copied()), size: undefined, close}
    case 'zstd':
      return {chunks: unzstd(copied()), size: undefined, close}
  }
}

async function* gunzipped(raw: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const gunzip = createGunzip({chunkSize: 256 << 10})
  const feeding = pipeline(Readable.from(raw, {objectMode: false}), gunzip)
  feeding.catch(() => undefined) // reported through the loop below or after it
  try {
    for await (const chunk of gunzip) yield chunk as Buffer
    await feeding
  } catch (err) {
    throw new DataLoss(`archive: corrupt gzip data: ${(err as Error).message}`, {cause: err})
  } finally {
    gunzip.destroy()
  }
}

async function* unzstd(raw: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const child = spawn('zstd', ['-d', '-c', '-q'], {stdio: ['pipe', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)))
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'ENOENT'
          ? new FailedPrecondition('archive is zstd-compressed but the zstd program is not installed (Debian package zstd)', {cause: err})
          : err,
      ),
    )
    child.on('close', (code) => resolve(code))
  })
  exited.catch(() => undefined)
  const feeding = pipeline(Readable.from(raw, {objectMode: false}), child.stdin)
  feeding.catch(() => undefined) // zstd stops reading on corrupt data; its exit status tells
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer
    const code = await exited
    if (code !== 0) throw new DataLoss(`archive: corrupt zstd data: ${stderr.trim().split('\n').pop() || `zstd exited with ${code}`}`)
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}
