// A pod as a Kubernetes Pod manifest (v1): name, namespace and labels; hostname or hostNetwork;
// per member its name, image, command, env, working dir and resource limits, read from the
// member's spec template; the pod's published ports on its first container. Only fields of the
// official schema are written (nothing Berth-specific), so the manifest validates offline.
import {createRequire} from 'node:module'
import {AlreadyExists, InvalidArgument} from '../errors/index.js'
import {parseReference} from '../oci/index.js'
import type {Labels} from '../oci/labels.js'
import type {RuntimeSpec} from '../runtime/oci-spec.js'
import {containerSpec, createContainer} from '../runtime/containers.js'
import {CPU_PERIOD} from '../runtime/spec.js'
import {startDetached, type TaskRuntime} from '../runtime/tasks.js'
import type {PodRecord, PortMapping, Store} from '../store/index.js'
import {createPod, removePod} from './index.js'
import {parseYaml, toYaml} from './yaml.js'
// The official schema's types (type-only: nothing is loaded at run time for them), so that the
// compiler refuses any field a Pod manifest does not have.
import type {IObjectMeta} from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta'
import type {IContainer} from 'kubernetes-models/v1/Container'
import type {IPod} from 'kubernetes-models/v1/Pod'
import type {IPodSpec} from 'kubernetes-models/v1/PodSpec'

export {toYaml}

/** The Pod manifest of `pod` as a plain object (keys in kubectl's order). */
export function kubePod(store: Store, ns: string, pod: PodRecord): IPod {
  const containers: IContainer[] = store.pods.members(ns, pod.id).map((id) => {
    const record = store.containers.get(ns, id)
    const spec = JSON.parse(containerSpec(store, ns, id)) as RuntimeSpec
    const c: IContainer = {name: id, image: record.image}
    const args = spec.process?.args ?? []
    if (args.length > 0) c.command = [...args]
    const env = (spec.process?.env ?? []).map((e) => {
      const eq = e.indexOf('=')
      return eq < 0 ? {name: e, value: ''} : {name: e.slice(0, eq), value: e.slice(eq + 1)}
    })
    if (env.length > 0) c.env = env
    if (spec.process?.cwd && spec.process.cwd !== '/') c.workingDir = spec.process.cwd
    const limits: Record<string, string> = {}
    const memory = spec.linux?.resources?.memory?.limit
    if (memory && memory > 0) limits['memory'] = String(memory)
    const cpu = spec.linux?.resources?.cpu
    if (cpu?.quota && cpu.quota > 0) limits['cpu'] = `${Math.round((cpu.quota * 1000) / (cpu.period ?? CPU_PERIOD))}m`
    if (Object.keys(limits).length > 0) c.resources = {limits}
    if (spec.process?.terminal) c.tty = true
    return c
  })
  const ports = pod.network.ports ?? []
  if (ports.length > 0 && containers[0]) {
    containers[0].ports = ports.map((p) => ({
      containerPort: p.containerPort,
      hostPort: p.hostPort,
      ...(p.hostIP ? {hostIP: p.hostIP} : {}),
      protocol: p.protocol === 'udp' ? 'UDP' : 'TCP',
    }))
  }
  const metadata: IObjectMeta = {name: pod.name}
  if (pod.k8sNamespace) metadata.namespace = pod.k8sNamespace
  if (Object.keys(pod.labels).length > 0) metadata.labels = {...pod.labels}
  const spec: IPodSpec = {containers}
  if (pod.network.mode === 'host') spec.hostNetwork = true
  if (pod.hostname) spec.hostname = pod.hostname
  return {apiVersion: 'v1', kind: 'Pod', metadata, spec}
}

// --- play ---

/** How `pods play-kube` runs. */
export interface PlayKubeOptions {
  /** The snapshotter of the members. */
  readonly snapshotter: string
  /** Pull a missing image with these registry options (the image stays in the namespace). */
  readonly pull: (ref: string) => Promise<void>
}

const POD_KEYS = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status'])
const META_KEYS = new Set(['name', 'namespace', 'labels', 'uid', 'annotations', 'creationTimestamp'])
const SPEC_KEYS = new Set(['containers', 'hostname', 'hostNetwork', 'restartPolicy'])
const CONTAINER_KEYS = new Set(['name', 'image', 'command', 'args', 'env', 'workingDir', 'ports', 'resources', 'tty', 'imagePullPolicy', 'stdin'])

const refuse = (what: string): never => {
  throw new InvalidArgument(`play-kube: ${what}`, {suffixKind: true})
}

