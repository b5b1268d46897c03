// Fetch an image into the content store: resolve the reference, walk index -> manifest ->
// config + layers, and make each blob visible in the namespace — by recording it when the
// sharing policy allows (zero bytes), else by streaming it into a resumable ingest — then record
// the image. Every blob is added to a lease while the pull runs, so GC cannot take what it has
// written before the image record references it; a killed pull leaves its lease and ingests
// behind, and the next pull resumes from them. Every blob of the walk, fetched or already there,
// gets containerd's `containerd.io/distribution.source.<registry>` label naming the repository, so
// that a push to another repository of that registry can mount it instead of uploading it.
import {Gate} from '../concurrency/index.js'
import {DataLoss, InvalidArgument, NotFound} from '../errors/index.js'
import {type Labels, validateLabels} from '../oci/labels.js'
import {
  type Descriptor,
  descriptorRefKey,
  isConfig,
  isIndex,
  isManifest,
  configPlatform,
  formatPlatform,
  type ImageReference,
  type Manifest,
  parseImageConfig,
  parseIndex,
  parseManifest,
  parsePlatform,
  parseReference,
  platformMatcher,
  sortByPreference,
} from '../oci/index.js'
import {type SnapshotterName, snapshotterName, type UnpackEvent, type UnpackLayer, unpackLayers} from '../snapshot/index.js'
import {processOwner, type Store, withLease, type WriterOptions} from '../store/index.js'
import type {ProgressEvent, ProgressListener} from './progress.js'
import {appendDistributionSource, createRegistry, distributionSourceKey, type Registry, type RegistryOptions} from '../registry/index.js'

export interface FetchOptions {
  readonly namespace: string
  readonly ref: string
  /** `os/arch[/variant]` strings; empty means the host platform. */
  readonly platforms?: readonly string[]
  readonly allPlatforms?: boolean
  /** Also fetch the manifests and configs (not layers) of the platforms not selected (ctr's `--all-metadata`). */
  readonly allMetadata?: boolean
  readonly labels?: Labels
  readonly maxConcurrentDownloads?: number
  readonly registry?: RegistryOptions
  readonly onProgress?: ProgressListener
  /** Unpack the host platform's layers into this snapshotter while downloading (pull); omit to fetch only. */
  readonly unpack?: {readonly snapshotter: string; readonly syncFs?: boolean; readonly onEvent?: (e: UnpackEvent) => void}
}

/** One platform's image unpacked by a pull. */
export interface UnpackedImage {
  readonly platform: string
  readonly manifest: Descriptor
  /** The top layer's chain ID: the snapshot a container's rootfs is prepared on. */
  readonly chainId: string
  readonly extracted: number
  readonly shared: number
}

export interface FetchResult {
  readonly name: string
  readonly target: Descriptor
  /** Blob body bytes received from the registry (0 when everything was shared or present). */
  readonly bytesTransferred: number
  readonly created: boolean
  readonly unpacked: readonly UnpackedImage[]
}

const LEASE_MS = 24 * 3600 * 1000
const WRITE_BATCH_BYTES = 1024 * 1024
const WRITE_BATCH_MS = 200

/**
 * Fetch `options.ref` into the namespace and record the image. Throws InvalidArgument (bad
 * reference or platform), NotFound, PermissionDenied, Unavailable (registry), DataLoss
 * (digest or size mismatch).
 */
