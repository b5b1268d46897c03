// Containers as ctr makes them: the image (unpacked on demand), a writable snapshot keyed by the
// container id on the image's chain, a runtime spec generated from the image config and flags
// and stored as a template in the container's persistent directory, and the record. Creation
// cleans up after itself on failure; removal takes the snapshot too unless told to keep it.
import {mkdirSync, rmSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {AlreadyExists, InvalidArgument} from '../errors/index.js'
import {checkNetworks, containerIps, containerNetnsPath, formatPortMapping, podPinPaths, type StoredNetworkSettings} from '../network/index.js'
import {parseImageConfig} from '../oci/index.js'
import {validateIdentifier} from '../oci/identifiers.js'
import type {Labels} from '../oci/labels.js'
import {unpackStoredImage} from '../images/mount.js' // not the index: a run needs no registry client
import {SnapshotService} from '../snapshot/service.js'
import {type ContainerRecord, defaultState, type PodRecord, type Store} from '../store/index.js'
import type {RuntimeSpec} from './oci-spec.js'
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
  /** `--net`/`--cni`/`-p`: how the container is networked (default: loopback only, as ctr). */
  readonly network?: StoredNetworkSettings
  /** `--pod`: the pod (id, name or id prefix) whose namespaces the container joins. */
  readonly pod?: string
}

/** `<state>/containers/<ns>/<id>`: the container's volatile run dir (seed 004), removed with it. */
export function containerRunDir(state: string, ns: string, id: string): string {
  return join(state, 'containers', ns, id)
}

/**
 * Join the spec to the pod's pinned namespaces (net, ipc, uts as the pod shares them) or to the
 * container's own pinned netns, by path. A pod member's spec has no hostname: runc would
 * overwrite the pod's.
 */
function joinNamespaces(spec: RuntimeSpec, paths: {net?: string; ipc?: string; uts?: string}): void {
  const byType: Record<string, string | undefined> = {network: paths.net, ipc: paths.ipc, uts: paths.uts}
  const namespaces = spec.linux?.namespaces ?? []
  for (const [type, path] of Object.entries(byType)) {
    if (path === undefined) continue
    const found = namespaces.find((n) => n.type === type)
    if (found) found.path = path
    else namespaces.push({type: type as 'network', path})
  }
  if (paths.uts !== undefined) delete spec.hostname
}

