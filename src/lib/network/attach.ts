// The life of a pinned network namespace and its CNI attachments, for a networked container
// (`<state>/netns/<ns>/<id>`) and for a pod (`<state>/pods/<ns>/<id>/{net,ipc,uts}`).
//
// Order, so that a kill -9 anywhere leaves something GC can find: pin, then per network the
// attachment row (with the config used), then CNI ADD, then its result; tear-down runs DEL from
// the row's own config (no flags needed: conmon's exit command has none), deletes the row, and
// unpins last. Every step tolerates having been done already.
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {
  acquireLock,
  attachmentIps,
  containerNetnsPath,
  netnsDir,
  type NetAttachment,
  type NetworkSettings,
  podDir,
  podsDir,
  type PodRecord,
  type Store,
} from '../store/index.js'
import {cniAdd, cniDel, type NetConfList} from './cni.js'
import {ensureMasquerade, masqueradeOf} from './masquerade.js'
import {cniPaths, type CniPaths, resolveNetwork} from './networks.js'
import {isPinned, pinNamespaces, pinsUnder, unpin} from './pins.js'

/** Who owns a pinned namespace. */
export interface NetOwner {
  readonly ns: string
  readonly kind: 'container' | 'pod'
  readonly id: string
}

export {containerNetnsPath, podDir} from '../store/index.js'

/** The pin files of a pod, for the namespaces it shares. */
export function podPinPaths(state: string, pod: Pick<PodRecord, 'id' | 'share'>, ns: string): {net?: string; ipc?: string; uts?: string} {
  const dir = podDir(state, ns, pod.id)
  return Object.fromEntries(pod.share.map((k) => [k, join(dir, k)]))
}

/** The CNI paths of a store, with per-call overrides (`--cni-path`, `--cni-netconfpath`). */
export function storeCniPaths(store: Store, settings?: {cniPath?: string[]; netconfPath?: string}): CniPaths {
  return cniPaths(store.root, store.state, {binDirs: settings?.cniPath ?? store.config.cni.binDirs, confDir: settings?.netconfPath ?? store.config.cni.confDir})
}

/** The boot this machine runs (attachments of another boot are gone with their namespaces). */
export function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim()
  } catch {
    return 'unknown'
  }
}

/** CNI_CONTAINERID of an owner: unique per store (state dir), namespace, kind and id. */
async function cniContainerId(state: string, owner: NetOwner): Promise<string> {
  const {createHash} = await import('node:crypto') // only networked starts pay for it
  return `berth-${createHash('sha256').update(`${state}\0${owner.ns}\0${owner.kind}\0${owner.id}`).digest('hex').slice(0, 32)}`
}

/** Settings with the CNI directories chosen at create time. */
export type StoredNetworkSettings = NetworkSettings & {cniPath?: string[]; netconfPath?: string}

/**
 * Resolve the networks an owner asks for, before anything is created: a missing or malformed
 * network fails a create, not a later start. @throws NotFound, InvalidArgument, FailedPrecondition.
 */
export function checkNetworks(store: Store, settings: StoredNetworkSettings): void {
  if (settings.mode !== 'cni') return
  const paths = storeCniPaths(store, settings)
  for (const name of settings.networks ?? []) masqueradeOf(resolveNetwork(name, paths, store.state))
}

/**
 * Attach `netns` to each of the settings' networks (eth0, eth1, ...). On failure what was attached
 * is detached again and the error thrown.
 */
export async function attachNetworks(store: Store, owner: NetOwner, netns: string, settings: StoredNetworkSettings): Promise<NetAttachment[]> {
  const paths = storeCniPaths(store, settings)
  const cniId = await cniContainerId(store.state, owner)
  const boot = bootId()
  const networks = settings.networks ?? []
  const lists: NetConfList[] = networks.map((name) => resolveNetwork(name, paths, store.state))
  try {
    for (const [i, full] of lists.entries()) {
      const ifname = `eth${i}`
      const ports = i === 0 ? (settings.ports ?? []) : []
      // With nothing to publish, plugins that only map ports (portmap) are left out of ADD and,
      // since DEL reads the stored list, of DEL too: portmap's DEL costs iptables calls even then.
      const list =
        ports.length > 0 ? full : {...full, plugins: full.plugins.filter((p) => !(p['capabilities'] as Record<string, boolean> | undefined)?.['portMappings'])}
      store.netAttachments.begin({
        cniId,
        network: list.name,
        namespace: owner.ns,
        ownerKind: owner.kind,
        ownerId: owner.id,
        ifname,
        netns,
        config: JSON.stringify(list),
        cniPath: paths.binDirs.join(':'),
        ports,
        bootId: boot,
      })
      // The network's masquerade (at most one iptables -C when it is there) runs beside ADD.
      const masquerade = masqueradeOf(list)
      // Both settle before a failure is thrown: the detach below must not race a running ADD.
      const [added, masqueraded] = await Promise.allSettled([
        cniAdd(list, {containerId: cniId, netns, ifname, cniPath: paths.binDirs, ports}),
        masquerade && ensureMasquerade(store.state, masquerade),
      ])
      if (added.status === 'rejected') throw added.reason
      if (masqueraded.status === 'rejected') throw masqueraded.reason
      const result = added.value
      store.netAttachments.complete(cniId, list.name, result)
    }
  } catch (err) {
    await detachNetworks(store, owner).catch(() => {})
    throw err
  }
  return store.netAttachments.ofOwner(owner.ns, owner.kind, owner.id)
}

