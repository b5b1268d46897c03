// Unpack an image's layers into committed snapshots keyed by chain ID, overlapping the download:
// each layer is extracted as soon as its blob is in the store (several at once), and committed
// in chain order once its parent is. A layer extracts into a fresh directory that gets its row
// only after its diff ID checked out, so a killed unpack leaves nothing a later pull would trust;
// a chain that another namespace already unpacked is recorded, not extracted, when the sharing
// policy allows it.
import {cpus} from 'node:os'
import {Gate} from '../concurrency/index.js'
import {DataLoss, errorKind, InvalidArgument} from '../errors/index.js'
import {chainIds, type Descriptor, digestHex} from '../oci/index.js'
import {acquireLock, blobPath, extractKey, type Lock, newSnapshotDirId, type SnapshotDir, type Store} from '../store/index.js'
import {applyLayer} from './apply/index.js'
import type {Snapshotter, SnapshotterName} from './snapshotter.js'
import {openSnapshotter} from './snapshotters.js'
import {syncFileSystem} from './usage.js'

/** A layer of the image, and when its blob is in the store. */
export interface UnpackLayer {
  readonly descriptor: Descriptor
  /** Resolves once the blob is committed to the content store (rejects if its fetch failed). */
  readonly ready: Promise<void>
}

export type UnpackEvent =
  | {readonly type: 'extracting'; readonly index: number; readonly descriptor: Descriptor}
  | {readonly type: 'extracted' | 'shared' | 'exists'; readonly index: number; readonly descriptor: Descriptor; readonly chainId: string}

export interface UnpackOptions {
  readonly namespace: string
  readonly snapshotter: SnapshotterName
  readonly layers: readonly UnpackLayer[]
  /** The image config's `rootfs.diff_ids`. */
  readonly diffIds: readonly string[]
  /** The config blob's digest: it is labelled with the top chain ID, the GC edge to the snapshots. */
  readonly configDigest: string
  readonly leaseId?: string
  /** fsync each extracted layer before recording it (containerd's `--sync-fs`). */
  readonly syncFs?: boolean
  readonly concurrency?: number
  readonly onEvent?: (event: UnpackEvent) => void
  /**
   * Called before the unpack waits for a lock held by another process or extracts a layer. A caller
   * that holds a write transaction across calls commits it here: the lock's holder (GC, another
   * pull) may need the database to let go of it, and an extraction is too long to hold it.
   */
  readonly beforeSlow?: () => void
}

export interface UnpackResult {
  /** The chain ID of the top layer: the snapshot a container's rootfs is prepared on. */
  readonly chainId: string
  readonly extracted: number
  readonly shared: number
}

/** Label names unpack sets (containerd's). */
export const UNCOMPRESSED_LABEL = 'containerd.io/uncompressed'
export const snapshotGcLabel = (snapshotter: string) => `containerd.io/gc.ref.snapshot.${snapshotter}`

/**
 * Unpack `options.layers` into the namespace and label the config with the top chain ID (its
 * layers get `containerd.io/uncompressed`), as containerd's unpacker does. On failure the snapshots this call recorded are
 * removed again, so nothing of a failed unpack is left committed.
 * @throws InvalidArgument (layer/diff ID count), DataLoss (`wrong diff id` naming the layer
 * index, corrupt layer), NotImplemented (compression), Internal.
 */
