// Applies one layer blob in this thread: decompress, hash, parse and extract in a single
// streaming pass, then (overlay mode) the fix-up once the lower layers exist, then directory times.
//
// Invariant: the diffId is the sha256 of the whole uncompressed stream, read to its end (bytes
// after the end-of-archive blocks included), so it matches what registries and containerd compute.
import {createHash} from 'node:crypto'
import {closeSync, openSync, readSync, readdirSync, realpathSync, statSync} from 'node:fs'
import {isAbsolute} from 'node:path'
import {FailedPrecondition, InvalidArgument, NotFound, isBerthError} from '../../errors/index.js'
import {HEAD_BYTES, decideCompression, streamLayer} from './decompress.js'
import {Extractor, prefixed, type ApplyMode} from './extractor.js'
import {TarReader} from '../../tar/index.js'

export type {ApplyMode} from './extractor.js'

/** What {@link applyLayer} needs. */
export interface ApplyLayerOptions {
  /** The layer blob as stored (compressed or not). */
  readonly blobPath: string
  /** The layer's media type (OCI/Docker tar, +gzip, +zstd; Docker's rootfs.diff.tar is sniffed). */
  readonly mediaType: string
  /** Directory to apply into (absolute). */
  readonly target: string
  /**
   * 'overlay': `target` is the EMPTY upper dir of an overlay snapshot; whiteouts become char 0:0
   * devices and `.wh..wh..opq` sets `trusted.overlay.opaque=y`. 'merged': `target` is a full copy
   * of the parent tree; whiteouts delete, an opaque marker deletes what this layer did not create.
   */
  readonly mode: ApplyMode
  /**
   * overlay mode only: the lower layers' directories, nearest first, resolved once the parent
   * chain is committed. Used only by the fix-up after extraction (hardlinks to lower files,
   * metadata of implicit directories, whiteouts that hide nothing), so several layers can extract
   * at once. Without it, the fix-up sees no lower layers and keeps every whiteout.
   */
  readonly lowers?: () => Promise<readonly string[]>
  /** Called with the total compressed bytes read so far. */
  readonly onProgress?: (compressedBytesRead: number) => void
  /** Told about things skipped on purpose (xattrs the target's filesystem cannot store). */
  readonly onWarning?: (message: string) => void
  readonly signal?: AbortSignal
}

/** What applying a layer found. */
export interface ApplyLayerResult {
  /** sha256:<hex> of the whole uncompressed stream. */
  readonly diffId: string
  /** Uncompressed bytes. */
  readonly size: number
}

/**
 * Applies a layer in the calling thread (see {@link ApplyLayerOptions}).
 * @returns the layer's diffId and uncompressed size.
 * @throws InvalidArgument (bad options, not a layer type), NotFound (blob or target missing),
 * NotImplemented (unsupported compression or entry type), DataLoss (corrupt or truncated data,
 * unresolvable hardlink), PermissionDenied / Unavailable / Internal (filesystem failures), or
 * the signal's reason. On failure the target is left half-written: the caller removes it.
 */
export async function applyLayerHere(options: ApplyLayerOptions): Promise<ApplyLayerResult> {
  const {blobPath, mediaType, mode, signal} = options
  if (mode !== 'overlay' && mode !== 'merged') throw new InvalidArgument(`invalid apply mode ${JSON.stringify(mode)}`)
  const root = targetDir(options.target, mode)
  const what = `layer ${JSON.stringify(blobPath)}`
  signal?.throwIfAborted()

  let fd: number
  try {
    fd = openSync(blobPath, 'r')
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? new NotFound(`${what}: not found`, {cause: err}) : prefixed(err, what)
  }
  let extractor: Extractor | undefined
  try {
    const head = Buffer.alloc(HEAD_BYTES)
    const compression = decideCompression(mediaType, head.subarray(0, readSync(fd, head, 0, HEAD_BYTES, 0)), what)
    extractor = new Extractor({root, mode, ...(options.onWarning ? {onWarning: options.onWarning} : {})})
    const reader = new TarReader(extractor)
    const hash = createHash('sha256')
    let size = 0
    const streaming = streamLayer(
      fd,
      compression,
      (chunk) => {
        hash.update(chunk)
        size += chunk.length
        if (!reader.finished) reader.push(chunk)
      },
      {what, ...(options.onProgress ? {onProgress: options.onProgress} : {}), ...(signal ? {signal} : {})},
    )
    fd = -1 // the stream owns it now
    await streaming
    reader.end()
    if (mode === 'overlay') {
      const lowers = options.lowers ? await options.lowers() : []
      signal?.throwIfAborted()
      extractor.fixUp(
        lowers.map((l) => realpathSync(l)),
        {pruneWhiteouts: options.lowers !== undefined},
      )
    }
    extractor.finish()
    return {diffId: `sha256:${hash.digest('hex')}`, size}
  } catch (err) {
    if (isBerthError(err) || (err as Error)?.name === 'AbortError' || err === signal?.reason) throw err
    throw prefixed(err, what)
  } finally {
    extractor?.close()
    if (fd >= 0) closeSync(fd)
  }
}

/** The target as an absolute, symlink-free path, checked for the mode. */
function targetDir(target: string, mode: ApplyMode): string {
  if (!isAbsolute(target)) throw new InvalidArgument(`apply target ${JSON.stringify(target)} must be an absolute path`)
  let root: string
  try {
    root = realpathSync(target)
    if (!statSync(root).isDirectory()) throw new InvalidArgument(`apply target ${JSON.stringify(target)} is not a directory`)
  } catch (err) {
    if (isBerthError(err)) throw err
    throw new NotFound(`apply target ${JSON.stringify(target)}: ${(err as Error).message}`, {cause: err})
  }
  if (mode === 'overlay' && readdirSync(root).length > 0) {
    throw new FailedPrecondition(`apply target ${JSON.stringify(target)} must be an empty directory in overlay mode`)
  }
  return root
}
