// `ctr images convert`: a new image from one in the content store, as containerd's converter makes it — Docker media
// types turned into OCI ones (`oci`), gzip/zstd layers turned into plain tar (`uncompress`), index entries of other
// platforms dropped — recorded under the target name. The source image and its blobs are left as they are: every
// changed document or layer is a new blob, written through a verified ingest under a lease, and the image record is
// written while the lease still holds them. An uncompressed layer must hash to the config's diff_id (so the config,
// the chain IDs and any unpacked snapshots stay the same); documents that change are re-encoded as Go's encoding/json
// writes containerd's structs (same field order, omitted empties, HTML-safe escapes: the same digests as ctr's
// convert), others keep their bytes. New blobs carry only their GC references, not the source's distribution-source
// labels (containerd copies those, though no registry can hold the new bytes yet).
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {createReadStream, openSync, readSync, closeSync} from 'node:fs'
import {pipeline} from 'node:stream'
import {createGunzip} from 'node:zlib'
import {DataLoss, FailedPrecondition, NotFound, isNotFound, withContext} from '../errors/index.js'
import {
  type Descriptor,
  type ImageConfig,
  type LayerCompression,
  MediaType,
  isConfig,
  isIndex,
  isLayer,
  isManifest,
  layerCompression,
  matchesStrictly,
  normalizeMediaType,
  parseImageConfig,
  parseIndex,
  parseManifest,
  parsePlatform,
  parseReference,
  platformFromOci,
  sha256Digest,
  type Platform,
} from '../oci/index.js'
import type {Labels} from '../oci/labels.js'
import {decideCompression, HEAD_BYTES} from '../snapshot/apply/decompress.js'
import {type Store, withLease} from '../store/index.js'
import {findImage} from './index.js'

/** What `convertImage` takes. */
export interface ConvertOptions {
  readonly namespace: string
  /** The image to convert (as named, or normalized). */
  readonly source: string
  /** The name of the new image (normalized as pull and tag do). */
  readonly target: string
  /** Docker media types to OCI ones: index, manifests, config and layer descriptors. */
  readonly oci?: boolean
  /** gzip and zstd layers to uncompressed tar (same diff_ids). */
  readonly uncompress?: boolean
  /** Keep these platforms of an index (exact match, as ctr's `platforms.Ordered`); default the host's only. */
  readonly platforms?: readonly string[]
  /** Keep every platform (wins over `platforms`, as in ctr). */
  readonly allPlatforms?: boolean
}

/** What `convertImage` did. */
export interface ConvertResult {
  /** The new image's name. */
  readonly name: string
  /** Its target: the converted root, or the source's when nothing needed converting. */
  readonly target: Descriptor
  /** True when the image record is new (false: an existing image of that name now points here). */
  readonly created: boolean
}

const LEASE_MS = 24 * 3600 * 1000
const READ_CHUNK = 1 << 20

/**
 * Convert an image (see the file comment) and record the result under `options.target`.
 * @throws NotFound (no such image; a blob the conversion reads is not here; no manifest of the index is left for the
 *   platforms), InvalidArgument (names, platforms), DataLoss (a layer that does not decompress or does not hash to
 *   its diff_id), FailedPrecondition (zstd missing).
 */
export async function convertImage(store: Store, options: ConvertOptions): Promise<ConvertResult> {
  const ns = options.namespace
  const source = findImage(store, ns, options.source)
  const name = parseReference(options.target).toString()
  const wanted = options.allPlatforms ? undefined : (options.platforms ?? []).map((p) => parsePlatform(p))
  return withLease(
    store,
    ns,
    async (leaseId) => {
      const converter = new Converter(store, ns, leaseId, options.oci ?? false, options.uncompress ?? false, wanted)
      const converted = await converter.convert(source.target)
      const target = converted ?? source.target
      const {created} = store.images.put(ns, {name, target: imageTarget(target), labels: source.labels})
      return {name, target, created}
    },
    {expiresInMs: LEASE_MS},
  )
}

