// Phase one of an import: stream an image archive (OCI layout or Docker `docker save` format)
// into a staging area, entry by entry, hashing every file as it passes. Names and manifests are
// resolved only afterwards, because an archive's index.json or manifest.json may come after its
// blobs.
//
// Invariants: the archive is hostile input. Every entry's path is checked before anything is
// written: absolute paths, `..` components, links that point out of the archive and duplicate
// entries are DataLoss; a `blobs/<alg>/<hex>` file whose bytes do not hash to its name is DataLoss
// as soon as its last byte has passed; a truncated or corrupt tar is DataLoss. At most one input
// chunk and one write batch are in memory at a time: the next chunk is read only once the
// previous one's bytes are on their way to disk.
import {DataLoss} from '../errors/index.js'
import {DIGEST_ALGORITHMS} from '../oci/index.js'
import type {StagedBlob, StagedWriter, Staging} from '../store/index.js'
import {TarReader, type TarHeader} from '../tar/index.js'
import type {ArchiveInput} from './input.js'

/** Files read into memory instead of staged: the layout's own documents (containerd's 20 MiB limit). */
const META_FILES = new Set(['oci-layout', 'index.json', 'manifest.json'])
export const JSON_LIMIT = 20 << 20

const BLOB_PATH = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/

/** What an archive held, once read. */
export interface ArchiveContents {
  /** Staged files by their clean path. */
  readonly files: ReadonlyMap<string, StagedBlob>
  /** Symlinks and hardlinks: clean path -> clean path of the target inside the archive. */
  readonly links: ReadonlyMap<string, string>
  /** The layout documents (`oci-layout`, `index.json`, `manifest.json`), in memory. */
  readonly meta: ReadonlyMap<string, Buffer>
  /** Every staged blob by digest (later ones: generated manifests, compressed layers, join it). */
  readonly byDigest: Map<string, StagedBlob>
}

export interface ReadArchiveOptions {
  /** True when the namespace already has `digest` (pinned for this import): then only hash it. */
  readonly holds: (digest: string) => boolean
}

/**
 * Stream `input` into `staging`. @throws DataLoss (hostile or broken archive), NotImplemented
 * (tar features no image archive uses), Internal (I/O).
 */