function only(obj: Record<string, unknown>, allowed: Set<string>, where: string): void {
  for (const k of Object.keys(obj)) if (!allowed.has(k)) refuse(`${where}.${k} is not supported`)
}

const asMap = (v: unknown, where: string): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : refuse(`${where} must be a map`)
const asStrings = (v: unknown, where: string): string[] =>
  Array.isArray(v) && v.every((s) => typeof s === 'string' || typeof s === 'number') ? v.map(String) : refuse(`${where} must be a list of strings`)

/** A memory quantity in bytes (`128Mi`, `1G`, `1048576`). */
export function parseMemoryQuantity(q: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(q)
  if (!m) return refuse(`memory limit ${JSON.stringify(q)} is not a quantity Berth understands`)
  const unit: Record<string, number> = {'': 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, M: 1e6, G: 1e9, T: 1e12}
  return Number(m[1]) * unit[m[2] ?? '']
}

/** A CPU quantity in CPUs (`500m`, `2`, `0.5`). */
export function parseCpuQuantity(q: string): number {
  const m = /^(\d+)m$/.exec(q)
  if (m) return Number(m[1]) / 1000
  if (/^\d+(\.\d+)?$/.test(q)) return Number(q)
  return refuse(`cpu limit ${JSON.stringify(q)} is not a quantity Berth understands`)
}

/** What a manifest asks for, checked: the pod options and each member's create options. */
export interface KubePlan {
  pod: {name: string; k8sNamespace?: string; labels: Labels; hostname?: string; hostNetwork: boolean; ports: PortMapping[]}
  containers: {
    name: string
    image: string
    args?: string[]
    keepEntrypoint: boolean
    env: string[]
    cwd?: string
    memoryLimit?: number
    cpus?: number
    tty: boolean
  }[]
}

type PodModule = typeof import('kubernetes-models/v1/Pod')

/**
 * Check `doc` against the official v1 Pod schema (kubernetes-models' compiled validator, offline).
 * Loaded on first use (about 250 ms): only `pods play-kube` reads manifests.
 * @throws InvalidArgument naming the first field the schema refuses (`spec.containers[0].ports[0].containerPort must be integer`)
 */
export function validatePodSchema(doc: Record<string, unknown>): void {
  const {Pod} = createRequire(import.meta.url)('kubernetes-models/v1/Pod') as PodModule
  try {
    new Pod(doc).validate()
  } catch (err) {
    const message = firstSchemaError(err)
    refuse(`the manifest does not match the Kubernetes v1 Pod schema: ${message}`)
  }
}

/** ajv's first error as a field path (`data/spec/containers/0/image must be string` → `spec.containers[0].image must be string`). */
function firstSchemaError(err: unknown): string {
  const first = ((err as Error).message ?? String(err)).split(/\n|, (?=data)/)[0].trim()
  return first
    .replace(/^data\/?/, '')
    .replace(/^(\S*)/, (path) =>
      path
        .split('/')
        .filter(Boolean)
        .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
        .join(''),
    )
    .replace(/^ /, 'the manifest ')
}