export async function fetchImage(store: Store, options: FetchOptions): Promise<FetchResult> {
  if (options.allPlatforms && options.platforms && options.platforms.length > 0) {
    throw new InvalidArgument('cannot specify both --platform and --all-platforms', {suffixKind: true})
  }
  const ref = parseReference(options.ref)
  const matcher = options.allPlatforms ? undefined : platformMatcher((options.platforms ?? []).map((p) => parsePlatform(p)))
  const emit = options.onProgress ?? (() => {})
  const registry = createRegistry(options.registry)
  try {
    const name = ref.toString()
    emit({type: 'resolving', ref: name})
    const resolving = registry.resolve(ref)
    resolving.catch(() => undefined) // awaited below, after a turn of the event loop
    // One turn of the event loop sends the request (connect, write); while the registry answers, make what the pull
    // needs whatever the answer: the owner file of its lease, which loads Berth's native addon (a millisecond or so).
    await new Promise<void>((resolve) => setImmediate(resolve))
    try {
      processOwner(store.root)
    } catch {
      // withLease makes it again, and reports the failure
    }
    const resolved = await resolving
    emit({type: 'resolved', ref: name, descriptor: resolved.descriptor})

    const unpack = options.unpack && {...options.unpack, snapshotter: snapshotterName(options.unpack.snapshotter)}
    const batch = new RecordBatch(store.db)
    const limit = options.maxConcurrentDownloads ?? 3
    const job = new FetchJob(store, options.namespace, ref, registry, emit, matcher, limit, unpack, options.allMetadata ?? false, batch)
    // The image is recorded while the lease still holds every blob: a GC run by another process
    // between the two would otherwise find them unreferenced.
    // Records open in one transaction (RecordBatch). When nothing slow happened, that transaction
    // takes the image record too and commits with synchronous FULL: one WAL fsync for the pull.
    // Otherwise it commits (FULL) before the first download or extraction, and the pull's many
    // small records after it commit without an fsync each (synchronous NORMAL: durable against a
    // crash of this process, not yet against power loss); the image record then commits with
    // FULL, whose WAL fsync makes every earlier record durable too. A power loss before it can
    // only lose records whose files exist, which GC removes or the next pull records again.
    let created: boolean
    try {
      batch.begin()
      created = await withLease(
        store,
        options.namespace,
        async (leaseId) => {
          job.leaseId = leaseId
          await job.handle(resolved.descriptor)
          await job.drain()
          return batch.last(() => {
            const put = store.images.put(options.namespace, {name, target: stripDescriptor(resolved.descriptor), labels: options.labels ?? {}})
            // The lease goes in the image's commit (one fsync for both, not two): the image now holds all it held.
            // withLease then finds it gone, as it would find an expired lease that GC took.
            store.leases.delete(options.namespace, leaseId)
            return put.created
          })
        },
        {expiresInMs: LEASE_MS},
      )
    } finally {
      batch.end() // a failed pull keeps what it recorded, as its lease and ingests are kept, for the next pull
      store.db.pragma('synchronous = FULL')
    }
    return {name, target: resolved.descriptor, bytesTransferred: registry.stats.blobBytes, created, unpacked: job.unpacked}
  } finally {
    registry.close() // idle keep-alive sockets would hold the process open until the server drops them
  }
}

/** What `fetchBlobs` needs. */
export interface FetchBlobsOptions {
  readonly namespace: string
  /** The repository the blobs come from (its tag or digest is not used). */
  readonly ref: string
  readonly descriptors: readonly Descriptor[]
  /** Lease (in the namespace) the fetched blobs join. */
  readonly leaseId?: string
  readonly registry?: RegistryOptions
  readonly maxConcurrentDownloads?: number
  readonly onProgress?: ProgressListener
}

/**
 * Fetch exactly `options.descriptors`, by digest, from the reference's repository into the
 * namespace's content (verified, resumable, shared when the policy allows), without walking
 * their children and without recording an image: for filling in blobs an image lacks (export).
 * Returns the body bytes received. Throws InvalidArgument (reference), NotFound,
 * PermissionDenied, Unavailable (registry), DataLoss.
 */
export async function fetchBlobs(store: Store, options: FetchBlobsOptions): Promise<{bytesTransferred: number}> {
  const ref = parseReference(options.ref)
  const registry = createRegistry(options.registry)
  try {
    const job = new FetchJob(
      store,
      options.namespace,
      ref,
      registry,
      options.onProgress ?? (() => {}),
      undefined,
      options.maxConcurrentDownloads ?? 3,
      undefined,
      false,
    )
    job.leaseId = options.leaseId
    for (const desc of options.descriptors) job.fetchDescriptor(desc)
    await job.drain()
    return {bytesTransferred: registry.stats.blobBytes}
  } finally {
    registry.close()
  }
}

/**
 * A pull's records in one write transaction, for as long as nothing slow happens: a pull whose
 * blobs and layers are all in the store already (another namespace's) makes a few dozen small
 * records (lease, content rows, distribution-source labels, snapshots, the image), and one commit
 * for all of them costs a fraction of one each. `end()` commits, and is called before anything
 * that waits for another process or the network (an ingest, a contended lock, an extraction): that
 * process may need the database to finish, and nothing should hold it for a download. Records
 * made after `end()` commit one by one, without an fsync each (see fetchImage). Other processes
 * see the records when they commit; nothing outside this pull needs them before. A killed pull
 * loses the open transaction whole, as if it had not started.
 */