export async function unpackLayers(store: Store, options: UnpackOptions): Promise<UnpackResult> {
  const {layers, diffIds, namespace: ns} = options
  if (layers.length !== diffIds.length)
    throw new InvalidArgument(`number of layers and diffIDs don't match: ${layers.length} != ${diffIds.length}`, {suffixKind: true})
  if (layers.length === 0) throw new InvalidArgument('image has no layers to unpack', {suffixKind: true})
  const chain = chainIds(diffIds)
  const sn = openSnapshotter(store.root, options.snapshotter)
  const emit = options.onEvent ?? (() => {})
  const recorded: string[] = []
  // Creating directories marks them as in progress for GC, which removes unrecorded ones.
  const createLock = await acquireLockOr(store.root, 'snapshot-create', options.beforeSlow)
  try {
    // Highest layer whose chain is already here or may be shared: everything below comes with it.
    let adopt = -1
    let adoptDir: string | undefined
    for (let i = chain.length - 1; i >= 0 && adopt < 0; i--) {
      const dir = store.snapshots.findShareable(ns, sn.name, chain[i])
      if (dir !== undefined) {
        adopt = i
        adoptDir = dir
      }
    }
    let shared = 0
    const dirs: Array<Promise<string>> = []
    if (adoptDir !== undefined) {
      const dirChain = store.snapshots.dirChain(sn.name, adoptDir)
      const inputs = []
      for (let i = 0; i <= adopt; i++) {
        const dir = dirChain[adopt - i].id
        const own = store.snapshots.find(ns, sn.name, chain[i])
        dirs.push(Promise.resolve(own?.dir ?? dir))
        if (own) continue
        inputs.push({
          index: i,
          input: {
            key: chain[i],
            parent: chain[i - 1],
            existingDir: dir,
            labels: snapshotLabels(diffIds[i], chain[i - 1]),
            leaseId: options.leaseId,
            extractKey: extractKey(chain[i]),
          },
        })
      }
      const created = store.snapshots.createAll(
        ns,
        sn.name,
        inputs.map((x) => x.input),
        {idempotent: true},
      )
      const createdAt = new Set(inputs.filter((_, k) => created[k]).map((x) => x.index))
      for (let i = 0; i <= adopt; i++) {
        if (createdAt.has(i)) {
          recorded.push(chain[i])
          shared++
        }
        emit({type: createdAt.has(i) ? 'shared' : 'exists', index: i, descriptor: layers[i].descriptor, chainId: chain[i]})
      }
    }

    // cpus() only when something is extracted: node:os is a module load that a pull sharing every layer does not need.
    const extracting = adopt + 1 < layers.length
    const limit = extracting ? Math.max(1, options.concurrency ?? Math.min(3, cpus().length)) : 1
    const gate = new Gate(limit)
    if (extracting) options.beforeSlow?.()
    let extracted = 0
    for (let i = adopt + 1; i < layers.length; i++) {
      const parentDir = dirs[i - 1]
      const job = gate.run(async () => {
        const result = await unpackOne(store, sn, options, i, chain, parentDir, emit)
        if (result.recorded) {
          recorded.push(chain[i])
          if (result.extracted) extracted++
          else shared++
        }
        return result.dir
      })
      job.catch(() => undefined) // awaited below; keep an early failure from being unhandled
      dirs.push(job)
    }
    const settled = await Promise.allSettled(dirs)
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
    if (failed) throw failed.reason
    const chainId = chain.at(-1)!
    store.content.setLabels(ns, options.configDigest, {[snapshotGcLabel(sn.name)]: chainId})
    return {chainId, extracted, shared}
  } catch (err) {
    // Top first: a parent cannot go while its child is recorded.
    for (const key of recorded.reverse()) {
      try {
        for (const id of store.snapshots.remove(ns, sn.name, key)) sn.removeDirQuietly(id)
      } catch {
        // best effort: GC removes what is left once the pull's lease is gone
      }
    }
    throw err
  } finally {
    createLock.release()
  }
}

