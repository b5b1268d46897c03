// Pods without an infra process (seed 004): a pod is a record plus Linux namespaces (net, ipc,
// uts as it shares them) pinned at files under `<state>/pods/<ns>/<id>/`, with its CNI networks
// attached to the pinned netns. Its containers join the pins through their specs' namespace paths.
//
// Status is derived, not remembered: `Stopped` when the pins are gone (after `pods stop` or a
// reboot), `Running` when pinned and a member's task runs, `Created` when pinned with none
// running. Removal order (members, then pins and network, then the record) means a kill -9
// halfway leaves a record that `pods rm` finishes, or pins/attachments without a record that
// `ctr gc` releases.
import {FailedPrecondition, InvalidArgument} from '../errors/index.js'
import {type Filter, objectAdaptor} from '../filters/index.js'
import {checkNetworks, formatPortMapping, podIsUp, podPinPaths, setUpPodSandbox, type StoredNetworkSettings, tearDownPodSandbox} from '../network/index.js'
import {removeContainer} from '../runtime/containers.js'
import {parseSignal, STOP_SIGNAL_LABEL} from '../runtime/signals.js'
import {deleteTask, deleteTaskOfContainer, killTask, refreshTask, startDetached, type TaskRuntime, waitTask} from '../runtime/tasks.js'
import {attachmentIps, type PodRecord, type SharedNamespace, type Store} from '../store/index.js'
import {randomBytes} from '../sys/random.js'
import type {Labels} from '../oci/labels.js'
import {isAlive, isPaused, isStopped, statusFromName, statusName} from '../store/task-state.js'

export type PodStatus = 'Created' | 'Running' | 'Stopped'

/** What `pods create` takes. */
export interface CreatePodOptions {
  readonly name: string
  readonly id?: string
  readonly hostname?: string
  readonly labels?: Labels
  readonly share?: readonly SharedNamespace[]
  /** Default: Berth's bridge network when the pod shares its netns. */
  readonly network?: StoredNetworkSettings
  readonly k8sNamespace?: string
  readonly uid?: string
  readonly attempt?: number
}

/** A member container as a pod shows it. */
export interface PodMemberView {
  ID: string
  Status: string
}

/** `pods inspect` (and, summarised, `pods ls --format json`). */
export interface PodView {
  ID: string
  Name: string
  Status: PodStatus
  Hostname: string
  Labels: Labels
  Share: SharedNamespace[]
  Network: {Mode: string; Networks?: string[]; Ports?: string[]; IPs: string[]}
  K8sNamespace: string
  UID: string
  Attempt: number
  CreatedAt: number
  Pins: Partial<Record<SharedNamespace, string>>
  Containers: PodMemberView[]
}

const SHARES: readonly SharedNamespace[] = ['net', 'ipc', 'uts']

/** Parse `--share net,ipc,uts` (any subset; "" shares nothing). @throws InvalidArgument. */
export function parseShare(text: string): SharedNamespace[] {
  const kinds = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const k of kinds)
    if (!SHARES.includes(k as SharedNamespace)) throw new InvalidArgument(`invalid --share ${JSON.stringify(k)}: want net, ipc or uts`, {suffixKind: true})
  return SHARES.filter((k) => kinds.includes(k))
}

/**
 * Create a pod and bring its namespaces up (pinned, networks attached). Undone on failure.
 * @throws InvalidArgument, AlreadyExists, NotFound (network), FailedPrecondition (CNI).
 */