class RecordBatch {
  private open = false

  constructor(private readonly db: Store['db']) {}

  /** Open the transaction (under the store's synchronous FULL). */
  begin(): void {
    if (this.db.inTransaction) return
    this.db.exec('BEGIN IMMEDIATE')
    this.open = true
  }

  /** Commit what was recorded so far, if still open; records after this commit on their own, without an fsync each. */
  end(): void {
    if (!this.open) return
    this.open = false
    // A failed statement may have rolled the transaction back already (SQLite does, for some errors).
    if (this.db.inTransaction) this.db.exec('COMMIT')
    // Not inside a transaction: SQLite refuses to change the level there.
    this.db.pragma('synchronous = NORMAL')
  }

  /** Run the pull's last records, `fn`, and commit them with synchronous FULL: in the batch if it is still open, else alone. */
  last<T>(fn: () => T): T {
    if (this.open) {
      const result = this.db.transaction(fn).immediate() // a savepoint inside the batch
      this.open = false
      this.db.exec('COMMIT')
      return result
    }
    this.db.pragma('synchronous = FULL')
    return this.db.transaction(fn).immediate()
  }
}

/** One pull's walk over the descriptor tree, with a bounded pool for blob downloads. */
class FetchJob {
  leaseId: string | undefined
  readonly unpacked: UnpackedImage[] = []
  // Unpack only what the host can run, even when every platform is fetched.
  private readonly unpackMatcher = platformMatcher()
  private readonly unpackTargets = new Set<string>()
  private readonly pending: Promise<void>[] = []
  private readonly downloads: Gate
  private readonly sourceKey: string

  constructor(
    private readonly store: Store,
    private readonly ns: string,
    private readonly ref: ImageReference,
    private readonly registry: Registry,
    private readonly emit: (e: ProgressEvent) => void,
    private readonly matcher: ReturnType<typeof platformMatcher> | undefined,
    limit: number,
    private readonly unpack: {snapshotter: SnapshotterName; syncFs?: boolean; onEvent?: (e: UnpackEvent) => void} | undefined,
    private readonly allMetadata: boolean,
    private readonly batch?: RecordBatch,
  ) {
    this.downloads = new Gate(limit)
    this.sourceKey = distributionSourceKey(ref.domain)
  }

  /**
   * Add this repository to the blob's distribution-source label (read first, written only when it changes, re-read
   * inside the write so that concurrent pulls from other repositories are not lost). A value over containerd's label
   * size limit is skipped, as containerd skips it.
   */
  private recordSource(digest: string): void {
    const key = this.sourceKey
    const repo = this.ref.path
    const current = this.store.content.info(this.ns, digest).labels[key]
    const next = appendDistributionSource(current, repo)
    if (next === current) return
    try {
      validateLabels({[key]: next})
    } catch {
      return
    }
    this.store.db
      .transaction(() => {
        const now = this.store.content.info(this.ns, digest).labels[key]
        const merged = appendDistributionSource(now, repo)
        if (merged !== now) this.store.content.setLabels(this.ns, digest, {[key]: merged})
      })
      .immediate()
  }

  /**
   * Fetch one descriptor and, for indexes and manifests, what they reference; `metadataOnly` (a
   * platform fetched for `--all-metadata` only) takes a manifest's config and none of its layers.
   */
  async handle(desc: Descriptor, depth = 0, metadataOnly = false): Promise<void> {
    if (isIndex(desc.mediaType) || isManifest(desc.mediaType)) return this.handleManifest(desc, depth, metadataOnly)
    void this.fetchTracked(desc)
  }

  /** Queue one blob (a manifest or index too) without walking what it references. */
  fetchDescriptor(desc: Descriptor): void {
    if (!isIndex(desc.mediaType) && !isManifest(desc.mediaType)) {
      void this.fetchTracked(desc)
      return
    }
    const done = this.downloads.run(async () => void (await this.fetchSmall(desc, refKey(desc))))
    this.pending.push(done)
    done.catch(() => undefined) // surfaced by drain()
  }

