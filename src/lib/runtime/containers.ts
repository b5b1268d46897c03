// Containers as ctr makes them, from one of three sources: an image (unpacked on demand; a
// writable snapshot keyed by the container id on the image's chain, or on a remapped copy of it
// for a user namespace), a host directory (`--rootfs`: no image, no snapshot) or an OCI runtime
// spec file (`--config`: used as is, its root.path naming the root file system). The spec is
// stored as a template in the container's persistent directory, the runtime as containerd
// records it (name and runc options); an image's container also records its network settings and
// its pod (seed 004's metadata with them). Every check runs before anything is made; creation
// cleans up after itself on failure; removal takes the snapshot too unless told to keep it.
import {mkdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {removeTree} from '../sys/tree.js'
import {resolve} from 'node:path'
import {AlreadyExists, FailedPrecondition, InvalidArgument, NotFound} from '../errors/index.js'
import {checkNetworks, containerIps, containerNetnsPath, formatPortMapping, podPinPaths, type StoredNetworkSettings} from '../network/index.js'
import {parseImageConfig} from '../oci/index.js'
import {validateIdentifier} from '../oci/identifiers.js'
import type {Labels} from '../oci/labels.js'
import {unpackStoredImage} from '../images/mount.js' // not the index: a run needs no registry client
import {SnapshotService} from '../snapshot/service.js'
import {type ContainerRecord, containerRunDir, defaultState, nowMicros, type PodRecord, PRIVATE_DIR_MODE, type Store} from '../store/index.js'
import {isCdiDeviceName} from './flag-values.js'
import {readHostFeatures, type HostFeatures} from './host.js'
import {OCI_VERSION, type RuntimeSpec} from './oci-spec.js'
import {releaseRemapped, remappedSnapshot} from './remap.js'
import {runtimeRecord, type RuntimeRequest} from './runtimes.js'
import {STOP_SIGNAL_LABEL, stopSignal} from './signals.js'
import {DEFAULT_CGROUP_PARENT, generateSpec, type SpecOptions} from './spec.js'
import {containerDir, readTemplate, writeTemplate} from './template.js'
import {fnv1a32} from '../sys/random.js'

export {containerDir} from './template.js'
export {DEFAULT_RUNTIME} from './runtimes.js'

/**
 * ctr flags Berth cannot honour: each one given is refused with its reason (exit 2 when Berth
 * does not implement it, 5 when this host lacks the facility), never ignored.
 */
export interface UnsupportedRequests {
  readonly gpus?: readonly number[]
  readonly sandbox?: string
  readonly blockioConfigFile?: string
  readonly blockioClass?: string
  readonly apparmorDefaultProfile?: string
  readonly remapLabels?: boolean
}

export interface CreateContainerOptions {
  readonly namespace: string
  readonly id: string
  /** The image name (must be pulled: ctr does not pull on create). Exactly one of image, rootfs, specFile. */
  readonly image?: string
  /** `--rootfs`: this absolute host directory is the root file system; no image, no snapshot. */
  readonly rootfs?: string
  /** `--config`: this OCI runtime spec file is the spec, as is; no image, no snapshot. */
  readonly specFile?: string
  readonly snapshotter: string
  /** `--snapshotter-label`: labels of the container's new snapshot. */
  readonly snapshotterLabels?: Labels
  /** `--sync-fs`: flush each layer unpacked for this container to disk before recording it. */
  readonly syncFs?: boolean
  /** The runtime name, or the runtime flags (see runtimeRecord); default io.containerd.runc.v2. */
  readonly runtime?: string | RuntimeRequest
  /** Container labels (`--label`); ctr also writes them into the spec's annotations. */
  readonly labels?: Labels
  readonly platform?: string
  /** Spec options beyond namespace, id, image config and rootfs. */
  readonly spec?: Omit<SpecOptions, 'namespace' | 'id' | 'image' | 'rootfs'>
  readonly unsupported?: UnsupportedRequests
  /** `--dump-config FILE`: write the stored spec there (2-space JSON) once the container exists. */
  readonly dumpConfig?: string
  /** `--net`/`--cni`/`-p`: how the container is networked (default: loopback only, as ctr). */
  readonly network?: StoredNetworkSettings
  /** `--pod`: the pod (id, name or id prefix) whose namespaces the container joins. */
  readonly pod?: string
}

export {containerRunDir} from '../store/index.js'

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
  if ((options.network && options.network.mode !== 'none') || options.spec?.netHost)
    throw new InvalidArgument(`a container of pod ${JSON.stringify(pod.name)} uses the pod's network: drop --net, --net-host, --cni and -p`, {suffixKind: true})
  if (pod.share.includes('uts') && options.spec?.hostname)
    throw new InvalidArgument(`a container of pod ${JSON.stringify(pod.name)} has the pod's hostname: drop --hostname`, {suffixKind: true})
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
 * Refuse what Berth cannot do, with the reason. `features` is read only when needed.
 * @throws InvalidArgument (not implemented by Berth), FailedPrecondition (missing on this host).
 */
export function refuseUnsupported(u: UnsupportedRequests, devicePaths: readonly string[] = [], features: () => HostFeatures = readHostFeatures): void {
  if (u.sandbox) throw new InvalidArgument('--sandbox is not supported: Berth has no sandbox API; --pod POD joins the namespaces of a pod')
  if (u.remapLabels) {
    throw new InvalidArgument(
      "--remap-labels is not supported: Berth's snapshotters do not read remap labels; --uidmap/--gidmap alone make a remapped copy of the image",
    )
  }
  if (u.blockioConfigFile || u.blockioClass) {
    throw new InvalidArgument(
      `--${u.blockioClass ? 'blockio-class' : 'blockio-config-file'} is not supported: Berth does not implement block I/O classes (goresctrl blockio)`,
    )
  }
  const cdi = devicePaths.find((d) => isCdiDeviceName(d))
  if (cdi !== undefined)
    throw new InvalidArgument(`--device ${JSON.stringify(cdi)}: CDI devices are not supported (Berth reads no CDI specs); give the path of a device node`)
  if (u.gpus && u.gpus.length > 0) {
    const why = features().gpu ? 'Berth has no GPU support (nvidia-container-cli, CDI)' : 'this host has no GPU (no /dev/nvidia0)'
    throw new FailedPrecondition(`--gpus: ${why}`)
  }
  if (u.apparmorDefaultProfile) {
    if (!features().apparmor)
      throw new FailedPrecondition('--apparmor-default-profile: AppArmor is not enabled on this host (/sys/module/apparmor/parameters/enabled)')
    throw new InvalidArgument(
      '--apparmor-default-profile is not supported: Berth does not generate and load AppArmor profiles; load one with apparmor_parser and use ' +
        '--apparmor-profile',
    )
  }
}

/** The spec of a `--config` file, as ctr's oci.WithSpecFromFile reads it; root.path must be absolute. */
function readSpecFile(path: string): RuntimeSpec {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const message = `cannot load spec config file: open ${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`
    throw e.code === 'ENOENT' ? new NotFound(message, {cause: err}) : new InvalidArgument(message, {cause: err})
  }
  const decoding = `decoding spec config file failed, current supported OCI runtime-spec : v${OCI_VERSION}`
  let spec: unknown
  try {
    spec = JSON.parse(text)
  } catch (err) {
    throw new InvalidArgument(`${decoding}: ${(err as Error).message}`, {cause: err})
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
  if (!isObject(spec)) throw new InvalidArgument(`${decoding}: not a JSON object`)
  const root = spec['root']
  const rootPath = isObject(root) ? root['path'] : undefined
  // Without a snapshot nothing is mounted in the bundle: a relative root.path would name an empty directory.
  if (typeof rootPath !== 'string' || !rootPath.startsWith('/')) {
    throw new InvalidArgument(
      `spec config file ${path}: root.path must be the absolute path of the root file system (there is no snapshot to mount), got ` +
        `${JSON.stringify(rootPath ?? null)}`,
    )
  }
  if (!isObject(spec['process']) || !Array.isArray(spec['process']['args']) || spec['process']['args'].length === 0) {
    throw new InvalidArgument(`spec config file ${path}: process.args must name the command to run`)
  }
  return spec as unknown as RuntimeSpec
}

/** Check a `--rootfs` directory. @throws NotFound, InvalidArgument. */
function checkRootfsDir(path: string): void {
  if (!path.startsWith('/')) throw new InvalidArgument(`rootfs ${JSON.stringify(path)} must be an absolute path`)
  let isDir: boolean
  try {
    isDir = statSync(path).isDirectory()
  } catch {
    throw new NotFound(`rootfs ${JSON.stringify(path)}: no such directory`)
  }
  if (!isDir) throw new InvalidArgument(`rootfs ${JSON.stringify(path)} is not a directory`)
}

/**
 * Create a container. @throws NotFound (image, content, rootfs, spec file), AlreadyExists
 * (container, or its snapshot `snapshot "<id>": already exists`), InvalidArgument (flags),
 * FailedPrecondition (a facility this host lacks), DataLoss (unpack).
 */
export async function createContainer(store: Store, options: CreateContainerOptions): Promise<ContainerRecord> {
  const ns = options.namespace
  validateIdentifier(options.id)
  const sources = [options.image, options.rootfs, options.specFile].filter((s) => s !== undefined).length
  if (sources !== 1) throw new InvalidArgument('a container is made from exactly one of an image, a --rootfs directory or a --config spec file')
  refuseUnsupported(options.unsupported ?? {}, options.spec?.devicePaths)
  const request: RuntimeRequest = typeof options.runtime === 'string' ? {name: options.runtime} : (options.runtime ?? {})
  const runtime = runtimeRecord({
    ...request,
    cgroup: options.spec?.cgroupsPath,
    ...(request.runcSystemdCgroup ? {systemd: readHostFeatures().systemd} : {}),
  })
  if (store.containers.find(ns, options.id)) throw new AlreadyExists(`container ${JSON.stringify(options.id)}`, {suffixKind: true})
  if (store.pods.find(ns, options.id)) throw new AlreadyExists(`container ${JSON.stringify(options.id)}: a pod has this id`, {suffixKind: true})
  const cliLabels = options.labels ?? {}
  if (options.image === undefined) {
    if (options.pod !== undefined || (options.network !== undefined && options.network.mode !== 'none')) {
      throw new InvalidArgument(
        '--pod, --net and --cni need an image: a --rootfs or --config container joins a prepared namespace with --with-ns network:PATH',
        {suffixKind: true},
      )
    }
    return createWithoutImage(store, options, runtime, cliLabels)
  }
  const pod = options.pod !== undefined ? store.pods.resolve(ns, options.pod) : undefined
  const member = pod ? podMember(pod, options) : undefined
  let network: StoredNetworkSettings = member?.network ?? options.network ?? {mode: 'none'}
  if (options.spec?.netHost && network.mode !== 'none' && network.mode !== 'host')
    throw new InvalidArgument('--net-host and --net cannot be used together', {suffixKind: true})
  if (options.spec?.netHost) network = {mode: 'host'}
  checkNetworks(store, network)
  const image = store.images.get(ns, options.image)
  const {chainId, config: configDesc} = await unpackStoredImage(store, image.target, {
    namespace: ns,
    snapshotter: options.snapshotter,
    platform: options.platform,
    syncFs: options.syncFs,
  })
  const imageConfig = parseImageConfig(store.content.readBytes(ns, configDesc.digest))
  const snapshots = new SnapshotService(store, ns, options.snapshotter)
  if (snapshots.find(options.id)) throw new AlreadyExists(`snapshot ${JSON.stringify(options.id)}`, {suffixKind: true})
  // Users and groups resolve through the image's own files, read from its layers (the container's
  // own snapshot does not exist yet): no mount needed.
  const rootfs = {layers: snapshots.committedLayers(chainId)}
  const spec = generateSpec({
    cgroupParent: cgroupParentFor(store.state),
    ...options.spec,
    ...(network.mode === 'host' ? {netHost: true} : {}),
    annotations: {...options.spec?.annotations, ...cliLabels},
    namespace: ns,
    id: options.id,
    image: imageConfig,
    rootfs,
  })
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
    mkdirSync(dir, {recursive: true, mode: PRIVATE_DIR_MODE}) // containers/, <ns>/ and <id>/: the spec may carry secrets
    mkdirSync(runDir, {recursive: true, mode: PRIVATE_DIR_MODE})
    writeTemplate(dir, specJson)
    // Image config labels first, --label over them (ctr), and the stop signal for `tasks kill`.
    const labels: Labels = {...(imageConfig.config?.Labels ?? {}), ...cliLabels, [STOP_SIGNAL_LABEL]: stopSignal(imageConfig)}
    let created: ContainerRecord | undefined
    const uidMaps = spec.linux.uidMappings ?? []
    const record = async (parent: string) =>
      // The snapshot and the record commit together: GC never sees the snapshot unreferenced.
      snapshots.prepare(options.id, {
        kind: 'active',
        parent,
        labels: options.snapshotterLabels,
        within: (recordSnapshot) => {
          // The extras (pod, network, metadata) commit with the record: one outer transaction.
          store.db
            .transaction(() => {
              created = store.containers.create(
                ns,
                {id: options.id, image: options.image, runtime, snapshotter: snapshots.name, snapshotKey: options.id, labels},
                () => {
                  recordSnapshot()
                  if (store.pods.find(ns, options.id)) throw new AlreadyExists(`container ${JSON.stringify(options.id)}: a pod has this id`, {suffixKind: true})
                },
              )
              store.pods.setContainerMeta(ns, options.id, {...(pod ? {podId: pod.id} : {}), network, metadata})
            })
            .immediate()
        },
      })
    if (uidMaps.length === 0) await record(chainId)
    else {
      // A lease holds the remapped parent from its making until the container's snapshot sits on it.
      const lease = store.leases.create(ns, {expiresAt: nowMicros() + 3_600_000_000})
      try {
        await record(await remappedSnapshot(store, snapshots, ns, chainId, uidMaps, spec.linux.gidMappings ?? [], lease.id))
      } finally {
        store.leases.delete(ns, lease.id)
      }
    }
    dumpSpec(options.dumpConfig, specJson)
    return created!
  } catch (err) {
    // A concurrent create of the same id may have won: its template stays.
    if (!store.containers.find(ns, options.id)) {
      removeTree(dir)
      removeTree(runDir)
    }
    throw err
  }
}