export async function createPod(store: Store, ns: string, options: CreatePodOptions): Promise<PodRecord> {
  const share = [...(options.share ?? SHARES)]
  let network: StoredNetworkSettings = options.network ?? (share.includes('net') ? {mode: 'cni', networks: ['bridge'], ports: []} : {mode: 'none'})
  if (!share.includes('net') && network.mode !== 'none')
    throw new InvalidArgument('a pod that does not share its network namespace has no network: drop --network and -p', {suffixKind: true})
  if (network.mode === 'host') network = {mode: 'host'}
  checkNetworks(store, network)
  const attempt = options.attempt ?? 0
  if (!Number.isSafeInteger(attempt) || attempt < 0) throw new InvalidArgument(`invalid --attempt ${attempt}`, {suffixKind: true})
  const hostname = options.hostname ?? ''
  if (hostname.length > 64 || /[\s/\0]/.test(hostname)) throw new InvalidArgument(`invalid hostname ${JSON.stringify(hostname)}`, {suffixKind: true})
  const pod = store.pods.create(ns, {
    id: options.id ?? randomBytes(32).toString('hex'),
    name: options.name,
    hostname,
    labels: options.labels ?? {},
    share: network.mode === 'host' ? share.filter((k) => k !== 'net') : share,
    network,
    k8sNamespace: options.k8sNamespace ?? '',
    uid: options.uid ?? '',
    attempt,
  })
  try {
    await setUpPodSandbox(store, ns, pod)
  } catch (err) {
    await tearDownPodSandbox(store, ns, pod.id).catch(() => {})
    store.pods.delete(ns, pod.id)
    throw err
  }
  return pod
}

/** A pod's status from its pins and its members' (reconciled) tasks. */
async function podStatus(rt: TaskRuntime, pod: PodRecord, members: PodMemberView[]): Promise<PodStatus> {
  if (!podIsUp(rt.store.state, rt.ns, pod)) return 'Stopped'
  return members.some((m) => isAlive(statusFromName(m.Status) ?? 'stopped')) ? 'Running' : 'Created'
}

async function memberViews(rt: TaskRuntime, podId: string): Promise<PodMemberView[]> {
  const out: PodMemberView[] = []
  for (const id of rt.store.pods.members(rt.ns, podId)) {
    const found = rt.store.tasks.find(rt.ns, id)
    const t = found && (await refreshTask(rt, found))
    out.push({ID: id, Status: t ? statusName(t) : 'NO TASK'})
  }
  return out
}

/** The full view of a pod. */
export async function podView(rt: TaskRuntime, pod: PodRecord): Promise<PodView> {
  const members = await memberViews(rt, pod.id)
  const ips = rt.store.netAttachments.ofOwner(rt.ns, 'pod', pod.id)
  return {
    ID: pod.id,
    Name: pod.name,
    Status: await podStatus(rt, pod, members),
    Hostname: pod.hostname || pod.name,
    Labels: pod.labels,
    Share: pod.share,
    Network: {
      Mode: pod.network.mode,
      ...(pod.network.networks ? {Networks: pod.network.networks} : {}),
      ...(pod.network.ports && pod.network.ports.length > 0 ? {Ports: pod.network.ports.map(formatPortMapping)} : {}),
      IPs: ips.flatMap(attachmentIps),
    },
    K8sNamespace: pod.k8sNamespace,
    UID: pod.uid,
    Attempt: pod.attempt,
    CreatedAt: pod.createdAt,
    Pins: podPinPaths(rt.store.state, pod, rt.ns),
    Containers: members,
  }
}

/** The pods of the namespace matching `filter` (fields: id, name, status, hostname, network, labels.<k>). */
export async function listPods(rt: TaskRuntime, filter?: Filter): Promise<PodView[]> {
  const views: PodView[] = []
  for (const pod of rt.store.pods.list(rt.ns)) {
    const v = await podView(rt, pod)
    const fields = {
      id: v.ID,
      name: v.Name,
      status: v.Status.toLowerCase(),
      hostname: v.Hostname,
      network: v.Network.Mode,
      labels: v.Labels,
      k8snamespace: v.K8sNamespace,
    }
    if (!filter || filter.match(objectAdaptor(fields, ['labels']))) views.push(v)
  }
  return views
}

/** Resolve a pod by id, name or id prefix. @throws NotFound. */
export function getPod(store: Store, ns: string, ref: string): PodRecord {
  return store.pods.resolve(ns, ref)
}

/**
 * Start a pod: bring its namespaces up (`/pods/start`) and start every member whose task is not
 * running (a stopped task is deleted first, as a restart needs).
 */