  /** Queue a blob download; the promise settles when the blob is in the store. */
  private fetchTracked(desc: Descriptor): Promise<void> {
    const done = this.downloads.run(() => this.fetchBlob(desc))
    this.pending.push(done)
    done.catch(() => undefined) // surfaced by drain(); unpack jobs await it too
    return done
  }

  async drain(): Promise<void> {
    // Wait for everything, even after a failure: an unpack job must finish removing what it
    // recorded before the caller closes the store. The first failure (in queue order) is thrown.
    let failure: {reason: unknown} | undefined
    for (let done = 0; done < this.pending.length; ) {
      const batch = this.pending.slice(done)
      done = this.pending.length
      for (const r of await Promise.allSettled(batch)) if (r.status === 'rejected' && !failure) failure = {reason: r.reason}
    }
    if (failure) throw failure.reason
  }

  private async handleManifest(desc: Descriptor, depth: number, metadataOnly: boolean): Promise<void> {
    const key = refKey(desc)
    const bytes = await this.fetchSmall(desc, key)
    let children: Descriptor[]
    const metadataChildren = new Set<Descriptor>()
    let unpackManifest: Manifest | undefined
    const labels: Labels = {}
    if (isIndex(desc.mediaType)) {
      const index = parseIndex(bytes, desc.mediaType)
      const manifests = index.manifests
      const selected = metadataOnly ? [] : this.matcher ? sortByPreference(manifests, this.matcher).slice(0, 1) : manifests
      if (!metadataOnly && this.matcher && selected.length === 0) throw new NotFound(`no match for platform in manifest ${desc.digest}`, {suffixKind: true})
      // Unpack the one the host runs best: the selected manifest, or with --all-platforms the best match.
      const best = metadataOnly ? undefined : this.matcher ? selected[0] : sortByPreference(manifests, this.unpackMatcher)[0]
      if (best) this.unpackTargets.add(best.digest)
      // containerd's FilterManifestByPlatformHandler: the other platforms' manifests and configs too.
      children = this.allMetadata || metadataOnly ? manifests : selected
      for (const m of children) if (!selected.includes(m)) metadataChildren.add(m)
      manifests.forEach((m, i) => {
        if (children.includes(m)) labels[`containerd.io/gc.ref.content.m.${i}`] = m.digest
      })
    } else {
      const manifest = parseManifest(bytes, desc.mediaType)
      children = metadataOnly ? [manifest.config] : [manifest.config, ...manifest.layers]
      // Artifacts (non-image configs) are fetched, never unpacked.
      if (!metadataOnly && this.unpack && isConfig(manifest.config.mediaType) && (depth === 0 || this.unpackTargets.has(desc.digest))) unpackManifest = manifest
      labels['containerd.io/gc.ref.content.config'] = manifest.config.digest
      if (!metadataOnly) manifest.layers.forEach((l, i) => (labels[`containerd.io/gc.ref.content.l.${i}`] = l.digest))
    }
    this.store.content.setLabels(this.ns, desc.digest, labels)
    if (unpackManifest) {
      const config = this.fetchTracked(unpackManifest.config)
      const layers = unpackManifest.layers.map((l) => ({descriptor: l, ready: this.fetchTracked(l)}))
      const job = this.unpackImage(desc, unpackManifest.config, config, layers)
      job.catch(() => undefined)
      this.pending.push(job)
      return
    }
    for (const child of children) await this.handle(child, depth + 1, metadataChildren.has(child))
  }

  /** Unpack one platform's layers as their blobs arrive. */
  private async unpackImage(manifest: Descriptor, configDesc: Descriptor, configReady: Promise<void>, layers: UnpackLayer[]): Promise<void> {
    const unpack = this.unpack!
    await configReady
    const config = parseImageConfig(this.store.content.readBytes(this.ns, configDesc.digest))
    const result = await unpackLayers(this.store, {
      namespace: this.ns,
      snapshotter: unpack.snapshotter,
      layers,
      diffIds: config.rootfs.diff_ids,
      configDigest: configDesc.digest,
      leaseId: this.leaseId,
      syncFs: unpack.syncFs,
      onEvent: unpack.onEvent,
      beforeSlow: this.endBatch,
    })
    this.unpacked.push({
      platform: formatPlatform(configPlatform(config)),
      manifest,
      chainId: result.chainId,
      extracted: result.extracted,
      shared: result.shared,
    })
  }

