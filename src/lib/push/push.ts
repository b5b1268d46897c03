// Push an image from the content store to a registry, as ctr 1.7 does: walk the image (or the one platform's
// manifest, or a manifest named by digest), check that every blob is here before sending anything, then send configs
// and layers (at most N at once; each one skipped when the registry has it, mounted from another repository of the
// same registry when its distribution-source label names one, else uploaded), then manifests, then indexes innermost
// first, the root under the tag. The stored bytes are sent as they are, so the registry ends up with the same digests.
// Afterwards every pushed blob's distribution-source label also names the target repository.
import {createReadStream} from 'node:fs'
import {Gate} from '../concurrency/index.js'
import {FailedPrecondition, InvalidArgument, NotFound, isNotFound, withContext} from '../errors/index.js'
import {findImage} from '../images/index.js'
import {
  type Descriptor,
  descriptorKind,
  descriptorRefKey,
  formatPlatform,
  isDigest,
  isIndex,
  isManifest,
  isNonDistributable,
  matchesStrictly,
  parseIndex,
  parseManifest,
  parsePlatform,
  parseReference,
  platformFromOci,
  type ImageReference,
} from '../oci/index.js'
import {validateLabels} from '../oci/labels.js'
import {
  appendDistributionSource,
  createRegistry,
  distributionSourceKey,
  selectMountCandidate,
  type PushBlobOutcome,
  type Registry,
  type RegistryOptions,
} from '../registry/index.js'
import type {Store} from '../store/index.js'
import type {PushProgressEvent, PushProgressListener} from './progress.js'

/** What `pushImage` takes; only `namespace` and `remote` are required. */
export interface PushOptions {
  readonly namespace: string
  /** Where to push: `host/repo[:tag][@digest]` (normalized as pull does). */
  readonly remote: string
  /** The local image to push; default `remote`. */
  readonly local?: string
  /** Push this manifest (`--manifest`, with `--manifest-type`) instead of an image's target. */
  readonly manifest?: {readonly digest: string; readonly mediaType: string}
  /** ctr's `--platform`: one platform picks that manifest out of an index and pushes it under the tag. */
  readonly platforms?: readonly string[]
  /** Blobs sent at once (default 3). */
  readonly maxConcurrentUploads?: number
  /** Push non-distributable (foreign) layers too; by default they are left out, as ctr does. */
  readonly allowNonDistributable?: boolean
  readonly registry?: RegistryOptions
  readonly onProgress?: PushProgressListener
}

/** What a push did. */
export interface PushResult {
  /** The remote reference pushed to. */
  readonly name: string
  /** The root pushed (the image target, its platform manifest, or the `--manifest`). */
  readonly descriptor: Descriptor
  /** Blobs and manifests by outcome. */
  readonly uploaded: number
  readonly mounted: number
  readonly exists: number
  /** Non-distributable layers left out. */
  readonly skipped: number
  /** Bytes the registry accepted. */
  readonly bytesUploaded: number
}

const DEFAULT_CONCURRENCY = 3

/** A node of the push walk. */
interface Item {
  readonly desc: Descriptor
  readonly key: string
}

/**
 * Push an image (see the file comment).
 * @throws InvalidArgument (reference, platform, digest, a remote digest that is not what is pushed), NotFound (no
 *   such image or manifest here, no match for the platform), FailedPrecondition (blobs missing from the content store:
 *   nothing is sent then), and the registry's errors (PermissionDenied 7, Unavailable 6, …).
 */
