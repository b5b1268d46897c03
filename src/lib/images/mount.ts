// Images as file trees: unpack an image already in the content store, and mount it (`ctr images
// mount` / `unmount`). A mount's snapshot is keyed by the target path and held by a lease, as in
// containerd, so that GC leaves it alone until `unmount --rm` or the lease's expiry.
import {createHash} from 'node:crypto'
import {mkdirSync} from 'node:fs'
import {resolve} from 'node:path'
import {FailedPrecondition, isNotFound, NotFound} from '../errors/index.js'
import {ImageReader, type PlatformImage} from './index.js'
import {type Descriptor, parsePlatform, platformMatcher} from '../oci/index.js'
import {nowMicros, type Store} from '../store/index.js'
// Not the snapshot index: the layer applier loads only when an image must be unpacked (5 ms of every `run` otherwise).
import {SnapshotService} from '../snapshot/service.js'
import {snapshotterName} from '../snapshot/snapshotter.js'

export interface UnpackStoredOptions {
  readonly namespace: string
  readonly snapshotter: string
  readonly platform?: string
  /** Several acceptable platforms, best first (instead of `platform`). */
  readonly platforms?: readonly string[]
  readonly leaseId?: string
  /** fsync each extracted layer before recording it (`run --sync-fs`). */
  readonly syncFs?: boolean
}

/**
 * Unpack the platform image of `target` from the content store (no network), unless its chain is
 * already committed here. Returns the platform image with its chain ID.
 * @throws NotFound (a blob missing here), DataLoss, InvalidArgument.
 */
export async function unpackStoredImage(store: Store, target: Descriptor, options: UnpackStoredOptions): Promise<PlatformImage & {chainId: string}> {
  const wanted = options.platforms ?? (options.platform ? [options.platform] : [])
  const matcher = platformMatcher(wanted.map((p) => parsePlatform(p)))
  const reader = new ImageReader(store, options.namespace, matcher)
  const image = reader.platformImage(target)
  if (!image) throw new NotFound(`image content for ${target.digest} is incomplete; pull it again`, {suffixKind: true})
  if (!image.chainId) throw new FailedPrecondition('image has no layers', {suffixKind: true})
  if (!reader.unpacked(target, options.snapshotter)) {
    const missing = image.layers.find((l) => !store.content.has(options.namespace, l.digest))
    if (missing) throw new NotFound(`layer ${missing.digest} of the image is not in the content store; pull it again`, {suffixKind: true})
    const {unpackLayers} = await import('../snapshot/unpack.js')
    await unpackLayers(store, {
      namespace: options.namespace,
      snapshotter: snapshotterName(options.snapshotter),
      layers: image.layers.map((descriptor) => ({descriptor, ready: Promise.resolve()})),
      diffIds: image.diffIds,
      configDigest: image.config.digest,
      leaseId: options.leaseId,
      syncFs: options.syncFs,
    })
  }
  return {...image, chainId: image.chainId}
}

export interface MountImageOptions {
  readonly namespace: string
  readonly name: string
  readonly target: string
  readonly snapshotter: string
  readonly rw?: boolean
  readonly platform?: string
  /** Lease lifetime; the snapshot stays until `unmount --rm` or then. */
  readonly expirationMs: number
}

/**
 * Unpack (if needed) and mount image `name` at `target`: a view, or with `rw` an active snapshot
 * keyed by the absolute target path. An existing snapshot with that key is mounted again.
 * Returns the absolute target. @throws NotFound (image), Internal (mount).
 */
export async function mountImage(store: Store, options: MountImageOptions): Promise<string> {
  const target = resolve(options.target)
  const ns = options.namespace
  const image = store.images.get(ns, options.name)
  const leaseId = mountLeaseId(target)
  if (!store.leases.list(ns).some((l) => l.id === leaseId)) {
    store.leases.create(ns, {
      id: leaseId,
      labels: {'containerd.io/gc.expire': new Date(Date.now() + options.expirationMs).toISOString()},
      expiresAt: nowMicros() + options.expirationMs * 1000,
    })
  }
  const {chainId} = await unpackStoredImage(store, image.target, {namespace: ns, snapshotter: options.snapshotter, platform: options.platform, leaseId})
  const snapshots = new SnapshotService(store, ns, options.snapshotter)
  let created = false
  if (!snapshots.find(target)) {
    await snapshots.prepare(target, {kind: options.rw ? 'active' : 'view', parent: chainId, leaseId})
    created = true
  }
  mkdirSync(target, {recursive: true})
  try {
    snapshots.mount(target, target)
  } catch (err) {
    if (created) snapshots.remove(target)
    throw err
  }
  return target
}

/**
 * Unmount everything at `target`; with `remove`, also drop its snapshot and lease (the snapshot
 * directory goes at once). Returns the absolute target.
 */
export function unmountImage(store: Store, options: {namespace: string; target: string; snapshotter: string; remove?: boolean}): string {
  const target = resolve(options.target)
  SnapshotService.unmountAll(target)
  if (options.remove) {
    const snapshots = new SnapshotService(store, options.namespace, options.snapshotter)
    if (snapshots.find(target)) snapshots.remove(target)
    try {
      store.leases.delete(options.namespace, mountLeaseId(target))
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
  }
  return target
}

/** The lease of a mount: named after its target (lease ids cannot hold `/`). */
function mountLeaseId(target: string): string {
  return `mount-${createHash('sha256').update(target).digest('hex').slice(0, 16)}`
}