  private writerOptions(key: string, desc: Descriptor): WriterOptions {
    return {ref: key, expected: {digest: desc.digest, size: desc.size}, leaseId: this.leaseId, beforeIngest: this.endBatch}
  }

  private readonly endBatch = (): void => this.batch?.end()

  /** A manifest or index: bytes in memory (bounded by the registry client), then committed. */
  private async fetchSmall(desc: Descriptor, key: string): Promise<Buffer> {
    const opened = await this.store.content.openWriter(this.ns, this.writerOptions(key, desc))
    if (opened.status !== 'write') {
      this.recordSource(desc.digest)
      this.emit({type: opened.status === 'exists' ? 'exists' : 'done', key, descriptor: desc, transferred: 0})
      return this.store.content.readBytes(this.ns, desc.digest)
    }
    const writer = opened.writer
    if (writer.offset > 0) {
      // A partial manifest from a killed pull: it is small, so start over rather than splice.
      await writer.abort()
      return this.fetchSmall(desc, key)
    }
    try {
      const bytes = await this.registry.fetchManifest(this.ref, desc)
      await writer.write(bytes)
      await writer.commit({mediaType: desc.mediaType})
      this.recordSource(desc.digest)
      this.emit({type: 'done', key, descriptor: desc, transferred: bytes.length})
      return bytes
    } catch (err) {
      await writer.close()
      throw err
    }
  }

  private async fetchBlob(desc: Descriptor): Promise<void> {
    const key = refKey(desc)
    if (desc.size <= 0) throw new InvalidArgument(`unable to fetch descriptor (${desc.digest}) which reports content size of zero`, {suffixKind: true})
    const opened = await this.store.content.openWriter(this.ns, this.writerOptions(key, desc))
    if (opened.status !== 'write') {
      this.recordSource(desc.digest)
      this.emit({type: opened.status === 'exists' ? 'exists' : 'done', key, descriptor: desc, transferred: 0})
      return
    }
    const writer = opened.writer
    let offset = writer.offset
    let transferred = 0
    let lastReport = 0
    // Sockets deliver ~64 KiB pieces; writing each one is a thread-pool round trip. Gather them
    // into ~1 MiB writes (one writev, no copy: concatenating cost the main thread 40 ms of a cold
    // pull of 160 MiB), but never hold bytes longer than WRITE_BATCH_MS, so that a slow download
    // still reaches its ingest steadily and a killed pull resumes near where it stopped.
    let pending: Uint8Array[] = []
    let pendingBytes = 0
    let pendingSince = 0
    const flush = async () => {
      if (pendingBytes === 0) return
      const data = pending
      pending = []
      pendingBytes = 0
      await writer.write(data)
    }
    try {
      this.emit({type: 'downloading', key, descriptor: desc, offset, total: desc.size})
      await this.registry.fetchBlobResumable(this.ref, desc, offset, async (chunk) => {
        const now = Date.now()
        if (pendingBytes === 0) pendingSince = now
        pending.push(chunk)
        pendingBytes += chunk.length
        offset += chunk.length
        transferred += chunk.length
        if (pendingBytes >= WRITE_BATCH_BYTES || now - pendingSince >= WRITE_BATCH_MS) await flush()
        if (now - lastReport >= 100) {
          lastReport = now
          this.emit({type: 'downloading', key, descriptor: desc, offset, total: desc.size})
        }
      })
      await flush()
      if (offset !== desc.size) throw new DataLoss(`short read: expected ${desc.size} bytes but got ${offset}`, {suffixKind: true})
      await writer.commit({mediaType: desc.mediaType})
    } catch (err) {
      await flush().catch(() => undefined) // keep what arrived for the resume
      await writer.close() // keep the partial data: the next pull resumes from it
      throw err
    }
    this.recordSource(desc.digest)
    this.emit({type: 'done', key, descriptor: desc, transferred})
  }
}

/** containerd's MakeRefKey: `<kind>-<digest>`, with the ref.name annotation when present. */
export const refKey = descriptorRefKey

function stripDescriptor(d: Descriptor): {mediaType: string; digest: string; size: number; annotations?: Record<string, string>} {
  return d.annotations
    ? {mediaType: d.mediaType, digest: d.digest, size: d.size, annotations: d.annotations}
    : {mediaType: d.mediaType, digest: d.digest, size: d.size}
}