/** One conversion's walk; each descriptor converts to a new one, or to undefined when it stays as it is. */
class Converter {
  /** Conversions already done in this walk, by source digest (an index may list a manifest twice). */
  private readonly done = new Map<string, Promise<Descriptor | undefined>>()

  constructor(
    private readonly store: Store,
    private readonly ns: string,
    private readonly leaseId: string,
    private readonly oci: boolean,
    private readonly uncompress: boolean,
    /** Platforms to keep in an index; undefined keeps all. Empty means the host (`matchesStrictly`). */
    private readonly platforms: Platform[] | undefined,
  ) {}

  async convert(desc: Descriptor, diffId?: string): Promise<Descriptor | undefined> {
    let converted: Descriptor | undefined
    if (isIndex(desc.mediaType)) converted = await this.once(desc, () => this.convertIndex(desc))
    else if (isManifest(desc.mediaType)) converted = await this.once(desc, () => this.convertManifest(desc))
    else if (isLayer(desc.mediaType)) converted = await this.convertLayer(desc, diffId)
    // Configs keep their bytes: diff_ids never change here.
    if (isDockerType(desc.mediaType)) {
      if (this.oci) {
        converted = {...(converted ?? desc)}
        converted.mediaType = dockerToOci(converted.mediaType)
      } else if ((converted ?? desc).annotations !== undefined) {
        // Docker's schema has no annotations: containerd drops them from Docker descriptors it touches.
        const {annotations: _dropped, ...rest} = converted ?? desc
        converted = rest
      }
    }
    return converted
  }

  private once(desc: Descriptor, fn: () => Promise<Descriptor | undefined>): Promise<Descriptor | undefined> {
    let p = this.done.get(desc.digest)
    if (p === undefined) {
      p = fn()
      this.done.set(desc.digest, p)
    }
    return p
  }

  private async convertIndex(desc: Descriptor): Promise<Descriptor | undefined> {
    const bytes = this.read(desc, 'index')
    const index = parseIndex(bytes, desc.mediaType)
    const doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>
    let modified = false
    if (this.oci && typeof index.mediaType === 'string' && isDockerType(index.mediaType)) {
      doc['mediaType'] = dockerToOci(index.mediaType)
      modified = true
    }
    const kept: Descriptor[] = []
    for (const m of index.manifests) {
      if (m.platform !== undefined && this.platforms !== undefined && !matchesStrictly(this.platforms, platformFromOci(m.platform))) {
        modified = true
        continue
      }
      const converted = await this.convert(m)
      if (converted !== undefined) modified = true
      kept.push(converted ?? m)
    }
    if (!modified) return undefined
    if (kept.length === 0) throw new NotFound(`no match for platform in manifest ${desc.digest}`, {suffixKind: true})
    doc['manifests'] = kept
    const labels: Labels = {}
    kept.forEach((m, i) => (labels[`containerd.io/gc.ref.content.m.${i}`] = m.digest))
    return this.writeJson(desc, goIndexJson(doc), labels)
  }

  private async convertManifest(desc: Descriptor): Promise<Descriptor | undefined> {
    const bytes = this.read(desc, 'manifest')
    const manifest = parseManifest(bytes, desc.mediaType)
    const doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>
    let modified = false
    if (this.oci && typeof manifest.mediaType === 'string' && isDockerType(manifest.mediaType)) {
      doc['mediaType'] = dockerToOci(manifest.mediaType)
      modified = true
    }
    // The diff_ids the uncompressed layers must hash to (only read when layers are to be uncompressed).
    let config: ImageConfig | undefined
    if (this.uncompress && isConfig(manifest.config.mediaType) && manifest.layers.some((l) => wouldUncompress(l.mediaType))) {
      config = parseImageConfig(this.read(manifest.config, 'config'))
    }
    const layers: Descriptor[] = []
    for (const [i, layer] of manifest.layers.entries()) {
      const converted = await this.convert(layer, config?.rootfs.diff_ids[i])
      if (converted !== undefined) modified = true
      layers.push(converted ?? layer)
    }
    const convertedConfig = await this.convert(manifest.config)
    if (convertedConfig !== undefined) modified = true
    if (!modified) return undefined
    doc['layers'] = layers
    doc['config'] = convertedConfig ?? manifest.config
    const labels: Labels = {'containerd.io/gc.ref.content.config': (convertedConfig ?? manifest.config).digest}
    layers.forEach((l, i) => (labels[`containerd.io/gc.ref.content.l.${i}`] = l.digest))
    return this.writeJson(desc, goManifestJson(doc), labels)
  }

