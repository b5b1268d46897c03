// `ctr images export`: write images as an OCI layout archive — `oci-layout`, `index.json` whose
// entries carry `io.containerd.image.name` and `org.opencontainers.image.ref.name`, and
// `blobs/<alg>/<hex>` — plus Docker's `manifest.json` so that `docker load` reads it too, laid
// out as containerd 1.7's exporter does (entries sorted by name, the same modes and documents).
//
// Invariants: everything is resolved before a byte is written — the images, the manifests of the
// platforms asked for, and every blob they need; a blob the store lacks is fetched from the
// image's own repository (and kept with the image), or the export fails naming it. Blobs are
// verified against their digests while they are copied. A file OUT is written under a temporary
// name and renamed into place when complete, so a failed export leaves no half archive (a
// device or FIFO OUT, such as /dev/stdout, is written directly).
import {closeSync, createReadStream, createWriteStream, fsyncSync, openSync} from 'node:fs'
import {createHash} from 'node:crypto'
import {rename, rm, stat} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {once} from 'node:events'
import {DataLoss, describe, errorKind, FailedPrecondition, Internal, InvalidArgument, isNotFound, NotFound, PermissionDenied} from '../errors/index.js'
import {
  type Descriptor,
  digestAlgorithm,
  digestHex,
  formatPlatform,
  isIndex,
  isManifest,
  isNonDistributable,
  MediaType,
  parseIndex,
  parseManifest,
  parsePlatform,
  platformFromOci,
  type PlatformMatcher,
  strictPlatformMatcher,
} from '../oci/index.js'
import {validateIdentifier} from '../oci/identifiers.js'
import {fetchBlobs, type RegistryOptions} from '../pull/index.js'
import {blobPath, type ImageRecord, type Store} from '../store/index.js'
import {randomBytes} from '../sys/random.js'
import {streamOutput, TarWriter, type TarWriteHeader} from '../tar/index.js'
import {goIndex, goString} from './go-json.js'
import {ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, familiarName, ociReferenceName, storedImageName} from './names.js'

export interface ExportOptions {
  readonly namespace: string
  /** A file path, or `-` for stdout. */
  readonly output: string
  /** Image names (as stored, or as typed: a short name is normalized). */
  readonly names: readonly string[]
  /** `os/arch[/variant]`, exactly; default the host's. */
  readonly platforms?: readonly string[]
  /** Every platform of an index (its blobs must be there, or be fetched). */
  readonly allPlatforms?: boolean
  readonly skipManifestJson?: boolean
  /** Leave out non-distributable layers (they stay listed in the manifests). */
  readonly skipNonDistributable?: boolean
  /** For fetching blobs the store lacks. */
  readonly registry?: RegistryOptions
  /** Called before blobs are fetched from a registry (for a note on stderr). */
  readonly onFetch?: (event: {readonly name: string; readonly count: number}) => void
}

export interface ExportResult {
  /** Archive bytes written. */
  readonly bytes: number
  /** Blob bytes fetched from registries. */
  readonly fetched: number
}

const LEASE_MS = 24 * 3600 * 1000
const DISTRIBUTION_SOURCE = 'containerd.io/distribution.source.'

/** An archive member: a document made here, a blob from the store, or a directory. */
type TarRecord =
  | {readonly name: string; readonly kind: 'bytes'; readonly mode: number; readonly bytes: Buffer}
  | {readonly name: string; readonly kind: 'blob'; readonly desc: Descriptor}
  | {readonly name: string; readonly kind: 'dir'}

/**
 * Export `options.names` as one archive. @throws InvalidArgument (no names, bad platform, not a
 * manifest or index), NotFound (image; no manifest for the platform; a missing blob the registry
 * does not have), FailedPrecondition (a missing blob that could not be fetched), DataLoss (a
 * stored blob that does not match its digest), PermissionDenied, Internal (I/O).
 */
