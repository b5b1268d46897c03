// `ctr images import`: read an OCI layout or Docker archive (a file or stdin) into the content
// store, name its images as containerd 1.7's ctr does, unpack them, and record them.
//
// The order keeps the store correct (DESIGN §3): the archive streams into a private staging area
// (read.ts) — nothing recorded; then names and manifests are resolved and every blob an image
// needs is checked to be there, with its size — still nothing recorded; then the needed blobs are
// committed under a lease, the images unpacked, and all image records written in one
// transaction; then the lease goes. A bad archive therefore records nothing; a failure after the
// commit (an unpack) leaves only verified blobs that nothing references, which GC collects.
// Blobs of platforms not asked for are never committed (containerd commits them and lets GC
// take them).
import {DataLoss, describe, InvalidArgument, isBerthError, NotFound} from '../errors/index.js'
import {ImageReader} from '../images/index.js'
import {unpackStoredImage} from '../images/mount.js'
import {
  type Descriptor,
  formatPlatform,
  isIndex,
  isManifest,
  MediaType,
  parseIndex,
  parseManifest,
  parsePlatform,
  platformFromOci,
  type PlatformMatcher,
  platformMatcher,
  strictPlatformMatcher,
} from '../oci/index.js'
import {validateIdentifier} from '../oci/identifiers.js'
import type {Labels} from '../oci/labels.js'
import {type ImageTarget, type StagedBlob, type Staging, type Store} from '../store/index.js'
import {dockerIndex} from './docker.js'
import {openArchiveInput} from './input.js'
import {defaultImportPrefix, imageNameOf, refTranslator, storedImageName} from './names.js'
import {type ArchiveContents, readArchive} from './read.js'

export interface ImportOptions {
  readonly namespace: string
  /** A file path, or `-` for stdin. */
  readonly input: string
  /** Prefix for tag-only names; when given, full names outside it are skipped (ctr's --base-name). */
  readonly baseName?: string
  /** Also name every image `<prefix>@<digest>`. */
  readonly digests?: boolean
  /** With `digests`: not for images that have a name. */
  readonly skipDigestForNamed?: boolean
  /** Name the archive's whole index. */
  readonly indexName?: string
  /** `os/arch[/variant]`: import only these (exactly); default the host and what it runs. */
  readonly platforms?: readonly string[]
  readonly allPlatforms?: boolean
  /** Labels for the images. */
  readonly labels?: Labels
  /** gzip the uncompressed layers of a Docker archive. */
  readonly compressBlobs?: boolean
  /** Leave layer blobs unreferenced once unpacked (GC may take them). */
  readonly discardUnpackedLayers?: boolean
  /** Unpack each image into this snapshotter; absent: --no-unpack. */
  readonly unpack?: {readonly snapshotter: string; readonly syncFs?: boolean}
  /** For the default name prefix (`import-<date>`). */
  readonly now?: Date
  /** ctr prints `unpacking <name> (<digest>)...` on `start` and `done` on `done`. */
  readonly onUnpack?: (event: {readonly phase: 'start' | 'done'; readonly name: string; readonly digest: string}) => void
  /** Diagnostics (an image skipped because its platform was not imported). */
  readonly onWarning?: (message: string) => void
}

export interface ImportedImage {
  readonly name: string
  readonly target: ImageTarget
  /** False when the name existed and was updated. */
  readonly created: boolean
}

const LEASE_MS = 24 * 3600 * 1000
const MAX_DEPTH = 16

/**
 * Import an archive into `options.namespace`. Returns the images recorded, in ctr's order.
 * @throws InvalidArgument (flags), NotFound (input, no manifest for the platform), DataLoss (bad
 * archive: tampered, missing or truncated content, paths or links leading out, duplicates),
 * NotImplemented, PermissionDenied, Internal.
 */
