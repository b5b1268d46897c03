// Containers as ctr makes them: the image (unpacked on demand), a writable snapshot keyed by the
// container id on the image's chain, a runtime spec generated from the image config and flags
// and stored as a template in the container's persistent directory, and the record. Creation
// cleans up after itself on failure; removal takes the snapshot too unless told to keep it.
import {mkdirSync} from 'node:fs'
import {removeTree} from '../sys/tree.js'
import {resolve} from 'node:path'
import {AlreadyExists, InvalidArgument} from '../errors/index.js'
import {parseImageConfig} from '../oci/index.js'
import {validateIdentifier} from '../oci/identifiers.js'
import type {Labels} from '../oci/labels.js'
import {unpackStoredImage} from '../images/mount.js' // not the index: a run needs no registry client
import {SnapshotService} from '../snapshot/service.js'
import {type ContainerRecord, defaultState, PRIVATE_DIR_MODE, type Store} from '../store/index.js'
import {STOP_SIGNAL_LABEL, stopSignal} from './signals.js'
import {DEFAULT_CGROUP_PARENT, generateSpec, type SpecOptions} from './spec.js'
import {containerDir, readTemplate, writeTemplate} from './template.js'
import {fnv1a32} from '../sys/random.js'

export {containerDir} from './template.js'

/** The runtime ctr records by default (containerd's runc shim v2). */
export const DEFAULT_RUNTIME = 'io.containerd.runc.v2'

export interface CreateContainerOptions {
  readonly namespace: string
  readonly id: string
  /** The image name (must be pulled: ctr does not pull on create). */
  readonly image: string
  readonly snapshotter: string
  readonly runtime?: string
  readonly labels?: Labels
  readonly platform?: string
  /** Spec options beyond namespace, id, image config and rootfs. */
  readonly spec?: Omit<SpecOptions, 'namespace' | 'id' | 'image' | 'rootfs'>
}

/**
 * The cgroup parent of a store's containers: `/berth` for the default state dir, else
 * `/berth-<FNV-1a of the state dir>`, so that two stores running the same namespace and id (tests,
 * CI jobs side by side) never share a cgroup. cgroups are machine-wide; state dirs are not.
 */
export function cgroupParentFor(state: string): string {
  const resolved = resolve(state)
  if (resolved === resolve(defaultState())) return DEFAULT_CGROUP_PARENT
  return `${DEFAULT_CGROUP_PARENT}-${fnv1a32(resolved)}`
}


/**
 * Create a container. @throws NotFound (image, content), AlreadyExists (container, or its
 * snapshot `snapshot "<id>": already exists`), InvalidArgument (flags), DataLoss (unpack).
 */
export async function createContainer(store: Store, options: CreateContainerOptions): Promise<ContainerRecord> {
  const ns = options.namespace
  validateIdentifier(options.id)
  if (store.containers.find(ns, options.id)) throw new AlreadyExists(`container ${JSON.stringify(options.id)}`, {suffixKind: true})
  const image = store.images.get(ns, options.image)
  const {chainId, config: configDesc} = await unpackStoredImage(store, image.target, {namespace: ns, snapshotter: options.snapshotter, platform: options.platform})
  const imageConfig = parseImageConfig(store.content.readBytes(ns, configDesc.digest))
  const snapshots = new SnapshotService(store, ns, options.snapshotter)
  if (snapshots.find(options.id)) throw new AlreadyExists(`snapshot ${JSON.stringify(options.id)}`, {suffixKind: true})
  // Users and groups resolve through the image's own files, read from its layers (the container's
  // own snapshot does not exist yet): no mount needed.
  const rootfs = {layers: snapshots.committedLayers(chainId)}
  const specJson = JSON.stringify(generateSpec({cgroupParent: cgroupParentFor(store.state), ...options.spec, namespace: ns, id: options.id, image: imageConfig, rootfs}), null, 2)
  const dir = containerDir(store.root, ns, options.id)
  try {
    mkdirSync(dir, {recursive: true, mode: PRIVATE_DIR_MODE}) // containers/, <ns>/ and <id>/: the spec may carry secrets
    writeTemplate(dir, specJson)
    // Image config labels first, --label over them (ctr), and the stop signal for `tasks kill`.
    const labels: Labels = {...(imageConfig.config?.Labels ?? {}), ...(options.labels ?? {}), [STOP_SIGNAL_LABEL]: stopSignal(imageConfig)}
    let created: ContainerRecord | undefined
    // The snapshot and the record commit together: GC never sees the snapshot unreferenced.
    await snapshots.prepare(options.id, {
      kind: 'active',
      parent: chainId,
      within: (recordSnapshot) => {
        created = store.containers.create(ns, {id: options.id, image: options.image, runtime: {name: options.runtime ?? DEFAULT_RUNTIME}, snapshotter: snapshots.name, snapshotKey: options.id, labels}, recordSnapshot)
      },
    })
    return created!
  } catch (err) {
    // A concurrent create of the same id may have won: its template stays.
    if (!store.containers.find(ns, options.id)) removeTree(dir)
    throw err
  }
}

/** The stored spec template (JSON text) of a container. @throws NotFound. */
export function containerSpec(store: Store, ns: string, id: string): string {
  store.containers.get(ns, id)
  return readTemplate(containerDir(store.root, ns, id))
}

/**
 * Remove a container record, its directory and (unless `keepSnapshot`) its snapshot.
 * `beforeDelete` runs first (the task layer refuses a running task there). @throws NotFound.
 */
export function removeContainer(store: Store, ns: string, id: string, options: {keepSnapshot?: boolean; beforeDelete?: (rec: ContainerRecord) => void} = {}): void {
  const rec = store.containers.get(ns, id)
  options.beforeDelete?.(rec)
  const snapshots = !options.keepSnapshot && rec.snapshotter && rec.snapshotKey ? new SnapshotService(store, ns, rec.snapshotter) : undefined
  if (snapshots?.find(rec.snapshotKey!)) {
    // One transaction: /snapshot/remove then /containers/delete, as containerd's client orders them.
    snapshots.removeWithin(rec.snapshotKey!, (removeRecord) => store.containers.delete(ns, id, removeRecord))
  } else {
    store.containers.delete(ns, id)
  }
  removeTree(containerDir(store.root, ns, id))
}

/** Reject flag combinations before anything is created. */
export function validateCreateArgs(image: string | undefined, id: string | undefined): void {
  if (!image) throw new InvalidArgument('image ref must be provided', {suffixKind: true})
  if (!id) throw new InvalidArgument('container id must be provided', {suffixKind: true})
}

