// Docker archives (`docker save`, skopeo `docker-archive:`): turn manifest.json's entries into
// what an OCI layout would have had — a Docker schema 2 manifest per image and an index naming
// them — byte for byte as containerd's importer builds them, so the digests match containerd's.
//
// Invariants: every layer must be in the archive (following the legacy `<id>/layer.tar`
// symlinks); an uncompressed layer must hash to its config's diff_id (DataLoss otherwise); the
// documents made here are staged like archive files and committed only if an image needs them.
import {closeSync, openSync, readSync} from 'node:fs'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib'
import {DataLoss, describe, isBerthError, NotImplemented} from '../errors/index.js'
import {configPlatform, type Descriptor, MediaType, normalizePlatform, parseImageConfig, platformToOci} from '../oci/index.js'
import type {Labels} from '../oci/labels.js'
import {blobPath, type StagedBlob, type Staging, type Store} from '../store/index.js'
import {goDockerManifest, goIndex} from './go-json.js'
import {ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, normalizeDockerRef, ociReferenceName} from './names.js'
import {type ArchiveContents, fileAt, JSON_LIMIT} from './read.js'

/** containerd's label naming a compressed blob's uncompressed digest. */
const UNCOMPRESSED_LABEL = 'containerd.io/uncompressed'

/** One entry of manifest.json. */
interface DockerManifestEntry {
  Config: string
  RepoTags: string[] | null
  Layers: string[]
}

export interface DockerIndex {
  /** The index document, staged. */
  readonly index: StagedBlob
  readonly indexBytes: Buffer
  /** Labels for blobs made here (a compressed layer's `containerd.io/uncompressed`). */
  readonly labels: ReadonlyMap<string, Labels>
}

/**
 * Build the index of a Docker archive from its manifest.json. With `compress`, uncompressed
 * layers are gzipped (containerd's --compress-blobs). A layer whose compressed form is already
 * in the namespace (a blob labelled `containerd.io/uncompressed=<its digest>`) is referenced in
 * that form, as containerd does. @throws DataLoss, NotImplemented (bzip2/xz layers), Internal.
 */
export async function dockerIndex(store: Store, ns: string, staging: Staging, contents: ArchiveContents, compress: boolean): Promise<DockerIndex> {
  const entries = parseManifestJson(contents.meta.get('manifest.json')!)
  if (entries.length === 0) throw new DataLoss('manifest.json: lists no images')
  const labels = new Map<string, Labels>()
  const manifests: Descriptor[] = []
  for (const entry of entries) {
    const configBlob = fileAt(contents, entry.Config, 'image config')
    const config = (() => {
      try {
        return parseImageConfig(staging.readBytes(configBlob, JSON_LIMIT))
      } catch (err) {
        throw asDataLoss(err, `image config ${JSON.stringify(entry.Config)}`)
      }
    })()
    const diffIds = config.rootfs.diff_ids
    if (entry.Layers.length !== diffIds.length) {
      throw new DataLoss(`image config ${JSON.stringify(entry.Config)}: ${diffIds.length} diff_ids for ${entry.Layers.length} layers in manifest.json`)
    }
    const layers: Descriptor[] = []
    for (const [i, path] of entry.Layers.entries()) {
      const blob = fileAt(contents, path, 'layer')
      const compression = sniff(blob.head)
      if (compression === 'bzip2' || compression === 'xz')
        throw new NotImplemented(`layer ${JSON.stringify(path)}: ${compression}-compressed layers are not supported`)
      if (compression !== 'none') {
        layers.push({mediaType: compression === 'zstd' ? MediaType.dockerLayerZstd : MediaType.dockerLayerGzip, digest: blob.digest, size: blob.size})
        continue // its diff_id is checked when it is unpacked
      }
      if (blob.digest !== diffIds[i]) {
        throw new DataLoss(`layer ${JSON.stringify(path)}: content has digest ${blob.digest}, but the image config says ${diffIds[i]}`)
      }
      const known = compressedForm(store, ns, blob.digest)
      if (known) layers.push(known)
      else if (compress) {
        const gz = await gzipStaged(staging, blob)
        contents.byDigest.set(gz.digest, gz)
        labels.set(gz.digest, {[UNCOMPRESSED_LABEL]: blob.digest})
        layers.push({mediaType: MediaType.dockerLayerGzip, digest: gz.digest, size: gz.size})
      } else layers.push({mediaType: MediaType.dockerLayer, digest: blob.digest, size: blob.size})
    }
    const configDesc: Descriptor = {mediaType: MediaType.dockerConfig, digest: configBlob.digest, size: configBlob.size}
    const manifestBytes = Buffer.from(goDockerManifest(MediaType.dockerManifest, configDesc, layers))
    const manifestBlob = await staging.stageBytes(manifestBytes)
    contents.byDigest.set(manifestBlob.digest, manifestBlob)
    const desc: Descriptor = {
      mediaType: MediaType.dockerManifest,
      digest: manifestBlob.digest,
      size: manifestBlob.size,
      platform: platformToOci(normalizePlatform(configPlatform(config))),
    }
    if (!entry.RepoTags || entry.RepoTags.length === 0) manifests.push(desc)
    for (const tag of entry.RepoTags ?? []) {
      let name: string
      try {
        name = normalizeDockerRef(tag)
      } catch (err) {
        throw asDataLoss(err, 'manifest.json')
      }
      manifests.push({...desc, annotations: {[ANNOTATION_IMAGE_NAME]: name, [ANNOTATION_REF_NAME]: ociReferenceName(name)}})
    }
  }
  const indexBytes = Buffer.from(goIndex(manifests))
  const index = await staging.stageBytes(indexBytes)
  contents.byDigest.set(index.digest, index)
  return {index, indexBytes, labels}
}