export async function importArchive(store: Store, options: ImportOptions): Promise<ImportedImage[]> {
  if (options.skipDigestForNamed && !options.digests) throw new InvalidArgument('--skip-digest-for-named must be specified with --digests option')
  if (options.discardUnpackedLayers && !options.unpack) throw new InvalidArgument('--discard-unpacked-layers and --no-unpack are incompatible options')
  const ns = options.namespace
  validateIdentifier(ns)
  const wanted = (options.platforms ?? []).map((p) => parsePlatform(p))
  // containerd: all platforms; --platform exactly (OnlyStrict); else the host and what it runs.
  const filter: PlatformMatcher | undefined = options.allPlatforms ? undefined : wanted.length > 0 ? strictPlatformMatcher(wanted) : platformMatcher()
  const input = await openArchiveInput(options.input)
  let staging: Staging
  try {
    staging = await store.openStaging(ns, 'import')
  } catch (err) {
    await input.close()
    throw err
  }
  try {
    let contents: ArchiveContents
    try {
      contents = await readArchive(input, staging, {holds: (digest) => staging.holds(digest, undefined)})
    } finally {
      await input.close()
    }
    const plan = await planImport(store, ns, staging, contents, filter, options)
    return await commitImport(store, ns, staging, plan, options)
  } finally {
    staging.discard()
  }
}

/** A blob an image needs: where it is, and the GC labels it gets. */
interface NeededBlob {
  readonly desc: Descriptor
  /** Staged from the archive (or made here); undefined when the namespace or the store has it. */
  readonly staged: StagedBlob | undefined
  readonly labels: Labels
}

interface ImportPlan {
  readonly blobs: ReadonlyMap<string, NeededBlob>
  readonly images: ReadonlyArray<{name: string; target: Descriptor}>
}

/** Resolve the archive's index, walk what the images need, and name them. Records nothing. */
async function planImport(
  store: Store,
  ns: string,
  staging: Staging,
  contents: ArchiveContents,
  filter: PlatformMatcher | undefined,
  options: ImportOptions,
): Promise<ImportPlan> {
  const extraLabels = new Map<string, Labels>()
  let indexBlob: StagedBlob
  let indexBytes: Buffer
  const layout = contents.meta.get('oci-layout')
  if (layout) {
    let version: unknown
    try {
      version = (JSON.parse(layout.toString('utf8')) as {imageLayoutVersion?: unknown}).imageLayoutVersion
    } catch (err) {
      throw new DataLoss(`untar oci layout "oci-layout": ${(err as Error).message}`, {cause: err})
    }
    if (version !== '1.0.0') throw new DataLoss(`unsupported OCI version ${String(version)}`)
    const bytes = contents.meta.get('index.json')
    if (!bytes) throw new DataLoss('missing index.json in OCI layout 1.0.0')
    indexBytes = bytes
    indexBlob = await staging.stageBytes(bytes)
    contents.byDigest.set(indexBlob.digest, indexBlob)
  } else if (contents.meta.has('manifest.json')) {
    const docker = await dockerIndex(store, ns, staging, contents, options.compressBlobs ?? false)
    indexBlob = docker.index
    indexBytes = docker.indexBytes
    for (const [digest, labels] of docker.labels) extraLabels.set(digest, labels)
  } else {
    throw new DataLoss('unrecognized image format: neither an OCI layout (oci-layout, index.json) nor a Docker archive (manifest.json)')
  }
  const indexDesc: Descriptor = {mediaType: MediaType.ociIndex, digest: indexBlob.digest, size: indexBlob.size}
  const index = parseDocument(() => parseIndex(indexBytes, MediaType.ociIndex), 'index.json')

  const blobs = new Map<string, NeededBlob>()
  const keepLayers = !options.discardUnpackedLayers
  const visit = (desc: Descriptor, depth: number, what: string): void => {
    if (blobs.has(desc.digest)) return
    if (depth > MAX_DEPTH) throw new DataLoss(`${desc.digest}: indexes nested more than ${MAX_DEPTH} deep`)
    const staged = locate(store, ns, contents, desc, what)
    const labels: Labels = {...extraLabels.get(desc.digest)}
    blobs.set(desc.digest, {desc, staged, labels})
    let children: Descriptor[] = []
    if (isIndex(desc.mediaType)) {
      const child = parseDocument(() => parseIndex(readBlob(store, ns, staging, desc, staged), desc.mediaType), `index ${desc.digest}`)
      children = selectPlatforms(child.manifests, filter)
      children.forEach((m, i) => (labels[`containerd.io/gc.ref.content.m.${i}`] = m.digest))
      for (const m of children) visit(m, depth + 1, `manifest of index ${desc.digest}`)
    } else if (isManifest(desc.mediaType)) {
      const manifest = parseDocument(() => parseManifest(readBlob(store, ns, staging, desc, staged), desc.mediaType), `manifest ${desc.digest}`)
      labels['containerd.io/gc.ref.content.config'] = manifest.config.digest
      if (keepLayers) manifest.layers.forEach((l, i) => (labels[`containerd.io/gc.ref.content.l.${i}`] = l.digest))
      visit(manifest.config, depth + 1, `config of manifest ${desc.digest}`)
      manifest.layers.forEach((l, i) => visit(l, depth + 1, `layer ${i} of manifest ${desc.digest}`))
    }
  }

  // The root: the archive's index, with the top-level manifests the platform filter lets through.
  const top = selectPlatforms(index.manifests, filter)
  if (top.length === 0) {
    const found = [...new Set(index.manifests.filter((m) => m.platform).map((m) => formatPlatform(platformFromOci(m.platform!))))]
    throw new NotFound(
      `image might be filtered out: no image in the archive is for ` +
        `${describePlatforms(filter, options)}${found.length ? ` (it has ${found.join(', ')})` : ''}; use --platform or --all-platforms`,
    )
  }
  // The archive's own index is kept only when an image is named after it (--index-name):
  // containerd commits it anyway and leaves it to GC.
  if (options.indexName) {
    blobs.set(indexDesc.digest, {
      desc: indexDesc,
      staged: indexBlob,
      labels: Object.fromEntries(top.map((m, i) => [`containerd.io/gc.ref.content.m.${i}`, m.digest])),
    })
  }
  for (const m of top) visit(m, 1, 'manifest of index.json')

  // Names, as containerd's Import: the index name, then each top-level entry's name and digest name.
  const prefix = options.baseName || defaultImportPrefix(options.now)
  const translate = refTranslator(prefix, Boolean(options.baseName))
  const images: Array<{name: string; target: Descriptor}> = []
  if (options.indexName) images.push({name: options.indexName, target: indexDesc})
  for (const m of index.manifests) {
    const names: string[] = []
    const name = imageNameOf(m.annotations, translate)
    if (name) names.push(name)
    if (options.digests && !(options.skipDigestForNamed && name !== '')) names.push(`${prefix}@${m.digest}`)
    if (names.length === 0) continue
    if (!blobs.has(m.digest)) {
      // containerd records such names with content it then lets GC take: a broken image. Skip it.
      const platform = m.platform ? formatPlatform(platformFromOci(m.platform)) : 'another platform'
      for (const n of names)
        options.onWarning?.(
          `skipped image ${JSON.stringify(storedImageName(n))}: it is for ${platform}, which was not imported (use --platform or --all-platforms)`,
        )
      continue
    }
    for (const n of names) images.push({name: n, target: m})
  }
  return {blobs, images: images.map((i) => ({name: storedImageName(i.name), target: i.target}))}
}