export async function exportArchive(store: Store, options: ExportOptions): Promise<ExportResult> {
  if (options.names.length === 0) throw new InvalidArgument('please provide both an output filename and an image reference to export')
  const ns = options.namespace
  validateIdentifier(ns)
  const matcher = strictPlatformMatcher((options.platforms ?? []).map((p) => parsePlatform(p)))
  const images = options.names.map((n) => findImage(store, ns, n))
  const plan = new ExportPlan(store, ns, matcher, options)
  let fetched = 0
  await plan.withLease(async () => {
    for (const image of images) await plan.add(image)
    fetched = await plan.fetchMissing()
  })
  const records = plan.records()
  const bytes = await writeArchive(store, options.output, records)
  return {bytes, fetched}
}

/** An image by name: exactly as given, else as normalized. @throws NotFound `image "<name>": not found`. */
function findImage(store: Store, ns: string, name: string): ImageRecord {
  try {
    return store.images.get(ns, name)
  } catch (err) {
    const normalized = storedImageName(name)
    if (!isNotFound(err) || normalized === name) throw err
    return store.images.get(ns, normalized)
  }
}

/** What will go into the archive, gathered image by image (containerd's Export, step by step). */
class ExportPlan {
  private readonly blobs = new Map<string, Descriptor>()
  private readonly targets: Descriptor[] = []
  /** manifest digest -> the manifest and the names manifest.json gives it, in first-seen order. */
  private readonly dockerManifests = new Map<string, {manifest: Descriptor; names: string[]}>()
  private readonly resolvedIndex = new Map<string, string | undefined>()
  /** Blobs to fetch, by the image whose repository has them. */
  private readonly missing = new Map<
    string,
    {image: string; desc: Descriptor; platform: string | undefined; parent?: {digest: string; labels: Record<string, string>}}
  >()
  private leaseId: string | undefined

  constructor(
    private readonly store: Store,
    private readonly ns: string,
    private readonly matcher: PlatformMatcher,
    private readonly options: ExportOptions,
  ) {}

  /**
   * Run `fn`; whatever it fetches is held by a lease (made on the first fetch, so that an export
   * of what is all here writes nothing to the store) until labels reference it.
   */
  async withLease(fn: () => Promise<void>): Promise<void> {
    try {
      await fn()
    } finally {
      if (this.leaseId !== undefined) {
        try {
          this.store.leases.delete(this.ns, this.leaseId)
        } catch {
          // collected after its expiry
        }
      }
    }
  }

  async add(image: ImageRecord): Promise<void> {
    const name = image.name
    const target: Descriptor = {
      ...image.target,
      annotations: {...image.target.annotations, [ANNOTATION_IMAGE_NAME]: name, [ANNOTATION_REF_NAME]: ociReferenceName(name)},
    }
    // containerd copies the distribution source labels of the target into its annotations.
    if (this.store.content.has(this.ns, target.digest)) {
      for (const [k, v] of Object.entries(this.store.content.info(this.ns, target.digest).labels)) {
        if (k.startsWith(DISTRIBUTION_SOURCE)) target.annotations![k] = v
      }
    }
    this.targets.push(target)
    if (isManifest(target.mediaType)) {
      await this.walk(name, target, undefined)
      const entry = this.dockerManifests.get(target.digest) ?? {manifest: target, names: []}
      this.dockerManifests.set(target.digest, entry)
      entry.names.push(name)
      return
    }
    if (!isIndex(target.mediaType)) throw new InvalidArgument(`only manifests may be exported: ${name} is ${target.mediaType}`, {suffixKind: true})
    if (!this.resolvedIndex.has(target.digest)) {
      this.blobs.set(target.digest, target)
      const index = parseIndex(await this.read(name, target, undefined), target.mediaType)
      const candidates: Descriptor[] = []
      const fetchedLabels: Record<string, string> = {}
      for (const [i, m] of index.manifests.entries()) {
        const platform = m.platform ? platformFromOci(m.platform) : undefined
        if (!platform || this.matcher.match(platform)) candidates.push(m)
        else if (!this.options.allPlatforms) continue
        const wasMissing = !this.store.content.has(this.ns, m.digest)
        await this.walk(name, m, platform && formatPlatform(platform))
        if (wasMissing) fetchedLabels[`containerd.io/gc.ref.content.m.${i}`] = m.digest
      }
      // A child fetched for this export stays with the image: the index references it from now on.
      if (Object.keys(fetchedLabels).length > 0) this.store.content.setLabels(this.ns, target.digest, fetchedLabels)
      const manifests = candidates.filter((m) => isManifest(m.mediaType))
      // Best platform first; descriptors without a platform last (containerd's sort).
      const best = [...manifests].sort((a, b) => {
        if (!a.platform) return b.platform ? 1 : 0
        if (!b.platform) return -1
        return this.matcher.less(platformFromOci(a.platform), platformFromOci(b.platform))
          ? -1
          : this.matcher.less(platformFromOci(b.platform), platformFromOci(a.platform))
            ? 1
            : 0
      })[0]
      if (!best && candidates.length === 0) {
        throw new NotFound(`no manifest found for platform ${this.wantedText()} in image ${JSON.stringify(name)}`, {suffixKind: true})
      }
      if (best) this.dockerManifests.set(best.digest, {manifest: best, names: []})
      this.resolvedIndex.set(target.digest, best?.digest)
    }
    const chosen = this.resolvedIndex.get(target.digest)
    if (chosen !== undefined) this.dockerManifests.get(chosen)!.names.push(name)
  }