/** A `--rootfs` or `--config` container: a spec and a record, nothing to unpack or snapshot. */
function createWithoutImage(
  store: Store,
  options: CreateContainerOptions,
  runtime: {name: string; options?: Record<string, unknown>},
  labels: Labels,
): ContainerRecord {
  const ns = options.namespace
  let spec: RuntimeSpec
  if (options.specFile !== undefined) {
    spec = readSpecFile(options.specFile)
    // ctr -t gives the task a terminal; the spec must ask for one too (Berth takes it from the spec).
    if (options.spec?.tty && spec.process.terminal !== true) throw new InvalidArgument('--tty: the spec file does not set process.terminal')
    // ctr applies WithAnnotations(labels) to the spec from the file too.
    if (Object.keys(labels).length > 0) spec.annotations = {...spec.annotations, ...labels}
  } else {
    const root = options.rootfs!
    checkRootfsDir(root)
    spec = generateSpec({
      cgroupParent: cgroupParentFor(store.state),
      ...options.spec,
      annotations: {...options.spec?.annotations, ...labels},
      namespace: ns,
      id: options.id,
      rootPath: root,
      rootfs: root,
    })
  }
  const specJson = JSON.stringify(spec, null, 2)
  const dir = containerDir(store.root, ns, options.id)
  try {
    mkdirSync(dir, {recursive: true, mode: PRIVATE_DIR_MODE})
    writeTemplate(dir, specJson)
    const created = store.containers.create(ns, {id: options.id, image: '', runtime, labels})
    dumpSpec(options.dumpConfig, specJson)
    return created
  } catch (err) {
    if (!store.containers.find(ns, options.id)) removeTree(dir)
    throw err
  }
}

