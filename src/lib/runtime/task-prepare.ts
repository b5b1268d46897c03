// Prepare a task's start, shared by the detached and the foreground path: record the task, mount its
// rootfs, make its namespaces ready (pod, CNI) and render its bundle; or undo all of it (`abandon`)
// when the start fails before the process ran, leaving no row, mount, file or network behind.
import {chmodSync, mkdirSync, renameSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {removeTree} from '../sys/tree.js'
import {AlreadyExists, FailedPrecondition} from '../errors/index.js'
import {SnapshotService} from '../snapshot/service.js'
import {type ContainerRecord, PRIVATE_DIR_MODE, TRAVERSE_DIR_MODE, type TaskRecord} from '../store/index.js'
import {usernsBase} from '../store/paths.js'
import type {LogDestination} from './flag-values.js'
import {startLoggingProgram, type TaskOutput} from './task-output.js'
import {checkExecutable} from './lookpath.js'
import {bootId} from './proc.js'
import type {Runc} from './runc.js'
import {containerRunc} from './runtimes.js'
import type {RuntimeSpec} from './oci-spec.js'
import {containerDir, readTemplate, renderSpec, writeBundleSpec} from './template.js'
import {randomBytes} from '../sys/random.js'
import {attachContainerNetwork, containerIps, pinContainerNetns, setUpPodSandbox, type StoredNetworkSettings} from '../network/index.js'
import {lockNetworkGate, type NetworkGate, withGateHook} from './network-gate.js'
import {containerRunDir} from './containers.js'
import {refreshTask, releaseUsernsRootfs, teardown} from './task-reconcile.js'
import {type TaskPaths, taskPaths, type TaskRuntime} from './task-runtime.js'

/**
 * The namespaces a task joins, made ready before runc runs: a pod member's pod is brought up
 * (after a reboot or `pods stop` its pins are gone; `/pods/start`), a networked container's
 * netns is pinned. @returns the container's own network settings when it has CNI networks to
 * attach (which {@link attachNetwork} does while runc creates the container).
 */
async function pinNetwork(rt: TaskRuntime, id: string): Promise<StoredNetworkSettings | undefined> {
  const meta = rt.store.pods.containerMeta(rt.ns, id)
  if (!meta) return undefined
  mkdirSync(containerRunDir(rt.store.state, rt.ns, id), {recursive: true, mode: 0o700}) // gone after a reboot
  if (meta.podId !== undefined) {
    const pod = rt.store.pods.find(rt.ns, meta.podId)
    if (pod && (await setUpPodSandbox(rt.store, rt.ns, pod))) rt.store.pods.event(rt.ns, pod.id, '/pods/start')
  }
  if (meta.network.mode !== 'cni') return undefined
  await pinContainerNetns(rt.store, rt.ns, id)
  return meta.network
}

/**
 * CNI ADD of a container's pinned netns, run in the background: the caller starts runc meanwhile and
 * lets the process start only once this settles (runc start waits for it; a foreground run's gate
 * hook waits for `gate`, opened or failed here). @returns the container's addresses.
 */
async function attachNetwork(rt: TaskRuntime, id: string, settings: StoredNetworkSettings, gate: NetworkGate | undefined): Promise<string[]> {
  try {
    await attachContainerNetwork(rt.store, rt.ns, id, settings)
    const ips = containerIps(rt.store, rt.ns, id)
    gate?.close(true)
    return ips
  } finally {
    gate?.close(false)
  }
}

/**
 * Make the 0711 chain to a user-namespace container's rootfs mountpoint: state itself 0711 (as
 * containerd's state directory is), `userns/`, `<ns>/` and `<id>/`. Everything else in state stays
 * 0700, so the chain leads nowhere but here. @returns the mountpoint.
 */
function usernsMountpoint(state: string, paths: TaskPaths): string {
  chmodSync(state, TRAVERSE_DIR_MODE)
  for (const dir of [usernsBase(state), dirname(paths.usernsDir), paths.usernsDir, paths.usernsRootfs]) {
    mkdirSync(dir, {recursive: true, mode: TRAVERSE_DIR_MODE})
    chmodSync(dir, TRAVERSE_DIR_MODE) // whatever the umask made of it
  }
  return paths.usernsRootfs
}

export interface Prepared {
  container: ContainerRecord
  task: TaskRecord
  paths: TaskPaths
  spec: RuntimeSpec
  /** The runc (binary, state root) of the container's runtime. */
  runc: Runc
  /**
   * The container's IP addresses once its network is up (`/tasks/create` carries them). A
   * container's own CNI networks are still being attached when prepareTask returns: the process
   * must not start before this settles (and a rejection means it must not start at all), and
   * nothing may tear the task down before it settles either (DEL after ADD).
   */
  network: Promise<string[]>
}

/**
 * Record a new task and make its bundle: the container's snapshot mounted at `rootfs/` and the
 * spec template rendered into `config.json` (seed 004). A container without a snapshot (`--rootfs`,
 * `--config`) keeps its spec's absolute root path. Undone completely on failure. A runtime that does
 * not resolve fails first, before any record (containerd fails NewTask the same way). With `gate`
 * (a foreground start: runc run), the spec gets the network gate's hook (network-gate.ts); with
 * `volatile` (a container removed after this run), its overlay is mounted without syncs.
 */
export async function prepareTask(
  rt: TaskRuntime,
  id: string,
  monitor: TaskRecord['monitor'],
  options: {gate?: boolean; volatile?: boolean} = {},
): Promise<Prepared> {
  const {store, ns} = rt
  const container = store.containers.get(ns, id)
  const existing = store.tasks.find(ns, id)
  if (existing) {
    await refreshTask(rt, existing)
    throw new AlreadyExists(`task ${id}`, {suffixKind: true})
  }
  const runc = containerRunc(rt, id)
  const template = readTemplate(containerDir(store.root, ns, id))
  const instance = randomBytes(8).toString('hex')
  const spec = JSON.parse(template) as RuntimeSpec
  const snapshot = Boolean(container.snapshotter && container.snapshotKey)
  const ownRoot = spec.root?.path
  if (!snapshot && (typeof ownRoot !== 'string' || !ownRoot.startsWith('/'))) {
    throw new FailedPrecondition(`container ${id} has no snapshot and its spec's root.path ${JSON.stringify(ownRoot ?? '')} is not an absolute path`)
  }
  const task = store.tasks.insert(ns, {
    containerId: id,
    instance,
    monitor,
    monitorPid: monitor === 'client' ? process.pid : 0,
    bootId: bootId(),
    terminal: spec.process?.terminal === true,
  })
  const paths = taskPaths(store.state, ns, id)
  let gate: NetworkGate | undefined
  try {
    SnapshotService.unmountAll(paths.rootfs) // left by a run killed before its cleanup
    releaseUsernsRootfs(paths)
    removeTree(paths.dir)
    // tasks/ and tasks/<ns>/ 0700, and the bundle too: it holds the mounted rootfs (setuid
    // binaries included), the rendered spec, the log, conmon's sockets and exit files. Only root
    // may reach them (CVE-2021-41103; containerd's bundles are 0700 for the same reason).
    mkdirSync(dirname(paths.dir), {recursive: true, mode: PRIVATE_DIR_MODE})
    mkdirSync(paths.dir, {mode: PRIVATE_DIR_MODE})
    mkdirSync(paths.rootfs, {mode: PRIVATE_DIR_MODE})
    mkdirSync(paths.exitDir, {mode: PRIVATE_DIR_MODE})
    const userns = (spec.linux?.uidMappings?.length ?? 0) > 0
    const mountpoint = userns ? usernsMountpoint(store.state, paths) : paths.rootfs
    if (snapshot) new SnapshotService(store, ns, container.snapshotter!).mount(container.snapshotKey!, mountpoint, {volatile: options.volatile})
    const rootDir = snapshot ? mountpoint : ownRoot
    checkExecutable(rootDir, spec.process, spec.mounts ?? [], 'OCI runtime create failed')
    const settings = await pinNetwork(rt, id)
    gate = settings && options.gate ? lockNetworkGate(paths.dir) : undefined
    const rendered = renderSpec(template, {rootfs: rootDir})
    writeBundleSpec(paths.dir, gate ? withGateHook(rendered, gate.hook) : rendered)
    // Last, so that nothing after it fails: ADD runs on while the caller starts runc.
    const network = settings ? attachNetwork(rt, id, settings, gate) : Promise.resolve(containerIps(store, ns, id))
    network.catch(() => {}) // the caller awaits it; never an unhandled rejection meanwhile
    return {container, task, paths, spec, runc, network}
  } catch (err) {
    gate?.close(false)
    await abandon(rt, id, instance)
    throw err
  }
}

/** Undo a task that never ran: runc state, mounts, files and the row (no events). */
export async function abandon(rt: TaskRuntime, id: string, instance: string): Promise<void> {
  const paths = taskPaths(rt.store.state, rt.ns, id)
  try {
    await teardown(rt, id)
  } finally {
    removeTree(paths.dir)
    rt.store.tasks.discard(rt.ns, id, instance)
  }
}

export function rootfsMounts(rt: TaskRuntime, container: ContainerRecord): {type: string; source: string; options: string[]}[] {
  if (!container.snapshotter || !container.snapshotKey) return []
  return new SnapshotService(rt.store, rt.ns, container.snapshotter)
    .mounts(container.snapshotKey)
    .map((m) => ({type: m.type, source: m.source, options: [...m.options]}))
}

/** Write `pid` to `path` atomically (temp file + rename), as ctr's --pid-file does. */
export function writePidFile(path: string, pid: number): void {
  const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.pid`)
  writeFileSync(tmp, String(pid))
  renameSync(tmp, path)
}

/**
 * Where `--log-uri` sends a task's output: the file, or a started logging program's streams;
 * `path` is what the task record shows (the file, or the `binary://` program). Undefined without one.
 */
export async function taskOutput(
  log: LogDestination | undefined,
  ns: string,
  id: string,
): Promise<{output: TaskOutput; path: string; release(): void} | undefined> {
  if (log === undefined) return undefined
  if ('file' in log) return {output: {file: log.file}, path: log.file, release: () => {}}
  const program = await startLoggingProgram(log.binary, log.args, ns, id)
  return {output: {streams: [program.stdout, program.stderr]}, path: `binary://${log.binary}`, release: program.release}
}