export async function pushImage(store: Store, options: PushOptions): Promise<PushResult> {
  const ns = options.namespace
  const ref = parseReference(options.remote)
  const limit = options.maxConcurrentUploads ?? DEFAULT_CONCURRENCY
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidArgument(`max concurrent uploads must be at least 1, got ${limit}`, {suffixKind: true})
  const emit = options.onProgress ?? (() => {})

  let root = rootDescriptor(store, ns, options)
  const platforms = options.platforms ?? []
  // ctr 1.7: a single --platform picks that platform's manifest out of an index, pushed under the tag.
  if (platforms.length === 1 && isIndex(root.mediaType)) root = pickPlatform(store, ns, root, platforms[0])
  else for (const p of platforms) parsePlatform(p) // still refuse a malformed one
  if (ref.digest !== undefined && ref.digest !== root.digest) {
    throw new InvalidArgument(`${ref.toString()}: the reference's digest is not the digest of what is pushed (${root.digest})`, {suffixKind: true})
  }

  const walk = walkImage(store, ns, root, options.allowNonDistributable ?? false)
  for (const item of [...walk.indexes, ...walk.manifests, ...walk.blobs]) emit({type: 'waiting', key: item.key, descriptor: item.desc})

  const registry = createRegistry(options.registry)
  const counts = {uploaded: 0, mounted: 0, exists: 0}
  const pushed: string[] = []
  const tally = (outcome: PushBlobOutcome, item: Item): void => {
    counts[outcome]++
    pushed.push(item.desc.digest)
    emit({type: outcome === 'exists' ? 'exists' : 'done', key: item.key, descriptor: item.desc, transferred: outcome === 'uploaded' ? item.desc.size : 0})
  }
  try {
    // A registry accepts a manifest only once everything it references is there, so the same
    // digest under the tag means nothing is left to send: one request instead of a HEAD per blob
    // (containerd HEADs every blob). A registry that lost blobs behind a manifest it keeps is
    // broken for every client; `ctr images push` to another tag still checks each blob.
    if (ref.tag !== undefined && (await digestAt(registry, ref)) === root.digest) {
      for (const item of [...walk.blobs, ...walk.manifests, ...walk.indexes]) tally('exists', item)
      recordTargetRepository(store, ns, ref, pushed)
      return {name: ref.toString(), descriptor: root, ...counts, skipped: walk.skipped, bytesUploaded: 0}
    }
    const gate = new Gate(limit)
    // After a failure, jobs still waiting for the gate do not start.
    let failed = false
    const job = (fn: () => Promise<void>) =>
      gate.run(async () => {
        if (failed) return
        try {
          await fn()
        } catch (err) {
          failed = true
          throw err
        }
      })
    // Blobs first (registries check a manifest's references), then manifests, then indexes innermost first.
    await settleAll(walk.blobs.map((item) => job(() => pushBlob(store, ns, ref, registry, item, emit).then((o) => tally(o, item)))))
    await settleAll(
      walk.manifests.map((item) => job(() => pushManifest(store, ns, ref, registry, item, item.desc.digest === root.digest).then((o) => tally(o, item)))),
    )
    for (const item of [...walk.indexes].reverse()) tally(await pushManifest(store, ns, ref, registry, item, item.desc.digest === root.digest), item)
    recordTargetRepository(store, ns, ref, pushed)
    return {name: ref.toString(), descriptor: root, ...counts, skipped: walk.skipped, bytesUploaded: registry.stats.uploadedBytes}
  } finally {
    registry.close()
  }
}

/** The descriptor to push: `--manifest` (size from the content store), or the local image's target. */
function rootDescriptor(store: Store, ns: string, options: PushOptions): Descriptor {
  if (options.manifest !== undefined) {
    const {digest, mediaType} = options.manifest
    if (!isDigest(digest)) throw new InvalidArgument(`invalid manifest digest ${JSON.stringify(digest)}`, {suffixKind: true})
    if (!isManifest(mediaType) && !isIndex(mediaType)) {
      throw new InvalidArgument(`--manifest-type ${JSON.stringify(mediaType)} is not a manifest or index media type`, {suffixKind: true})
    }
    const info = store.content.info(ns, digest)
    return {mediaType, digest, size: info.size}
  }
  const local = options.local ?? options.remote
  try {
    return {...findImage(store, ns, local).target}
  } catch (err) {
    throw withContext(err, 'unable to resolve image to manifest')
  }
}

/** The manifest of `index` for `platform`, matched exactly as ctr's `platforms.NewMatcher` does. */
function pickPlatform(store: Store, ns: string, index: Descriptor, platform: string): Descriptor {
  const wanted = parsePlatform(platform)
  const doc = parseIndex(readBlob(store, ns, index, 'index'), index.mediaType)
  const found = doc.manifests.find((m) => m.platform !== undefined && matchesStrictly([wanted], platformFromOci(m.platform)))
  if (found === undefined) throw new NotFound(`no match for platform ${formatPlatform(wanted)} in manifest ${index.digest}`, {suffixKind: true})
  return found
}

/** The push walk: indexes in the order seen, manifests, and the distinct blobs of the manifests. */
interface Walk {
  indexes: Item[]
  manifests: Item[]
  blobs: Item[]
  skipped: number
}

/**
 * Walk from `root`, reading manifests and indexes from the content store. Every blob must be here: the push starts
 * only when nothing is missing.
 * @throws FailedPrecondition naming the first missing blob and how many there are.
 */