/** `--dump-config`: the stored spec, 2-space JSON as ctr writes it. */
function dumpSpec(file: string | undefined, specJson: string): void {
  if (file === undefined) return
  if (file === '') throw new InvalidArgument('file name is required with --dump-config')
  writeFileSync(file, specJson, {mode: 0o644})
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
export function removeContainer(
  store: Store,
  ns: string,
  id: string,
  options: {keepSnapshot?: boolean; beforeDelete?: (rec: ContainerRecord) => void} = {},
): void {
  const rec = store.containers.get(ns, id)
  options.beforeDelete?.(rec)
  const snapshots = !options.keepSnapshot && rec.snapshotter && rec.snapshotKey ? new SnapshotService(store, ns, rec.snapshotter) : undefined
  const parent = snapshots?.find(rec.snapshotKey!)?.parent
  if (snapshots?.find(rec.snapshotKey!)) {
    // One transaction: /snapshot/remove then /containers/delete, as containerd's client orders them.
    snapshots.removeWithin(rec.snapshotKey!, (removeRecord) => store.containers.delete(ns, id, removeRecord))
  } else {
    store.containers.delete(ns, id)
  }
  removeTree(containerDir(store.root, ns, id))
  // A user namespace's remapped copy of the image goes with its last container (GC would take it too).
  if (snapshots && parent !== undefined) releaseRemapped(store, snapshots, ns, parent)
  removeTree(containerRunDir(store.state, ns, id))
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

/**
 * Check the positionals before anything is created: IMAGE|ROOTFS and ID, or (with a spec file) ID alone.
 * @throws InvalidArgument with ctr's texts.
 */
export function validateCreateArgs(image: string | undefined, id: string | undefined, options: {specFile?: boolean; extra?: number} = {}): void {
  if (options.specFile) {
    if ((options.extra ?? 0) > 0) throw new InvalidArgument('with spec config file, only container id should be provided', {suffixKind: true})
    if (!id) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    return
  }
  if (!image) throw new InvalidArgument('image ref must be provided', {suffixKind: true})
  if (!id) throw new InvalidArgument('container id must be provided', {suffixKind: true})
}