/** CNI DEL of one attachment from its stored config, then its row. */
async function releaseAttachment(store: Store, a: NetAttachment): Promise<void> {
  if (a.bootId === bootId()) {
    const list = JSON.parse(a.config) as NetConfList
    await cniDel(list, {containerId: a.cniId, netns: a.netns, ifname: a.ifname, cniPath: a.cniPath.split(':'), ports: a.ports}, a.result)
  }
  store.netAttachments.remove(a.cniId, a.network)
}

/** DEL every attachment of `owner`, last added first. Throws the first failure after trying all. */
export async function detachNetworks(store: Store, owner: NetOwner): Promise<void> {
  let first: unknown
  for (const a of store.netAttachments.ofOwner(owner.ns, owner.kind, owner.id).reverse()) {
    try {
      await releaseAttachment(store, a)
    } catch (err) {
      first ??= err
    }
  }
  if (first) throw first
}

// --- containers ---

/** The addresses a container has: its own attachments', or its pod's. */
export function containerIps(store: Store, ns: string, id: string): string[] {
  const podId = store.pods.containerMeta(ns, id)?.podId
  const rows = podId !== undefined ? store.netAttachments.ofOwner(ns, 'pod', podId) : store.netAttachments.ofOwner(ns, 'container', id)
  return rows.flatMap(attachmentIps)
}

/**
 * Pin a networked container's netns (leftovers of an earlier run are released first). Returns the
 * pin's path: runc can join it now; {@link attachContainerNetwork} fills it, meanwhile.
 */
export async function pinContainerNetns(store: Store, ns: string, id: string): Promise<string> {
  const netns = containerNetnsPath(store.state, ns, id)
  await tearDownContainerNetwork(store, ns, id)
  pinNamespaces({net: netns})
  return netns
}

/**
 * Attach a container's pinned netns to its networks (CNI ADD). On failure what was attached is
 * detached again and the error thrown; the pin stays for the caller's tear-down.
 */
export async function attachContainerNetwork(store: Store, ns: string, id: string, settings: StoredNetworkSettings): Promise<void> {
  await attachNetworks(store, {ns, kind: 'container', id}, containerNetnsPath(store.state, ns, id), settings)
}

/** Whether the container has a network of its own to tear down: attachments, or its netns pin. */
export function hasContainerNetwork(store: Store, ns: string, id: string): boolean {
  return store.netAttachments.ofOwner(ns, 'container', id).length > 0 || isPinned(containerNetnsPath(store.state, ns, id))
}

/** Detach a container's networks and unpin its netns; nothing to do is fine. */
export async function tearDownContainerNetwork(store: Store, ns: string, id: string): Promise<void> {
  try {
    await detachNetworks(store, {ns, kind: 'container', id})
  } finally {
    unpin(containerNetnsPath(store.state, ns, id))
  }
}

// --- pods ---

/** Whether the pod's namespaces are pinned (the pod is up). */
export function podIsUp(state: string, ns: string, pod: Pick<PodRecord, 'id' | 'share'>): boolean {
  const pins = Object.values(podPinPaths(state, pod, ns))
  return pins.length === 0 ? existsSync(podDir(state, ns, pod.id)) : pins.every((p) => isPinned(p))
}

/** Run `fn` under the pod's lock: two members starting at once must not both pin the pod. */
async function withPodLock<T>(store: Store, ns: string, podId: string, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(store.state, `pod.${ns}.${podId}`)
  try {
    return await fn()
  } finally {
    lock.release()
  }
}

/**
 * Bring a pod's namespaces up: pin them (hostname set, loopback up) and attach the pod's
 * networks. Nothing to do when they are up; a partial leftover is torn down first.
 * Returns whether it had to bring them up.
 */