/** Read and check a Pod manifest. @throws InvalidArgument for what Berth cannot honour. */
export function planKube(text: string): KubePlan {
  const doc = asMap(parseYaml(text), 'the manifest')
  if (doc['kind'] !== 'Pod') refuse(`kind ${JSON.stringify(doc['kind'])} is not supported; only Pod`)
  if (doc['apiVersion'] !== 'v1') refuse(`apiVersion ${JSON.stringify(doc['apiVersion'])} is not supported; only v1`)
  validatePodSchema(doc)
  only(doc, POD_KEYS, 'manifest')
  const meta = asMap(doc['metadata'], 'metadata')
  only(meta, META_KEYS, 'metadata')
  if (typeof meta['name'] !== 'string') refuse('metadata.name is required')
  const spec = asMap(doc['spec'], 'spec')
  only(spec, SPEC_KEYS, 'spec')
  const labels = Object.fromEntries(Object.entries(asMap(meta['labels'] ?? {}, 'metadata.labels')).map(([k, v]) => [k, String(v)]))
  const ports: PortMapping[] = []
  const list = spec['containers']
  if (!Array.isArray(list) || list.length === 0) refuse('spec.containers must list at least one container')
  const containers = (list as unknown[]).map((item, i) => {
    const c = asMap(item, `spec.containers[${i}]`)
    only(c, CONTAINER_KEYS, `spec.containers[${i}]`)
    if (typeof c['name'] !== 'string' || typeof c['image'] !== 'string') refuse(`spec.containers[${i}] needs a name and an image`)
    const command = c['command'] === undefined ? undefined : asStrings(c['command'], `spec.containers[${i}].command`)
    const args = c['args'] === undefined ? undefined : asStrings(c['args'], `spec.containers[${i}].args`)
    const env = ((c['env'] ?? []) as unknown[]).map((e, j) => {
      const entry = asMap(e, `spec.containers[${i}].env[${j}]`)
      if (entry['valueFrom'] !== undefined) refuse(`spec.containers[${i}].env[${j}].valueFrom is not supported`)
      return `${String(entry['name'])}=${entry['value'] === undefined || entry['value'] === null ? '' : String(entry['value'])}`
    })
    for (const [j, p] of ((c['ports'] ?? []) as unknown[]).entries()) {
      const port = asMap(p, `spec.containers[${i}].ports[${j}]`)
      if (port['hostPort'] === undefined) continue // reachable inside the pod anyway
      const protocol = String(port['protocol'] ?? 'TCP').toLowerCase()
      if (protocol !== 'tcp' && protocol !== 'udp') refuse(`protocol ${JSON.stringify(port['protocol'])} is not supported`)
      ports.push({
        ...(port['hostIP'] ? {hostIP: String(port['hostIP'])} : {}),
        hostPort: Number(port['hostPort']),
        containerPort: Number(port['containerPort']),
        protocol: protocol as 'tcp' | 'udp',
      })
    }
    const limits = asMap(asMap(c['resources'] ?? {}, `spec.containers[${i}].resources`)['limits'] ?? {}, `spec.containers[${i}].resources.limits`)
    for (const k of Object.keys(limits)) if (k !== 'memory' && k !== 'cpu') refuse(`resource limit ${JSON.stringify(k)} is not supported`)
    return {
      name: c['name'] as string,
      image: c['image'] as string,
      ...(command ? {args: [...command, ...(args ?? [])]} : args ? {args} : {}),
      keepEntrypoint: !command && !!args,
      env,
      ...(typeof c['workingDir'] === 'string' ? {cwd: c['workingDir']} : {}),
      ...(limits['memory'] !== undefined ? {memoryLimit: parseMemoryQuantity(String(limits['memory']))} : {}),
      ...(limits['cpu'] !== undefined ? {cpus: parseCpuQuantity(String(limits['cpu']))} : {}),
      tty: c['tty'] === true,
    }
  })
  return {
    pod: {
      name: meta['name'] as string,
      ...(typeof meta['namespace'] === 'string' ? {k8sNamespace: meta['namespace']} : {}),
      labels,
      ...(typeof spec['hostname'] === 'string' ? {hostname: spec['hostname']} : {}),
      hostNetwork: spec['hostNetwork'] === true,
      ports,
    },
    containers,
  }
}

/**
 * Create and start the pod a manifest describes: the pod (its hostPorts published), then each
 * container (its image pulled if missing) created in it and started. Everything made is removed
 * again if a step fails. Returns the pod.
 */
export async function playKube(rt: TaskRuntime, text: string, options: PlayKubeOptions): Promise<PodRecord> {
  const plan = planKube(text)
  const {store, ns} = rt
  for (const c of plan.containers) {
    if (store.containers.find(ns, c.name) || store.pods.find(ns, c.name)) throw new AlreadyExists(`container ${JSON.stringify(c.name)}`, {suffixKind: true})
  }
  const pod = await createPod(store, ns, {
    name: plan.pod.name,
    ...(plan.pod.hostname ? {hostname: plan.pod.hostname} : {}),
    labels: plan.pod.labels,
    ...(plan.pod.k8sNamespace ? {k8sNamespace: plan.pod.k8sNamespace} : {}),
    network: plan.pod.hostNetwork ? {mode: 'host'} : {mode: 'cni', networks: ['bridge'], ports: plan.pod.ports},
  })
  try {
    for (const c of plan.containers) {
      const image = parseReference(c.image).toString()
      if (!store.images.list(ns).some((i) => i.name === image)) await options.pull(image)
      await createContainer(store, {
        namespace: ns,
        id: c.name,
        image,
        snapshotter: options.snapshotter,
        pod: pod.id,
        spec: {
          ...(c.args ? {args: c.args} : {}),
          keepEntrypoint: c.keepEntrypoint,
          env: c.env,
          ...(c.cwd ? {cwd: c.cwd} : {}),
          ...(c.memoryLimit ? {memoryLimit: c.memoryLimit} : {}),
          ...(c.cpus ? {cpus: c.cpus} : {}),
          tty: c.tty,
        },
      })
    }
    for (const c of plan.containers) await startDetached(rt, c.name, {})
  } catch (err) {
    await removePod(rt, pod.id, {force: true}).catch(() => {})
    throw err
  }
  return pod
}