  /** A gzip or zstd layer, uncompressed into a new blob; anything else stays. */
  private async convertLayer(desc: Descriptor, diffId: string | undefined): Promise<Descriptor | undefined> {
    if (!this.uncompress || !wouldUncompress(desc.mediaType)) return undefined
    const path = this.path(desc, 'layer')
    const what = `layer ${desc.digest}`
    const compression = decideCompression(desc.mediaType, readHead(path), what)
    if (compression === 'none') return undefined // a Docker `rootfs.diff.tar` layer that is a plain tar already
    // Pass 1 learns the uncompressed digest and size, which the content store wants before a byte is written (and
    // when the blob is there already, nothing more is written at all).
    const hash = createHash('sha256')
    let size = 0
    for await (const chunk of decompressed(path, compression, what)) {
      hash.update(chunk)
      size += chunk.length
    }
    const digest = `sha256:${hash.digest('hex')}`
    if (diffId !== undefined && digest !== diffId) {
      throw new DataLoss(`${what} decompresses to ${digest}, but the image config says its diff_id is ${diffId}`)
    }
    const opened = await this.store.content.openWriter(this.ns, {
      ref: `convert-uncompress-from-${desc.digest}`,
      expected: {digest, size},
      leaseId: this.leaseId,
    })
    if (opened.status === 'write') {
      const writer = opened.writer
      if (writer.offset > 0) {
        // A partial ingest from a killed conversion is simply started over.
        await writer.abort()
        return this.convertLayer(desc, diffId)
      }
      try {
        for await (const chunk of decompressed(path, compression, what)) await writer.write(chunk)
        await writer.commit({mediaType: this.finalType(uncompressedType(desc.mediaType))})
      } catch (err) {
        await writer.abort()
        throw err
      }
    }
    return {...desc, mediaType: uncompressedType(desc.mediaType), digest, size}
  }

  /** Record a re-encoded document as a new blob with its GC references. */
  private async writeJson(old: Descriptor, bytes: Buffer, labels: Labels): Promise<Descriptor> {
    const digest = sha256Digest(bytes)
    const opened = await this.store.content.openWriter(this.ns, {
      ref: `converter-write-json-${digest}`,
      expected: {digest, size: bytes.length},
      labels,
      leaseId: this.leaseId,
    })
    if (opened.status === 'write') {
      const writer = opened.writer
      if (writer.offset > 0) {
        await writer.abort()
        return this.writeJson(old, bytes, labels)
      }
      try {
        await writer.write(bytes)
        await writer.commit({mediaType: this.finalType(old.mediaType)})
      } catch (err) {
        await writer.abort()
        throw err
      }
    }
    return {...old, digest, size: bytes.length}
  }

  /** The media type a new blob will be referenced with (its `/content/create` event says so). */
  private finalType(mediaType: string): string {
    return this.oci && isDockerType(mediaType) ? dockerToOci(mediaType) : mediaType
  }

  private read(desc: Descriptor, what: string): Buffer {
    try {
      return this.store.content.readBytes(this.ns, desc.digest)
    } catch (err) {
      throw notHere(err, desc, what)
    }
  }

  private path(desc: Descriptor, what: string): string {
    try {
      return this.store.content.path(this.ns, desc.digest)
    } catch (err) {
      throw notHere(err, desc, what)
    }
  }
}

function notHere(err: unknown, desc: Descriptor, what: string): Error {
  if (!isNotFound(err)) return err as Error
  return withContext(err, `${what} ${desc.digest} is not in the content store (fetch it, or convert fewer platforms)`)
}