async function unpackOne(
  store: Store,
  sn: Snapshotter,
  options: UnpackOptions,
  index: number,
  chain: readonly string[],
  parentDir: Promise<string> | undefined,
  emit: (e: UnpackEvent) => void,
): Promise<{dir: string; recorded: boolean; extracted: boolean}> {
  const ns = options.namespace
  const layer = options.layers[index]
  const chainId = chain[index]
  const parentChain = chain[index - 1]
  const diffId = options.diffIds[index]
  await layer.ready
  // One extraction per chain ID across processes: the loser finds the winner's directory.
  let lock: Lock | undefined = await acquireLock(store.root, `unpack-${digestHex(chainId)}`)
  try {
    const existing = store.snapshots.findShareable(ns, sn.name, chainId)
    if (existing !== undefined) {
      // Recorded once the parent is, so the record's parent exists.
      lock.release()
      lock = undefined
      await parentDir
      const created = store.snapshots.create(
        ns,
        sn.name,
        {
          key: chainId,
          parent: parentChain,
          existingDir: existing,
          labels: snapshotLabels(diffId, parentChain),
          leaseId: options.leaseId,
          extractKey: extractKey(chainId),
        },
        {idempotent: true},
      )
      emit({type: created ? 'shared' : 'exists', index, descriptor: layer.descriptor, chainId})
      return {dir: store.snapshots.get(ns, sn.name, chainId).dir, recorded: created, extracted: false}
    }

    emit({type: 'extracting', index, descriptor: layer.descriptor})
    const id = newSnapshotDirId()
    let parentId: string | undefined
    const parentChainDirs = async (): Promise<SnapshotDir[]> => {
      if (!parentDir) return []
      parentId = await parentDir
      return store.snapshots.dirChain(sn.name, parentId)
    }
    try {
      // A native layer starts as a full copy of its parent (so waits for it); an overlayfs one
      // as an empty diff.
      const target = await sn.createLayerDir(id, parentChainDirs)
      const result = await applyLayer({
        blobPath: blobPath(store.root, layer.descriptor.digest),
        mediaType: layer.descriptor.mediaType,
        target,
        mode: sn.layout,
        lowers: async () => (await parentChainDirs()).map((d) => sn.fsPath(d.id)),
      })
      if (result.diffId !== diffId) {
        throw new DataLoss(
          `layer ${index} (${layer.descriptor.digest}): wrong diff id ${JSON.stringify(result.diffId)} calculated on extraction, want ` +
            `${JSON.stringify(diffId)}`,
          {suffixKind: true},
        )
      }
      if (parentDir) parentId = await parentDir
      if (options.syncFs) await syncFileSystem(target)
      store.snapshots.create(ns, sn.name, {
        key: chainId,
        parent: parentChain,
        newDir: {id, kind: 'committed', parent: parentId, chainId},
        labels: snapshotLabels(diffId, parentChain),
        leaseId: options.leaseId,
        extractKey: extractKey(chainId),
      })
      store.content.setLabels(ns, layer.descriptor.digest, {[UNCOMPRESSED_LABEL]: diffId})
      emit({type: 'extracted', index, descriptor: layer.descriptor, chainId})
      return {dir: id, recorded: true, extracted: true}
    } catch (err) {
      sn.removeDirQuietly(id) // the extraction's error is the one to report
      if (errorKind(err) === 'already exists') return {dir: store.snapshots.get(ns, sn.name, chainId).dir, recorded: false, extracted: false}
      throw err
    }
  } finally {
    lock?.release()
  }
}

/** The shared lock `name`: taken at once when free, else after `beforeWait()`, waiting as long as it takes. */
async function acquireLockOr(root: string, name: string, beforeWait: (() => void) | undefined): Promise<Lock> {
  if (beforeWait === undefined) return acquireLock(root, name, {shared: true})
  try {
    return await acquireLock(root, name, {shared: true, timeoutMs: 0})
  } catch (err) {
    if (errorKind(err) !== 'unavailable') throw err
  }
  beforeWait()
  return acquireLock(root, name, {shared: true})
}

/** The labels containerd's unpacker gives a committed layer snapshot. */
function snapshotLabels(diffId: string, parentChain: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {'containerd.io/snapshot/diff-id': diffId}
  if (parentChain !== undefined) labels['containerd.io/snapshot/parent-chain-id'] = parentChain
  return labels
}