export async function readArchive(input: ArchiveInput, staging: Staging, options: ReadArchiveOptions): Promise<ArchiveContents> {
  const files = new Map<string, StagedBlob>()
  const links = new Map<string, string>()
  const meta = new Map<string, Buffer>()
  const byDigest = new Map<string, StagedBlob>()
  const seen = new Set<string>()

  let current: {path: string; writer?: StagedWriter; expected?: string; parts?: Buffer[]} | undefined
  const inflight: Promise<unknown>[] = []
  const track = (p: Promise<unknown>): void => {
    p.catch(() => undefined) // awaited below; keeps an early failure from being unhandled
    inflight.push(p)
  }

  const claim = (header: TarHeader): string => {
    const path = cleanArchivePath(header.path)
    if (path === '') throw new DataLoss(`archive entry ${JSON.stringify(header.path)}: a ${header.type} with no name`)
    if (seen.has(path)) throw new DataLoss(`archive entry ${JSON.stringify(header.path)}: duplicate entry`)
    seen.add(path)
    return path
  }

  const reader = new TarReader({
    entry(header) {
      current = undefined
      switch (header.type) {
        case 'dir':
          cleanArchivePath(header.path) // only checked: directories carry nothing
          return
        case 'symlink': {
          const path = claim(header)
          links.set(path, resolveSymlink(path, header.linkpath))
          return
        }
        case 'hardlink': {
          const path = claim(header)
          const target = cleanArchivePath(header.linkpath)
          if (target === '') throw new DataLoss(`archive entry ${JSON.stringify(header.path)}: hard link to the archive's root`)
          links.set(path, target)
          return
        }
        case 'file':
          break
        default:
          cleanArchivePath(header.path) // devices and fifos have no place in an image archive; ignored, as containerd does
          return
      }
      const path = claim(header)
      if (input.size !== undefined && header.size > input.size) {
        throw new DataLoss(`archive entry ${JSON.stringify(header.path)}: claims ${header.size} bytes, more than the whole archive (${input.size})`)
      }
      if (META_FILES.has(path)) {
        if (header.size > JSON_LIMIT)
          throw new DataLoss(`archive entry ${JSON.stringify(header.path)}: ${header.size} bytes is more than the limit of ${JSON_LIMIT} bytes`)
        current = {path, parts: []}
        return
      }
      const m = BLOB_PATH.exec(path)
      const expected = m && DIGEST_ALGORITHMS[m[1]] === m[2].length ? `${m[1]}:${m[2]}` : undefined
      const algorithm = expected ? m![1] : 'sha256'
      const writer = expected && options.holds(expected) ? staging.hashOnly(algorithm) : staging.create(algorithm)
      current = {path, writer, ...(expected ? {expected} : {})}
    },
    data(chunk, start, end) {
      if (!current) return
      // A slice of the input chunk, valid until the next one is read: the writer copies it before its promise settles.
      if (current.parts) current.parts.push(Buffer.from(chunk.subarray(start, end)))
      else track(current.writer!.write(chunk.subarray(start, end)))
    },
    entryEnd() {
      const entry = current
      current = undefined
      if (!entry) return
      if (entry.parts) {
        meta.set(entry.path, Buffer.concat(entry.parts))
        return
      }
      track(
        entry.writer!.end().then((blob) => {
          if (entry.expected !== undefined && blob.digest !== entry.expected) {
            throw new DataLoss(`archive entry ${JSON.stringify(entry.path)}: content has digest ${blob.digest}, not the one its name says`)
          }
          files.set(entry.path, blob)
          byDigest.set(blob.digest, blob)
        }),
      )
    },
  })

  for await (const chunk of input.chunks) {
    if (!reader.finished) reader.push(chunk)
    // Whatever follows the end-of-archive blocks (padding, trailing bytes) is read and ignored.
    if (inflight.length > 0) await Promise.all(inflight.splice(0))
  }
  reader.end()
  return {files, links, meta, byDigest}
}

/**
 * An entry name as a clean relative path inside the archive (`./a//b/` -> `a/b`; the root is '').
 * @throws DataLoss for absolute paths and any `..` component.
 */
export function cleanArchivePath(raw: string): string {
  if (raw.startsWith('/')) throw new DataLoss(`archive entry ${JSON.stringify(raw)}: absolute path`)
  const parts: string[] = []
  for (const part of raw.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') throw new DataLoss(`archive entry ${JSON.stringify(raw)}: path leads out of the archive`)
    parts.push(part)
  }
  return parts.join('/')
}

/** Where a symlink at `path` points, as a clean path inside the archive. @throws DataLoss when it points out. */
function resolveSymlink(path: string, linkpath: string): string {
  if (linkpath.startsWith('/')) throw new DataLoss(`archive entry ${JSON.stringify(path)}: symlink to an absolute path ${JSON.stringify(linkpath)}`)
  const parts = path.split('/').slice(0, -1)
  for (const part of linkpath.split('/')) {
    if (part === '' || part === '.') continue
    if (part !== '..') parts.push(part)
    else if (parts.pop() === undefined)
      throw new DataLoss(`archive entry ${JSON.stringify(path)}: symlink ${JSON.stringify(linkpath)} points out of the archive`)
  }
  return parts.join('/')
}

/**
 * The staged blob at `path`, following links (at most 16). @throws DataLoss naming `what` when
 * the archive has no such file.
 */
export function fileAt(contents: ArchiveContents, path: string, what: string): StagedBlob {
  let at = cleanArchivePath(path)
  for (let hops = 0; hops <= 16; hops++) {
    const blob = contents.files.get(at)
    if (blob) return blob
    const next = contents.links.get(at)
    if (next === undefined) break
    at = next
  }
  throw new DataLoss(`${what} ${JSON.stringify(path)} not found in the archive`)
}