  /** Record `desc` and everything under it (every platform of a nested index, as containerd). */
  private async walk(image: string, desc: Descriptor, platform: string | undefined, parent?: {digest: string; labels: Record<string, string>}): Promise<void> {
    if (this.blobs.has(desc.digest)) return
    this.blobs.set(desc.digest, desc)
    if (isIndex(desc.mediaType)) {
      const index = parseIndex(await this.read(image, desc, platform), desc.mediaType)
      const labels: Record<string, string> = {}
      for (const [i, m] of index.manifests.entries()) {
        if (!this.store.content.has(this.ns, m.digest)) labels[`containerd.io/gc.ref.content.m.${i}`] = m.digest
        await this.walk(image, m, m.platform ? formatPlatform(platformFromOci(m.platform)) : platform)
      }
      if (Object.keys(labels).length > 0) this.store.content.setLabels(this.ns, desc.digest, labels)
    } else if (isManifest(desc.mediaType)) {
      const wasMissing = !this.store.content.has(this.ns, desc.digest)
      const manifest = parseManifest(await this.read(image, desc, platform), desc.mediaType)
      const labels: Record<string, string> = {'containerd.io/gc.ref.content.config': manifest.config.digest}
      manifest.layers.forEach((l, i) => (labels[`containerd.io/gc.ref.content.l.${i}`] = l.digest))
      // A manifest fetched now references its config and layers, as a pulled one does.
      if (wasMissing) this.store.content.setLabels(this.ns, desc.digest, labels)
      const parentRef = {digest: desc.digest, labels}
      for (const child of [manifest.config, ...manifest.layers] as Descriptor[]) await this.walk(image, child, platform, parentRef)
    } else if (!this.store.content.has(this.ns, desc.digest)) {
      this.missing.set(desc.digest, {image, desc, platform, ...(parent ? {parent} : {})})
    }
  }

  /** An index's or manifest's bytes, fetched first when the store lacks them. */
  private async read(image: string, desc: Descriptor, platform: string | undefined): Promise<Buffer> {
    if (!this.store.content.has(this.ns, desc.digest)) await this.fetch(image, [desc], platform)
    return this.store.content.readBytes(this.ns, desc.digest)
  }

  /** Fetch the configs and layers the walk found missing, image by image. Returns bytes received. */
  async fetchMissing(): Promise<number> {
    let bytes = 0
    const byImage = new Map<string, Array<{desc: Descriptor; platform: string | undefined; parent?: {digest: string; labels: Record<string, string>}}>>()
    for (const m of this.missing.values()) {
      const list = byImage.get(m.image) ?? []
      list.push(m)
      byImage.set(m.image, list)
    }
    for (const [image, list] of byImage) {
      bytes += await this.fetch(
        image,
        list.map((m) => m.desc),
        list[0].platform,
      )
      // Keep what was fetched with the image: its manifest now references it.
      const parents = new Map(list.filter((m) => m.parent).map((m) => [m.parent!.digest, m.parent!.labels]))
      for (const [digest, labels] of parents) this.store.content.setLabels(this.ns, digest, labels)
    }
    return bytes
  }