/** The image record's target: the descriptor's own fields, without a platform. */
function imageTarget(d: Descriptor): {mediaType: string; digest: string; size: number; annotations?: Record<string, string>} {
  return d.annotations
    ? {mediaType: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations}
    : {mediaType: d.mediaType, digest: d.digest, size: d.size}
}

// ---- media types ------------------------------------------------------------------------------------------------

function isDockerType(mediaType: string): boolean {
  return normalizeMediaType(mediaType).startsWith('application/vnd.docker.')
}

/** containerd's ConvertDockerMediaTypeToOCI, plus Docker's zstd layer type (which containerd leaves alone). */
export function dockerToOci(mediaType: string): string {
  switch (normalizeMediaType(mediaType)) {
    case MediaType.dockerManifestList:
      return MediaType.ociIndex
    case MediaType.dockerManifest:
      return MediaType.ociManifest
    case MediaType.dockerLayerGzip:
      return MediaType.ociLayerGzip
    case MediaType.dockerLayerZstd:
      return MediaType.ociLayerZstd
    case MediaType.dockerLayerForeignGzip:
      return MediaType.ociLayerNondistributableGzip
    case MediaType.dockerLayer:
      return MediaType.ociLayer
    case MediaType.dockerLayerForeign:
      return MediaType.ociLayerNondistributable
    case MediaType.dockerConfig:
      return MediaType.ociConfig
    default:
      return mediaType
  }
}

/** The plain-tar type of a compressed layer type (containerd's uncompress `convertMediaType`, plus Docker zstd). */
export function uncompressedType(mediaType: string): string {
  switch (normalizeMediaType(mediaType)) {
    case MediaType.dockerLayerGzip:
    case MediaType.dockerLayerZstd:
      return MediaType.dockerLayer
    case MediaType.dockerLayerForeignGzip:
      return MediaType.dockerLayerForeign
    case MediaType.ociLayerGzip:
    case MediaType.ociLayerZstd:
      return MediaType.ociLayer
    case MediaType.ociLayerNondistributableGzip:
    case MediaType.ociLayerNondistributableZstd:
      return MediaType.ociLayerNondistributable
    default:
      return mediaType
  }
}

/** A tar layer this converter can uncompress: gzip or zstd by type, or Docker's untyped `rootfs.diff.tar` (sniffed). */
function wouldUncompress(mediaType: string): boolean {
  const declared = layerCompression(mediaType)
  if (declared === 'gzip' || declared === 'zstd') return true
  const mt = normalizeMediaType(mediaType)
  return declared === 'none' && (mt === MediaType.dockerLayer || mt === MediaType.dockerLayerForeign)
}

// ---- decompression ----------------------------------------------------------------------------------------------

function readHead(path: string): Buffer {
  const fd = openSync(path, 'r')
  try {
    const head = Buffer.alloc(HEAD_BYTES)
    const n = readSync(fd, head, 0, HEAD_BYTES, 0)
    return head.subarray(0, n)
  } finally {
    closeSync(fd)
  }
}

/**
 * The uncompressed bytes of the blob at `path`, read with backpressure: gzip through node:zlib, zstd through the
 * `zstd` program (Node 20 has none), plain tar as stored.
 * @throws DataLoss for corrupt data; FailedPrecondition when `zstd` is not installed.
 */