function walkImage(store: Store, ns: string, root: Descriptor, allowNonDistributable: boolean): Walk {
  const walk: Walk = {indexes: [], manifests: [], blobs: [], skipped: 0}
  const seen = new Set<string>()
  const missing: {desc: Descriptor; parent: Descriptor | undefined}[] = []
  const visit = (desc: Descriptor, parent: Descriptor | undefined, depth: number): void => {
    if (seen.has(desc.digest)) return
    seen.add(desc.digest)
    const item = {desc, key: descriptorRefKey(desc)}
    if (isIndex(desc.mediaType) || isManifest(desc.mediaType)) {
      if (depth > 8) throw new InvalidArgument(`index nesting deeper than 8 under ${root.digest}`, {suffixKind: true})
      if (!store.content.has(ns, desc.digest)) {
        missing.push({desc, parent})
        return
      }
      if (isIndex(desc.mediaType)) {
        walk.indexes.push(item)
        for (const child of parseIndex(readBlob(store, ns, desc, 'index'), desc.mediaType).manifests) visit(child, desc, depth + 1)
      } else {
        walk.manifests.push(item)
        const manifest = parseManifest(readBlob(store, ns, desc, 'manifest'), desc.mediaType)
        for (const child of [manifest.config, ...manifest.layers] as Descriptor[]) visit(child, desc, depth + 1)
      }
      return
    }
    if (!allowNonDistributable && isNonDistributable(desc.mediaType)) {
      walk.skipped++
      return
    }
    if (!store.content.has(ns, desc.digest)) missing.push({desc, parent})
    else walk.blobs.push(item)
  }
  visit(root, undefined, 0)
  if (missing.length > 0) {
    const first = missing[0]
    const where = first.parent === undefined ? '' : ` of ${descriptorKind(first.parent.mediaType)} ${first.parent.digest}`
    throw new FailedPrecondition(
      `${missing.length} blob${missing.length === 1 ? ' is' : 's are'} not in the content store, first ${descriptorKind(first.desc.mediaType)} ` +
        `${first.desc.digest}${where}: ` +
        'fetch them first (ctr content fetch --all-platforms <ref>), or push one platform with --platform',
    )
  }
  return walk
}

async function pushBlob(
  store: Store,
  ns: string,
  ref: ImageReference,
  registry: Registry,
  item: Item,
  emit: (e: PushProgressEvent) => void,
): Promise<PushBlobOutcome> {
  const {desc, key} = item
  const info = store.content.info(ns, desc.digest)
  const path = store.content.path(ns, desc.digest)
  const mountFrom = selectMountCandidate(ref, info.labels)
  return registry.pushBlob(ref, desc, (start, end) => createReadStream(path, {start, end: end - 1, highWaterMark: 1 << 20}), {
    ...(mountFrom === undefined ? {} : {mountFrom}),
    onProgress: (sent) => emit({type: 'uploading', key, descriptor: desc, offset: sent, total: desc.size}),
  })
}

async function pushManifest(store: Store, ns: string, ref: ImageReference, registry: Registry, item: Item, isRoot: boolean): Promise<'exists' | 'uploaded'> {
  const bytes = readBlob(store, ns, item.desc, descriptorKind(item.desc.mediaType))
  // The root goes under the tag; everything else (and a digest-only reference) by digest.
  const tag = isRoot ? ref.tag : undefined
  return registry.pushManifest(ref, item.desc, bytes, tag === undefined ? {} : {tag})
}

/** Whole blob bytes from the content store. @throws NotFound when the record or its file is gone. */
function readBlob(store: Store, ns: string, desc: Descriptor, what: string): Buffer {
  try {
    return store.content.readBytes(ns, desc.digest)
  } catch (err) {
    if (isNotFound(err)) throw new NotFound(`${what} ${desc.digest}: content digest ${desc.digest}`, {suffixKind: true, cause: err})
    throw err
  }
}

/** Add the target repository to the distribution-source label of every pushed blob (a later push can mount from it). */
function recordTargetRepository(store: Store, ns: string, ref: ImageReference, digests: readonly string[]): void {
  const key = distributionSourceKey(ref.domain)
  store.db
    .transaction(() => {
      for (const digest of new Set(digests)) {
        let current: string | undefined
        try {
          current = store.content.info(ns, digest).labels[key]
        } catch (err) {
          if (isNotFound(err)) continue // removed meanwhile
          throw err
        }
        const next = appendDistributionSource(current, ref.path)
        if (next === current) continue
        try {
          validateLabels({[key]: next})
        } catch {
          continue // over containerd's label size limit: skipped, as containerd skips it
        }
        store.content.setLabels(ns, digest, {[key]: next})
      }
    })
    .immediate()
}

/** The digest the registry serves under `ref`'s tag, or undefined when it has none (or will not say). */
async function digestAt(registry: Registry, ref: ImageReference): Promise<string | undefined> {
  try {
    return (await registry.resolve(ref)).descriptor.digest
  } catch {
    return undefined // not there, or not readable: push as usual
  }
}

/** Wait for every job; the first failure (in order) is thrown once all have settled. */
async function settleAll(jobs: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(jobs)
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed !== undefined) throw failed.reason
}