export async function startPod(rt: TaskRuntime, ref: string): Promise<PodRecord> {
  const pod = getPod(rt.store, rt.ns, ref)
  if (await setUpPodSandbox(rt.store, rt.ns, pod)) rt.store.pods.event(rt.ns, pod.id, '/pods/start')
  for (const id of rt.store.pods.members(rt.ns, pod.id)) {
    const found = rt.store.tasks.find(rt.ns, id)
    const t = found && (await refreshTask(rt, found))
    if (t && isAlive(t)) continue
    if (t) await deleteTask(rt, id)
    await startDetached(rt, id, {nullIo: false})
  }
  return pod
}

/**
 * Stop a pod: send each running member its stop signal, SIGKILL what still runs after
 * `timeoutMs`, then detach the networks and unpin the namespaces (`/pods/stop`). Stopped tasks
 * stay (their exit statuses) until the pod starts again.
 */
export async function stopPod(rt: TaskRuntime, ref: string, options: {timeoutMs?: number} = {}): Promise<PodRecord> {
  const pod = getPod(rt.store, rt.ns, ref)
  await stopMembers(rt, pod, options.timeoutMs ?? 10_000)
  const wasUp = podIsUp(rt.store.state, rt.ns, pod)
  await tearDownPodSandbox(rt.store, rt.ns, pod.id)
  if (wasUp) rt.store.pods.event(rt.ns, pod.id, '/pods/stop')
  return pod
}

async function stopMembers(rt: TaskRuntime, pod: PodRecord, timeoutMs: number): Promise<void> {
  const running: string[] = []
  for (const id of rt.store.pods.members(rt.ns, pod.id)) {
    const found = rt.store.tasks.find(rt.ns, id)
    const t = found && (await refreshTask(rt, found))
    if (!t || isStopped(t)) continue
    running.push(id)
    const container = rt.store.containers.get(rt.ns, id)
    try {
      if (isPaused(t)) await rt.runc.resume(id)
      await killTask(rt, id, parseSignal(container.labels[STOP_SIGNAL_LABEL] ?? 'SIGTERM'))
    } catch {
      // exited meanwhile
    }
  }
  const deadline = Date.now() + timeoutMs
  await Promise.all(
    running.map(async (id) => {
      try {
        await waitTask(rt, id, {timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 50})
      } catch {
        await rt.runc.kill(id, 9, {all: true}).catch(() => {})
        await waitTask(rt, id, {timeoutMs: 10_000, intervalMs: 20})
      }
    }),
  )
}

/**
 * Remove a pod. With members it is refused unless `force`, which kills and removes them (tasks,
 * records, snapshots), in parallel and while the pod's network and pins go; then the record (`/pods/delete`).
 * @throws FailedPrecondition `pod "<name>" has containers: a, b (use --force)`.
 */
export async function removePod(rt: TaskRuntime, ref: string, options: {force?: boolean} = {}): Promise<PodRecord> {
  const pod = getPod(rt.store, rt.ns, ref)
  const members = rt.store.pods.members(rt.ns, pod.id)
  if (members.length > 0 && !options.force)
    throw new FailedPrecondition(`pod ${JSON.stringify(pod.name)} has containers: ${members.join(', ')} (use --force)`, {suffixKind: true})
  // The pod's CNI DEL and unpinning run while the members are killed and removed, all at once:
  // nothing of the members needs the pod's network on the way out (killed processes keep an
  // unpinned namespace until they are gone). The record goes last, only when all of it worked:
  // killed halfway or failing, the pod stays for a second `pods rm --force` or `ctr gc`.
  const sandbox = tearDownPodSandbox(rt.store, rt.ns, pod.id)
  const removed = await Promise.allSettled([
    sandbox,
    ...members.map(async (id) => {
      await deleteTaskOfContainer(rt, id, {force: true})
      removeContainer(rt.store, rt.ns, id)
    }),
  ])
  const failed = removed.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
  rt.store.pods.delete(rt.ns, pod.id)
  return pod
}

/** Remove every pod of the namespace with its members (`namespaces rm --force`). */
export async function removeAllPods(rt: TaskRuntime): Promise<void> {
  for (const pod of rt.store.pods.list(rt.ns)) await removePod(rt, pod.id, {force: true})
}