/** The network settings and spec adjustments of a pod member. @throws InvalidArgument for settings a member cannot have. */
function podMember(pod: PodRecord, options: CreateContainerOptions): {network: StoredNetworkSettings; specHost: boolean} {
  if ((options.network && options.network.mode !== 'none') || options.spec?.netHost) throw new InvalidArgument(`a container of pod ${JSON.stringify(pod.name)} uses the pod's network: drop --net, --net-host, --cni and -p`, {suffixKind: true})
  if (pod.share.includes('uts') && options.spec?.hostname) throw new InvalidArgument(`a container of pod ${JSON.stringify(pod.name)} has the pod's hostname: drop --hostname`, {suffixKind: true})
  const host = pod.network.mode === 'host'
  return {network: {mode: host ? 'host' : pod.share.includes('net') ? 'pod' : 'none'}, specHost: host}
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
  if (store.pods.find(ns, options.id)) throw new AlreadyExists(`container ${JSON.stringify(options.id)}: a pod has this id`, {suffixKind: true})
  const pod = options.pod !== undefined ? store.pods.resolve(ns, options.pod) : undefined
  const member = pod ? podMember(pod, options) : undefined
  let network: StoredNetworkSettings = member?.network ?? options.network ?? {mode: 'none'}
  if (options.spec?.netHost && network.mode !== 'none' && network.mode !== 'host') throw new InvalidArgument('--net-host and --net cannot be used together', {suffixKind: true})
  if (options.spec?.netHost) network = {mode: 'host'}
  checkNetworks(store, network)
  const image = store.images.get(ns, options.image)
  const {chainId, config: configDesc} = await unpackStoredImage(store, image.target, {namespace: ns, snapshotter: options.snapshotter, platform: options.platform})
  const imageConfig = parseImageConfig(store.content.readBytes(ns, configDesc.digest))
  const snapshots = new SnapshotService(store, ns, options.snapshotter)
  if (snapshots.find(options.id)) throw new AlreadyExists(`snapshot ${JSON.stringify(options.id)}`, {suffixKind: true})
  // Users and groups resolve through the image's own files, read from its layers (the container's
  // own snapshot does not exist yet): no mount needed.
  const rootfs = {layers: snapshots.committedLayers(chainId)}
  const spec = generateSpec({cgroupParent: cgroupParentFor(store.state), ...options.spec, ...(network.mode === 'host' ? {netHost: true} : {}), namespace: ns, id: options.id, image: imageConfig, rootfs})
  if (pod && member && !member.specHost) joinNamespaces(spec, podPinPaths(store.state, pod, ns))
  else if (pod && member?.specHost) joinNamespaces(spec, {...podPinPaths(store.state, pod, ns), net: undefined})
  else if (network.mode === 'cni') joinNamespaces(spec, {net: containerNetnsPath(store.state, ns, options.id)})
  const specJson = JSON.stringify(spec, null, 2)
  const dir = containerDir(store.root, ns, options.id)
  const runDir = containerRunDir(store.state, ns, options.id)
  // Seed 004's metadata, kept beside the record.
  const metadata = {
    'pod-name': pod?.name ?? '',
    'pod-id': pod?.id ?? '',
    'image-name': options.image,
    'image-id': configDesc.digest,
    name: options.id,
    'metadata-name': options.id,
    ...(pod?.uid ? {uid: pod.uid} : {}),
    ...(pod?.k8sNamespace ? {namespace: pod.k8sNamespace} : {}),
    attempt: pod?.attempt ?? 0,
    'created-at': Math.floor(Date.now() / 1000),
  }
  try {
    mkdirSync(dir, {recursive: true, mode: 0o700})
    mkdirSync(runDir, {recursive: true, mode: 0o700})
    writeTemplate(dir, specJson)
    // Image config labels first, --label over them (ctr), and the stop signal for `tasks kill`.
    const labels: Labels = {...(imageConfig.config?.Labels ?? {}), ...(options.labels ?? {}), [STOP_SIGNAL_LABEL]: stopSignal(imageConfig)}
    let created: ContainerRecord | undefined
    // The snapshot and the record commit together: GC never sees the snapshot unreferenced.
    await snapshots.prepare(options.id, {
      kind: 'active',
      parent: chainId,
      within: (recordSnapshot) => {
        // The extras (pod, network, metadata) commit with the record: one outer transaction.
        store.db
          .transaction(() => {
            created = store.containers.create(ns, {id: options.id, image: options.image, runtime: {name: options.runtime ?? DEFAULT_RUNTIME}, snapshotter: snapshots.name, snapshotKey: options.id, labels}, () => {
              recordSnapshot()
              if (store.pods.find(ns, options.id)) throw new AlreadyExists(`container ${JSON.stringify(options.id)}: a pod has this id`, {suffixKind: true})
            })
            store.pods.setContainerMeta(ns, options.id, {...(pod ? {podId: pod.id} : {}), network, metadata})
          })
          .immediate()
      },
    })
    return created!
  } catch (err) {
    // A concurrent create of the same id may have won: its template stays.
    if (!store.containers.find(ns, options.id)) {
      rmSync(dir, {recursive: true, force: true})
      rmSync(runDir, {recursive: true, force: true})
    }
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
  rmSync(containerDir(store.root, ns, id), {recursive: true, force: true})
  rmSync(containerRunDir(store.state, ns, id), {recursive: true, force: true})
}

/** What `containers info` shows beyond ctr's fields: pod, network and IPs, seed 004's metadata and dirs. */
export interface ContainerExtrasView {
  Pod?: {ID: string; Name: string}
  Network: {Mode: string; Networks?: string[]; Ports?: string[]; IPs: string[]}
  Metadata: Record<string, unknown>
  WorkDir: string
  RunDir: string
}

export function containerExtras(store: Store, ns: string, id: string): ContainerExtrasView {
  const meta = store.pods.containerMeta(ns, id)
  const pod = meta?.podId !== undefined ? store.pods.find(ns, meta.podId) : undefined
  const network = meta?.network ?? {mode: 'none'}
  return {
    ...(pod ? {Pod: {ID: pod.id, Name: pod.name}} : {}),
    Network: {
      Mode: network.mode,
      ...(network.networks ? {Networks: network.networks} : {}),
      ...(network.ports && network.ports.length > 0 ? {Ports: network.ports.map(formatPortMapping)} : {}),
      IPs: containerIps(store, ns, id),
    },
    Metadata: meta?.metadata ?? {},
    WorkDir: containerDir(store.root, ns, id),
    RunDir: containerRunDir(store.state, ns, id),
  }
}

/** Reject flag combinations before anything is created. */
export function validateCreateArgs(image: string | undefined, id: string | undefined): void {
  if (!image) throw new InvalidArgument('image ref must be provided', {suffixKind: true})
  if (!id) throw new InvalidArgument('container id must be provided', {suffixKind: true})
}