/** Commit the plan's blobs under a lease, unpack, record the images, drop the lease. */
async function commitImport(store: Store, ns: string, staging: Staging, plan: ImportPlan, options: ImportOptions): Promise<ImportedImage[]> {
  const lease = store.leases.create(ns, {expiresAt: (Date.now() + LEASE_MS) * 1000})
  try {
    for (const {desc, staged, labels} of plan.blobs.values()) {
      if (staged) {
        await staging.commit(staged, {mediaType: desc.mediaType, labels, leaseId: lease.id})
        continue
      }
      if (!store.content.has(ns, desc.digest)) {
        const opened = await store.content.openWriter(ns, {ref: `import-${desc.digest}`, expected: {digest: desc.digest, size: desc.size}, leaseId: lease.id})
        if (opened.status === 'write') {
          await opened.writer.abort()
          throw new DataLoss(`${desc.digest} is missing from the archive`)
        }
      } else store.leases.addResource(ns, lease.id, 'content', desc.digest)
      if (Object.keys(labels).length > 0) store.content.setLabels(ns, desc.digest, labels)
    }

    if (options.unpack) {
      const platforms = options.platforms && options.platforms.length > 0 ? options.platforms : undefined
      const reader = new ImageReader(store, ns, platformMatcher((platforms ?? []).map((p) => parsePlatform(p))))
      for (const {name, target} of plan.images) {
        if (isCheckpoint(store, ns, target)) continue // a checkpoint index: nothing to unpack (restore does it)
        const image = reader.platformImage(target)
        if (!image)
          throw new NotFound(
            `image ${JSON.stringify(name)}: no manifest for ${platforms ? platforms.join(', ') : formatPlatform(platformMatcher().candidates[0])} was imported`,
            {suffixKind: true},
          )
        options.onUnpack?.({phase: 'start', name, digest: target.digest})
        if (image.layers.length > 0) {
          await unpackStoredImage(store, target, {
            namespace: ns,
            snapshotter: options.unpack.snapshotter,
            platforms,
            leaseId: lease.id,
            syncFs: options.unpack.syncFs,
          })
        }
        options.onUnpack?.({phase: 'done', name, digest: target.digest})
      }
    }

    const recorded = store.images.putAll(
      ns,
      // A checkpoint image is labelled as one here too, as a pulled one is (hidden from images ls).
      plan.images.map(({name, target}) => ({
        name,
        target: imageTarget(target),
        labels: {...(isCheckpoint(store, ns, target) ? {[CHECKPOINT_LABEL]: 'true'} : {}), ...(options.labels ?? {})},
      })),
    )
    return recorded.map((r) => ({name: r.image.name, target: r.image.target, created: r.created}))
  } finally {
    // Success: the image records hold what they need. Failure: nothing references it any more.
    try {
      store.leases.delete(ns, lease.id)
    } catch {
      // already gone (collected after expiry)
    }
  }
}