export async function setUpPodSandbox(store: Store, ns: string, pod: PodRecord): Promise<boolean> {
  if (podIsUp(store.state, ns, pod)) return false
  return withPodLock(store, ns, pod.id, async () => {
    if (podIsUp(store.state, ns, pod)) return false // brought up meanwhile
    await releasePodSandbox(store, ns, pod.id)
    const pins = podPinPaths(store.state, pod, ns)
    mkdirSync(podDir(store.state, ns, pod.id), {recursive: true, mode: 0o711}) // marks a pod sharing nothing as up
    pinNamespaces(pins, {hostname: pod.hostname || pod.name})
    try {
      if (pins.net && pod.network.mode === 'cni') await attachNetworks(store, {ns, kind: 'pod', id: pod.id}, pins.net, pod.network)
    } catch (err) {
      for (const p of Object.values(pins)) unpin(p)
      throw err
    }
    return true
  })
}

/** Detach a pod's networks and unpin its namespaces (its containers must be gone from them). */
export async function tearDownPodSandbox(store: Store, ns: string, podId: string): Promise<void> {
  await withPodLock(store, ns, podId, () => releasePodSandbox(store, ns, podId))
}

async function releasePodSandbox(store: Store, ns: string, podId: string): Promise<void> {
  try {
    await detachNetworks(store, {ns, kind: 'pod', id: podId})
  } finally {
    const dir = podDir(store.state, ns, podId)
    for (const pin of pinsUnder(dir)) unpin(pin)
    rmSync(dir, {recursive: true, force: true})
  }
}

// --- garbage ---

/** What the sweep released. */
export interface NetSweepReport {
  attachments: string[]
  pins: string[]
  reservations: string[]
}

/**
 * Release what no live owner holds: attachments of another boot, of containers whose task is not
 * live (`taskLive`), of pods that no longer exist; pins nobody owns; host-local reservations of the
 * default network that no attachment row names. Owners being started or stopped right now (their
 * task lock is held) are left alone.
 */
export async function sweepNetworks(store: Store, taskLive: (ns: string, id: string) => boolean): Promise<NetSweepReport> {
  const report: NetSweepReport = {attachments: [], pins: [], reservations: []}
  const boot = bootId()
  const busy = async (ns: string, id: string, fn: () => Promise<void>) => {
    let lock
    try {
      lock = await acquireLock(store.state, `task.${ns}.${id}`, {timeoutMs: 0})
    } catch {
      return // its start, cleanup or delete is running
    }
    try {
      await fn()
    } finally {
      lock.release()
    }
  }
  for (const a of store.netAttachments.all()) {
    const stale = a.bootId !== boot || (a.ownerKind === 'container' ? !taskLive(a.namespace, a.ownerId) : !store.pods.find(a.namespace, a.ownerId))
    if (!stale) continue
    const release = async () => {
      await releaseAttachment(store, a).catch(() => store.netAttachments.remove(a.cniId, a.network))
      report.attachments.push(`${a.namespace}/${a.ownerKind}/${a.ownerId}/${a.network}`)
    }
    if (a.ownerKind === 'container') await busy(a.namespace, a.ownerId, release)
    else await release()
  }
  // Pins of containers without a live task, and of pods that are gone.
  const netnsRoot = netnsDir(store.state)
  for (const pin of pinsUnder(netnsRoot)) {
    const [ns, id] = pin.slice(netnsRoot.length + 1).split('/')
    if (!ns || !id || taskLive(ns, id)) continue
    await busy(ns, id, async () => {
      if (store.netAttachments.ofOwner(ns, 'container', id).length > 0) return
      unpin(pin)
      report.pins.push(pin)
    })
  }
  const podsRoot = podsDir(store.state)
  for (const pin of pinsUnder(podsRoot)) {
    const [ns, id] = pin.slice(podsRoot.length + 1).split('/')
    if (!ns || !id || store.pods.find(ns, id)) continue
    unpin(pin)
    report.pins.push(pin)
  }
  for (const ns of safeReaddir(podsRoot)) {
    for (const id of safeReaddir(join(podsRoot, ns))) {
      if (store.pods.find(ns, id)) continue
      try {
        rmSync(join(podsRoot, ns, id), {recursive: true, force: true})
      } catch {
        // a pin that would not go: the next sweep tries again
      }
    }
  }
  // host-local reservations: files named by address holding the CNI container id.
  const live = new Set(store.netAttachments.all().map((a) => a.cniId))
  const ipamDir = storeCniPaths(store).ipamDir
  for (const network of safeReaddir(ipamDir)) {
    for (const name of safeReaddir(join(ipamDir, network))) {
      if (!/^[0-9a-f.:]+$/i.test(name) || !/[.:]/.test(name)) continue
      const file = join(ipamDir, network, name)
      let owner = ''
      try {
        owner = readFileSync(file, 'latin1').split(/\r?\n/)[0].trim()
      } catch {
        continue
      }
      // Re-read on a miss: an ADD may have begun (row first, then its reservation) meanwhile.
      if (live.has(owner) || store.netAttachments.all().some((a) => a.cniId === owner)) continue
      rmSync(file, {force: true})
      report.reservations.push(`${network}/${name}`)
    }
  }
  return report
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
