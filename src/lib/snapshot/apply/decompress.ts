// Turns a stored layer blob into its uncompressed byte stream, chunk by chunk, handed to a
// synchronous consumer: gzip through node:zlib (multi-member streams included), zstd through the
// `zstd` program (Node 20 has no zstd), uncompressed as read.
//
// Invariants: the compression is decided from the media type AND the first bytes: Docker's
// `rootfs.diff.tar` (which tools are known to gzip anyway) is sniffed, every other type must
// match its content; bzip2, xz, encrypted and unknown types are refused up front. A corrupt or
// truncated compressed stream rejects with DataLoss. The consumer runs synchronously for each
// chunk (no promise per chunk); an exception from it aborts the stream and rejects.
import {spawn} from 'node:child_process'
import {close as closeFdAsync, createReadStream, read as readFs} from 'node:fs'
import {createGunzip, type ZlibOptions} from 'node:zlib'
import {DataLoss, FailedPrecondition, InvalidArgument, NotImplemented} from '../../errors/index.js'
import {MediaType, isLayer, layerCompression, normalizeMediaType, type LayerCompression} from '../../oci/index.js'

/** Bytes of the blob needed to recognise its compression. */
export const HEAD_BYTES = 6

/** Read size for the blob file. */
const READ_CHUNK = 1 << 20
/** Output chunk size of gunzip: larger chunks mean fewer callbacks. */
const GUNZIP_CHUNK = 256 << 10
/** How far gunzip may run ahead of the extraction. */
const GUNZIP_AHEAD = 2 << 20

type Sniffed = LayerCompression | 'bzip2' | 'xz'

function sniff(head: Buffer): Sniffed {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd) return 'zstd'
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2'
  if (head.length >= 6 && head.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz'
  return 'none'
}

/**
 * The compression to undo for a blob of `mediaType` starting with `head`.
 * @throws InvalidArgument (not a layer media type), NotImplemented (encrypted, bzip2, xz, other
 * unsupported layer types), DataLoss (content does not match the declared compression).
 */
export function decideCompression(mediaType: string, head: Buffer, what: string): LayerCompression {
  const declared = layerCompression(mediaType)
  const found = sniff(head)
  if (declared === undefined) {
    if (!isLayer(mediaType)) throw new InvalidArgument(`${what}: media type ${JSON.stringify(mediaType)} is not a layer`)
    throw new NotImplemented(`${what}: layer media type ${JSON.stringify(mediaType)} is not supported (only tar, tar+gzip and tar+zstd)`)
  }
  if (found === 'bzip2' || found === 'xz') throw new NotImplemented(`${what}: ${found}-compressed layers are not supported`)
  const base = normalizeMediaType(mediaType)
  if (base === MediaType.dockerLayer || base === MediaType.dockerLayerForeign) return found // compression unknown by type: sniff it
  if (found !== declared) {
    const says = declared === 'none' ? 'an uncompressed tar' : declared
    throw new DataLoss(
      `${what}: media type ${JSON.stringify(mediaType)} declares ${says}, but the data ` +
        `${found === 'none' ? 'is not compressed that way' : `is ${found}-compressed`}`,
    )
  }
  return found
}

function closeFd(fd: number): void {
  closeFdAsync(fd, () => undefined)
}

/** Options for {@link streamLayer}. */
export interface StreamOptions {
  /** Called with the total compressed bytes read so far. */
  readonly onProgress?: (compressedBytesRead: number) => void
  readonly signal?: AbortSignal
  /** Names the blob in messages. */
  readonly what: string
}

/**
 * Reads the blob open at `fd` (from offset 0; the descriptor is closed when done) and passes
 * each uncompressed chunk to `consume`.
 * @throws DataLoss (corrupt compressed data), FailedPrecondition (zstd missing), the signal's
 * reason when aborted, and whatever `consume` throws.
 */
export function streamLayer(fd: number, compression: LayerCompression, consume: (chunk: Buffer) => void, options: StreamOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const {signal, onProgress, what} = options
    let settled = false
    const cleanups: (() => void)[] = []
    const finish = (err?: unknown): void => {
      if (settled) return
      settled = true
      signal?.removeEventListener('abort', onAbort)
      for (const c of cleanups) c()
      if (err === undefined) resolve()
      else reject(err)
    }
    const onAbort = (): void => finish(signal!.reason)
    if (signal?.aborted) return finish(signal.reason)
    signal?.addEventListener('abort', onAbort, {once: true})
    const deliver = (chunk: Buffer | string): void => {
      if (settled) return
      try {
        consume(chunk as Buffer)
      } catch (err) {
        finish(err)
      }
    }
    let read = 0
    /** The compressed input for a decompressor: a stream that owns (and closes) the descriptor. */
    const compressedInput = () => {
      const input = createReadStream('', {fd, start: 0, highWaterMark: READ_CHUNK, autoClose: true})
      cleanups.push(() => input.destroy())
      input.on('error', (err) => finish(err))
      if (onProgress) input.on('data', (chunk: Buffer | string) => onProgress((read += chunk.length)))
      return input
    }

    switch (compression) {
      case 'none': {
        // The consumer is synchronous, so one buffer serves every read: fresh 1 MiB chunks
        // would leave tens of megabytes of dead buffers between V8's collections.
        // The descriptor is closed when no read is in flight, never under one.
        const buffer = Buffer.allocUnsafe(READ_CHUNK)
        let reading = false
        const next = (): void => {
          reading = true
          readFs(fd, buffer, 0, buffer.length, read, (err, n) => {
            reading = false
            if (settled) return closeFd(fd)
            if (err) return finish(err)
            if (n === 0) return finish()
            read += n
            onProgress?.(read)
            deliver(buffer.subarray(0, n))
            if (!settled) next()
          })
        }
        cleanups.push(() => {
          if (!reading) closeFd(fd)
        })
        next()
        return
      }
      case 'gzip': {
        // Paused mode with a deep read buffer: zlib schedules its next inflate before our
        // consumer runs (on 'readable'), so inflating and extracting overlap. In flowing mode
        // the consumer would run inside zlib's callback and the two would take turns.
        const gunzip = createGunzip({chunkSize: GUNZIP_CHUNK, readableHighWaterMark: GUNZIP_AHEAD} as ZlibOptions)
        cleanups.push(() => gunzip.destroy())
        gunzip.on('error', (err) => finish(new DataLoss(`${what}: corrupt gzip data: ${err.message}`, {cause: err})))
        gunzip.on('readable', () => {
          let chunk: Buffer | null
          while (!settled && (chunk = gunzip.read() as Buffer | null) !== null) deliver(chunk)
        })
        gunzip.on('end', () => finish())
        compressedInput().pipe(gunzip)
        return
      }
      case 'zstd': {
        const child = spawn('zstd', ['-d', '-c', '-q'], {stdio: ['pipe', 'pipe', 'pipe']})
        cleanups.push(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        })
        let stderr = ''
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)))
        child.stdin.on('error', () => {
          /* zstd exits early on corrupt data; its exit status tells */
        })
        child.on('error', (err: NodeJS.ErrnoException) =>
          finish(err.code === 'ENOENT' ? new FailedPrecondition(`${what}: the zstd program is not installed (Debian package zstd)`, {cause: err}) : err),
        )
        child.stdout.on('data', deliver)
        child.on('close', (code, sig) => {
          if (code === 0) finish()
          else finish(new DataLoss(`${what}: corrupt zstd data: ${stderr.trim().split('\n').pop() || `zstd exited with ${code ?? sig}`}`))
        })
        compressedInput().pipe(child.stdin)
        return
      }
    }
  })
}