  private async fetch(image: string, descs: Descriptor[], platform: string | undefined): Promise<number> {
    const first = descs[0]
    const what =
      `${descKind(first.mediaType)} ${first.digest}${descs.length > 1 ? ` (and ${descs.length - 1} more)` : ''} of image ` +
      `${JSON.stringify(image)}${platform ? ` for ${platform}` : ''}`
    this.options.onFetch?.({name: image, count: descs.length})
    this.leaseId ??= this.store.leases.create(this.ns, {expiresAt: (Date.now() + LEASE_MS) * 1000}).id
    try {
      const {bytesTransferred} = await fetchBlobs(this.store, {
        namespace: this.ns,
        ref: image,
        descriptors: descs,
        leaseId: this.leaseId,
        registry: this.options.registry,
      })
      return bytesTransferred
    } catch (err) {
      const message = `${what} is not in the content store, and fetching it failed: ${describe(err)}`
      if (errorKind(err) === 'not found') throw new NotFound(message, {cause: err})
      if (errorKind(err) === 'data loss') throw new DataLoss(message, {cause: err})
      throw new FailedPrecondition(message, {cause: err})
    }
  }

  /** The archive's members, sorted by name as containerd writes them. */
  records(): TarRecord[] {
    const records = new Map<string, TarRecord>()
    const put = (r: TarRecord) => {
      if (!records.has(r.name)) records.set(r.name, r)
    }
    put({name: 'oci-layout', kind: 'bytes', mode: 0o444, bytes: Buffer.from('{"imageLayoutVersion":"1.0.0"}')})
    const algorithms = new Set<string>()
    for (const desc of this.blobs.values()) {
      algorithms.add(digestAlgorithm(desc.digest))
      if (this.options.skipNonDistributable && isNonDistributable(desc.mediaType)) continue
      put({name: blobName(desc.digest), kind: 'blob', desc})
    }
    put({name: 'index.json', kind: 'bytes', mode: 0o644, bytes: Buffer.from(goIndex(this.targets, MediaType.ociIndex))})
    if (!this.options.skipManifestJson && this.dockerManifests.size > 0) put({name: 'manifest.json', kind: 'bytes', mode: 0o644, bytes: this.manifestJson()})
    if (algorithms.size > 0) {
      put({name: 'blobs/', kind: 'dir'})
      for (const alg of algorithms) put({name: `blobs/${alg}/`, kind: 'dir'})
    }
    return [...records.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /** Docker's manifest.json: Config, RepoTags (familiar names), Layers, as Go marshals them. */
  private manifestJson(): Buffer {
    const entries = [...this.dockerManifests.values()].map(({manifest, names}) => {
      const m = parseManifest(this.store.content.readBytes(this.ns, manifest.digest), manifest.mediaType)
      const tags = names.map(familiarName)
      const layers = m.layers.map((l) => goString(blobName(l.digest)))
      const repoTags = tags.length ? `[${tags.map(goString).join(',')}]` : 'null'
      return `{"Config":${goString(blobName(m.config.digest))},"RepoTags":${repoTags},"Layers":${layers.length ? `[${layers.join(',')}]` : 'null'}}`
    })
    return Buffer.from(`[${entries.join(',')}]`)
  }

  private wantedText(): string {
    return this.options.platforms && this.options.platforms.length > 0 ? this.options.platforms.join(', ') : formatPlatform(this.matcher.candidates[0])
  }
}

function blobName(digest: string): string {
  return `blobs/${digestAlgorithm(digest)}/${digestHex(digest)}`
}

function descKind(mediaType: string): string {
  if (isIndex(mediaType)) return 'index'
  if (isManifest(mediaType)) return 'manifest'
  if (mediaType === MediaType.ociConfig || mediaType === MediaType.dockerConfig) return 'config'
  return 'blob'
}

/** Write the records to `output` (`-`: stdout). Returns the archive's size. */
async function writeArchive(store: Store, output: string, records: readonly TarRecord[]): Promise<number> {
  if (output === '-') return writeRecords(store, process.stdout, records)
  // A device or FIFO (e.g. /dev/stdout) is written in place; a file goes through a temporary name.
  const existing = await stat(output).catch(() => undefined)
  if (existing && !existing.isFile()) {
    if (existing.isDirectory()) throw new InvalidArgument(`open ${output}: is a directory`)
    const fd = openOutput(output, 'w')
    try {
      return await writeToFd(store, fd, records)
    } finally {
      closeSync(fd)
    }
  }
  const temp = join(dirname(output), `.${basename(output)}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openOutput(temp, 'wx')
  let closed = false
  let done = false
  try {
    const n = await writeToFd(store, fd, records)
    fsyncSync(fd)
    closeSync(fd)
    closed = true
    await rename(temp, output)
    done = true
    return n
  } finally {
    if (!closed) closeSync(fd)
    if (!done) await rm(temp, {force: true})
  }
}

function openOutput(path: string, flags: string): number {
  try {
    return openSync(path, flags, 0o666)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new NotFound(`open ${path}: no such file or directory`, {cause: err})
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw new PermissionDenied(`open ${path}: ${(err as Error).message}`, {cause: err})
    throw new Internal(`open ${path}: ${(err as Error).message}`, {cause: err})
  }
}

/** Write the archive to an open descriptor (left open for the caller to sync and close). */
async function writeToFd(store: Store, fd: number, records: readonly TarRecord[]): Promise<number> {
  const stream = createWriteStream('', {fd, autoClose: false, highWaterMark: 1 << 20})
  const n = await writeRecords(store, stream, records)
  const finished = once(stream, 'finish')
  stream.end()
  await finished
  return n
}

async function writeRecords(store: Store, stream: NodeJS.WritableStream, records: readonly TarRecord[]): Promise<number> {
  const tar = new TarWriter(streamOutput(stream as never))
  for (const r of records) {
    if (r.kind === 'dir') await tar.add({path: r.name, type: 'dir', mode: 0o755})
    else if (r.kind === 'bytes') await tar.add({path: r.name, mode: r.mode, size: r.bytes.length}, r.bytes)
    else await copyBlob(store, tar, r.name, r.desc)
  }
  await tar.finish()
  return tar.bytesWritten
}

/** Copy a blob into the archive, hashing it on the way: a blob that does not match its digest is DataLoss. */
async function copyBlob(store: Store, tar: TarWriter, name: string, desc: Descriptor): Promise<void> {
  const header: TarWriteHeader = {path: name, mode: 0o444, size: desc.size}
  const hash = createHash(digestAlgorithm(desc.digest))
  await tar.begin(header)
  const input = createReadStream(blobPath(store.root, desc.digest), {highWaterMark: 1 << 20})
  try {
    for await (const chunk of input) {
      hash.update(chunk as Buffer)
      await tar.write(chunk as Buffer)
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new DataLoss(`blob ${desc.digest}: file missing from the content store`, {cause: err})
    if (errorKind(err) === 'internal' && /more data than its size/.test((err as Error).message)) {
      throw new DataLoss(`blob ${desc.digest}: the stored file is larger than its descriptor's ${desc.size} bytes`, {cause: err})
    }
    throw err
  } finally {
    input.destroy()
  }
  const actual = `${digestAlgorithm(desc.digest)}:${hash.digest('hex')}`
  try {
    await tar.endEntry()
  } catch (err) {
    throw new DataLoss(`blob ${desc.digest}: the stored file is shorter than its descriptor's ${desc.size} bytes`, {cause: err})
  }
  if (actual !== desc.digest) throw new DataLoss(`blob ${desc.digest}: unexpected digest ${actual} copied`)
}