/** Where a needed blob is: staged from the archive, or already visible (or shareable) here. @throws DataLoss. */
function locate(store: Store, ns: string, contents: ArchiveContents, desc: Descriptor, what: string): StagedBlob | undefined {
  const staged = contents.byDigest.get(desc.digest)
  if (staged) {
    if (staged.size !== desc.size) throw new DataLoss(`${what}: blob ${desc.digest}: the archive holds ${staged.size} bytes, the descriptor says ${desc.size}`)
    return staged
  }
  if (store.content.has(ns, desc.digest) || store.content.canShare(ns, desc.digest)) return undefined
  throw new DataLoss(`${what}: blob ${desc.digest} is missing from the archive`)
}

/** The bytes of an index or manifest (small: the parsers refuse more than 4 MiB). */
function readBlob(store: Store, ns: string, staging: Staging, desc: Descriptor, staged: StagedBlob | undefined): Buffer {
  if (staged) return staging.readBytes(staged, 4 << 20)
  // Shareable but not yet recorded here: the file is on disk and was verified when written.
  return store.content.has(ns, desc.digest) ? store.content.readBytes(ns, desc.digest) : store.content.readShareable(desc.digest)
}

/** containerd's FilterPlatforms: descriptors without a platform pass; others must match. */
function selectPlatforms(manifests: readonly Descriptor[], filter: PlatformMatcher | undefined): Descriptor[] {
  if (!filter) return [...manifests]
  return manifests.filter((m) => !m.platform || filter.match(platformFromOci(m.platform)))
}

function describePlatforms(filter: PlatformMatcher | undefined, options: ImportOptions): string {
  if (options.platforms && options.platforms.length > 0) return options.platforms.join(', ')
  return filter ? formatPlatform(filter.candidates[0]) : 'any platform'
}

/** Parse an archive's document; a malformed one is a bad archive (DataLoss), schema 1 stays NotImplemented. */
function parseDocument<T>(parse: () => T, what: string): T {
  try {
    return parse()
  } catch (err) {
    if (isBerthError(err) && err.kind === 'not implemented') throw err
    throw new DataLoss(`${what}: ${describe(err)}`, {cause: err})
  }
}

/** What an image record keeps of a descriptor: media type, digest, size, annotations. */
function imageTarget(d: Descriptor): ImageTarget {
  return d.annotations
    ? {mediaType: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations}
    : {mediaType: d.mediaType, digest: d.digest, size: d.size}
}

const CHECKPOINT_LABEL = 'containerd.io/checkpoint'

/** Whether `target` is a checkpoint image's index (containerd's format: a CRIU tar or checkpoint config among its descriptors). */
function isCheckpoint(store: Store, ns: string, target: {mediaType: string; digest: string}): boolean {
  if (target.mediaType !== 'application/vnd.oci.image.index.v1+json') return false
  try {
    const index = JSON.parse(store.content.readBytes(ns, target.digest).toString('utf8')) as {manifests?: {mediaType?: string}[]}
    return (index.manifests ?? []).some((m) => typeof m.mediaType === 'string' && m.mediaType.startsWith('application/vnd.containerd.container.'))
  } catch {
    return false
  }
}