async function* decompressed(path: string, compression: LayerCompression, what: string): AsyncGenerator<Buffer> {
  const input = createReadStream(path, {highWaterMark: READ_CHUNK})
  if (compression === 'none') {
    yield* input as AsyncIterable<Buffer>
    return
  }
  if (compression === 'gzip') {
    const gunzip = pipeline(input, createGunzip({chunkSize: 256 << 10}), () => {})
    try {
      yield* gunzip as AsyncIterable<Buffer>
    } catch (err) {
      throw new DataLoss(`${what}: corrupt gzip data: ${(err as Error).message}`, {cause: err})
    } finally {
      gunzip.destroy()
      input.destroy()
    }
    return
  }
  const child = spawn('zstd', ['-d', '-c', '-q'], {stdio: ['pipe', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)))
  child.stdin.on('error', () => {
    /* zstd exits early on corrupt data; its exit status tells */
  })
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? new FailedPrecondition(`${what}: the zstd program is not installed (Debian package zstd)`, {cause: err}) : err),
    )
    child.on('close', (code) => resolve(code))
  })
  exited.catch(() => undefined)
  input.pipe(child.stdin)
  try {
    yield* child.stdout as AsyncIterable<Buffer>
    const code = await exited
    if (code !== 0) throw new DataLoss(`${what}: corrupt zstd data: ${stderr.trim().split('\n').pop() || `zstd exited with ${code}`}`)
  } finally {
    input.destroy()
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
}

// ---- Go-compatible JSON -----------------------------------------------------------------------------------------

/** JSON as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped. */
function goJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))
}

const nonEmpty = (v: unknown): boolean =>
  v !== undefined &&
  v !== null &&
  v !== '' &&
  !(Array.isArray(v) && v.length === 0) &&
  !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)

/** A string map with sorted keys (Go marshals maps sorted). */
function sortedMap(m: unknown): Record<string, unknown> {
  const src = m as Record<string, unknown>
  return Object.fromEntries(
    Object.keys(src)
      .sort()
      .map((k) => [k, src[k]]),
  )
}

/** ocispec.Platform's fields in order, empties omitted. */
function goPlatform(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {architecture: p['architecture'] ?? '', os: p['os'] ?? ''}
  for (const k of ['os.version', 'os.features', 'variant']) if (nonEmpty(p[k])) out[k] = p[k]
  return out
}

/** ocispec.Descriptor's fields in order (mediaType, digest, size always), empties omitted. */
function goDescriptor(d: unknown): Record<string, unknown> {
  const src = d as Record<string, unknown>
  const out: Record<string, unknown> = {mediaType: src['mediaType'] ?? '', digest: src['digest'] ?? '', size: src['size'] ?? 0}
  if (nonEmpty(src['urls'])) out['urls'] = src['urls']
  if (nonEmpty(src['annotations'])) out['annotations'] = sortedMap(src['annotations'])
  if (nonEmpty(src['data'])) out['data'] = src['data']
  if (nonEmpty(src['platform'])) out['platform'] = goPlatform(src['platform'] as Record<string, unknown>)
  if (nonEmpty(src['artifactType'])) out['artifactType'] = src['artifactType']
  return out
}

/** ocispec.Manifest re-encoded (unknown fields dropped, as containerd's struct round trip drops them). */
function goManifestJson(doc: Record<string, unknown>): Buffer {
  const out: Record<string, unknown> = {schemaVersion: doc['schemaVersion'] ?? 2}
  if (nonEmpty(doc['mediaType'])) out['mediaType'] = doc['mediaType']
  if (nonEmpty(doc['artifactType'])) out['artifactType'] = doc['artifactType']
  out['config'] = goDescriptor(doc['config'])
  out['layers'] = (doc['layers'] as unknown[]).map(goDescriptor)
  if (nonEmpty(doc['subject'])) out['subject'] = goDescriptor(doc['subject'])
  if (nonEmpty(doc['annotations'])) out['annotations'] = sortedMap(doc['annotations'])
  return goJson(out)
}

/** ocispec.Index re-encoded. */
function goIndexJson(doc: Record<string, unknown>): Buffer {
  const out: Record<string, unknown> = {schemaVersion: doc['schemaVersion'] ?? 2}
  if (nonEmpty(doc['mediaType'])) out['mediaType'] = doc['mediaType']
  if (nonEmpty(doc['artifactType'])) out['artifactType'] = doc['artifactType']
  out['manifests'] = (doc['manifests'] as unknown[]).map(goDescriptor)
  if (nonEmpty(doc['subject'])) out['subject'] = goDescriptor(doc['subject'])
  if (nonEmpty(doc['annotations'])) out['annotations'] = sortedMap(doc['annotations'])
  return goJson(out)
}