/** manifest.json, checked for shape. @throws DataLoss. */
function parseManifestJson(bytes: Buffer): DockerManifestEntry[] {
  const fail = (what: string): never => {
    throw new DataLoss(`manifest.json: ${what}`)
  }
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch (err) {
    return fail(`not JSON: ${(err as Error).message}`)
  }
  if (!Array.isArray(value)) return fail('expected a list of images')
  return value.map((raw: unknown, i) => {
    if (typeof raw !== 'object' || raw === null) return fail(`entry ${i} is not an object`)
    const e = raw as Record<string, unknown>
    const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string')
    if (typeof e['Config'] !== 'string') fail(`entry ${i}: Config must be a string`)
    if (!strings(e['Layers'])) fail(`entry ${i}: Layers must be a list of strings`)
    if (e['RepoTags'] !== undefined && e['RepoTags'] !== null && !strings(e['RepoTags'])) fail(`entry ${i}: RepoTags must be a list of strings`)
    return {Config: e['Config'] as string, Layers: e['Layers'] as string[], RepoTags: (e['RepoTags'] as string[] | null | undefined) ?? null}
  })
}

type Sniffed = 'gzip' | 'zstd' | 'bzip2' | 'xz' | 'none'

function sniff(head: Buffer): Sniffed {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd) return 'zstd'
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bzip2'
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz'
  return 'none'
}

/**
 * A compressed blob of `ns` labelled as the compressed form of `diffId` (the last by digest, as
 * containerd's walk leaves it), with the media type its first bytes show.
 */
function compressedForm(store: Store, ns: string, diffId: string): Descriptor | undefined {
  const found = store.content.findByLabel(ns, UNCOMPRESSED_LABEL, diffId).filter((c) => c.digest !== diffId)
  const info = found.at(-1)
  if (!info) return undefined
  let head: Buffer
  try {
    head = readHead(blobPath(store.root, info.digest))
  } catch {
    return undefined // not on disk after all: use the layer from the archive
  }
  const kind = sniff(head)
  const mediaType = kind === 'zstd' ? MediaType.dockerLayerZstd : kind === 'none' ? MediaType.dockerLayer : MediaType.dockerLayerGzip
  return {mediaType, digest: info.digest, size: info.size}
}

/** The first ten bytes of a file: enough to tell its compression. */
function readHead(path: string): Buffer {
  const fd = openSync(path, 'r')
  try {
    const buf = Buffer.alloc(10)
    const n = readSync(fd, buf, 0, 10, 0)
    return buf.subarray(0, n)
  } finally {
    closeSync(fd)
  }
}

/** gzip a staged blob into a new staged blob. */
async function gzipStaged(staging: Staging, blob: StagedBlob): Promise<StagedBlob> {
  const writer = staging.create()
  try {
    await pipeline(staging.openRead(blob), createGzip(), async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) await writer.write(chunk)
    })
    return await writer.end()
  } catch (err) {
    await writer.abort()
    throw err
  }
}

function asDataLoss(err: unknown, what: string): Error {
  if (isBerthError(err) && (err.kind === 'data loss' || err.kind === 'not implemented')) return err
  return new DataLoss(`${what}: ${describe(err)}`, {cause: err})
}
