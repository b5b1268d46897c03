// The event vocabulary: every topic Berth publishes and the builder of its payload, in
// containerd's field names and order (api/events/*.proto) with Go's omitempty, as the `ctr` of
// containerd 1.6/1.7 prints them. This table is the product's contract: a writer names a topic and
// gives its typed input, and only the builder here decides the payload's shape. Pure: no I/O.
import {rfc3339Nano, type UnixTime} from './time.js'

export type Labels = Readonly<Record<string, string>>

/** A mount of a task's rootfs (containerd.types.Mount). */
export interface EventMount {
  readonly type: string
  readonly source: string
  readonly target?: string
  readonly options?: readonly string[]
}

/** A task's stdio (TaskIO). */
export interface EventIO {
  readonly stdin?: string
  readonly stdout?: string
  readonly stderr?: string
  readonly terminal?: boolean
}

/**
 * What each topic's writer gives, in JS names. Times are `UnixTime`: a number is unix
 * microseconds (the store's unit), a bigint unix nanoseconds (a file's mtimeNs), so a source with
 * nanoseconds keeps them in the payload.
 */
export interface EventInputs {
  '/namespaces/create': {name: string; labels?: Labels}
  '/namespaces/update': {name: string; labels?: Labels}
  '/namespaces/delete': {name: string}
  '/containers/create': {id: string; image?: string; runtime: {name: string}}
  '/containers/update': {id: string; image?: string; labels?: Labels; snapshotKey?: string}
  '/containers/delete': {id: string}
  '/images/create': {name: string; labels?: Labels}
  '/images/update': {name: string; labels?: Labels}
  '/images/delete': {name: string}
  /** containerd 2.x publishes it (1.7 has none); kept: it is what a watcher of pulls wants. */
  '/content/create': {digest: string; size?: number; mediaType?: string}
  '/content/delete': {digest: string}
  '/snapshot/prepare': {key: string; parent?: string; snapshotter: string}
  '/snapshot/commit': {key: string; name: string; snapshotter: string}
  '/snapshot/remove': {key: string; snapshotter: string}
  /** `ips`: beyond containerd, a networked container's addresses (CNI, its own or its pod's), after containerd's fields. */
  '/tasks/create': {
    containerId: string
    bundle: string
    rootfs?: readonly EventMount[]
    io?: EventIO
    checkpoint?: string
    pid: number
    ips?: readonly string[]
  }
  '/tasks/start': {containerId: string; pid: number}
  /** `id` is the process: the container id for the init process, else the exec id. */
  '/tasks/exit': {containerId: string; id: string; pid: number; exitStatus: number; exitedAt: UnixTime}
  '/tasks/delete': {containerId: string; pid: number; exitStatus?: number; exitedAt?: UnixTime; id: string}
  '/tasks/oom': {containerId: string}
  '/tasks/exec-added': {containerId: string; execId: string}
  '/tasks/exec-started': {containerId: string; execId: string; pid: number}
  '/tasks/paused': {containerId: string}
  '/tasks/resumed': {containerId: string}
  '/tasks/checkpointed': {containerId: string; checkpoint?: string}
  /** Berth's pods, modelled on containerd's sandbox events (which have only `sandbox_id`). */
  '/pods/create': {id: string; name: string; labels?: Labels}
  '/pods/start': {id: string}
  '/pods/stop': {id: string}
  '/pods/delete': {id: string}
}

export type Topic = keyof EventInputs

/** One event as a writer gives it: its topic and that topic's input. */
export type TopicEvent = {[T in Topic]: {readonly topic: T} & EventInputs[T]}[Topic]

/** A built payload: keys in proto order, zero values left out. */
export type Payload = Record<string, unknown>

/**
 * Each topic's builder, as a mapped type so that a topic without one does not compile. A builder
 * lists the proto fields in order; `omitEmpty` then drops the zero values.
 */
const BUILDERS: {readonly [T in Topic]: (e: EventInputs[T]) => Payload} = {
  '/namespaces/create': (e) => ({name: e.name, labels: e.labels}),
  '/namespaces/update': (e) => ({name: e.name, labels: e.labels}),
  '/namespaces/delete': (e) => ({name: e.name}),
  '/containers/create': (e) => ({id: e.id, image: e.image, runtime: {name: e.runtime.name}}),
  '/containers/update': (e) => ({id: e.id, image: e.image, labels: e.labels, snapshot_key: e.snapshotKey}),
  '/containers/delete': (e) => ({id: e.id}),
  '/images/create': (e) => ({name: e.name, labels: e.labels}),
  '/images/update': (e) => ({name: e.name, labels: e.labels}),
  '/images/delete': (e) => ({name: e.name}),
  '/content/create': (e) => ({digest: e.digest, size: e.size, mediaType: e.mediaType}),
  '/content/delete': (e) => ({digest: e.digest}),
  '/snapshot/prepare': (e) => ({key: e.key, parent: e.parent, snapshotter: e.snapshotter}),
  '/snapshot/commit': (e) => ({key: e.key, name: e.name, snapshotter: e.snapshotter}),
  '/snapshot/remove': (e) => ({key: e.key, snapshotter: e.snapshotter}),
  '/tasks/create': (e) => ({
    container_id: e.containerId,
    bundle: e.bundle,
    rootfs: e.rootfs?.map((m) => ({type: m.type, source: m.source, target: m.target, options: m.options})),
    io: e.io && {stdin: e.io.stdin, stdout: e.io.stdout, stderr: e.io.stderr, terminal: e.io.terminal},
    checkpoint: e.checkpoint,
    pid: e.pid,
    ips: e.ips && e.ips.length > 0 ? [...e.ips] : undefined,
  }),
  '/tasks/start': (e) => ({container_id: e.containerId, pid: e.pid}),
  '/tasks/exit': (e) => ({container_id: e.containerId, id: e.id, pid: e.pid, exit_status: e.exitStatus, exited_at: rfc3339Nano(e.exitedAt)}),
  '/tasks/delete': (e) => ({
    container_id: e.containerId,
    pid: e.pid,
    exit_status: e.exitStatus,
    exited_at: e.exitedAt === undefined ? undefined : rfc3339Nano(e.exitedAt),
    id: e.id,
  }),
  '/tasks/oom': (e) => ({container_id: e.containerId}),
  '/tasks/exec-added': (e) => ({container_id: e.containerId, exec_id: e.execId}),
  '/tasks/exec-started': (e) => ({container_id: e.containerId, exec_id: e.execId, pid: e.pid}),
  '/tasks/paused': (e) => ({container_id: e.containerId}),
  '/tasks/resumed': (e) => ({container_id: e.containerId}),
  '/tasks/checkpointed': (e) => ({container_id: e.containerId, checkpoint: e.checkpoint}),
  '/pods/create': (e) => ({id: e.id, name: e.name, labels: e.labels}),
  '/pods/start': (e) => ({id: e.id}),
  '/pods/stop': (e) => ({id: e.id}),
  '/pods/delete': (e) => ({id: e.id}),
}

/** Every topic Berth publishes, in the table's order. */
export const TOPICS: readonly Topic[] = Object.keys(BUILDERS) as Topic[]

/** True when `topic` is one of the vocabulary's. */
export function isTopic(topic: string): topic is Topic {
  return Object.hasOwn(BUILDERS, topic)
}

/** The payload of one event: the topic's builder, then Go's omitempty. */
export function eventPayload(event: TopicEvent): Payload {
  const build = BUILDERS[event.topic] as (e: TopicEvent) => Payload
  return (omitEmpty(build(event)) ?? {}) as Payload
}

/**
 * Go's `omitempty` over the built value: undefined, 0, '', false, empty lists and empty maps are
 * left out, at every level. (A nested message whose fields are all unset goes too: Berth never
 * sends one, and containerd's would print `{}`, which says nothing either.)
 */
function omitEmpty(value: unknown): unknown {
  if (Array.isArray(value)) {
    // Elements are kept as they are (Go omits empty lists, not empty elements); messages in a
    // list lose their own empty fields.
    if (value.length === 0) return undefined
    return value.map((v) => (v !== null && typeof v === 'object' ? (omitEmpty(v) ?? {}) : v))
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      const kept = omitEmpty(v)
      if (kept !== undefined) out[k] = kept
    }
    return Object.keys(out).length === 0 ? undefined : out
  }
  return value === 0 || value === '' || value === false ? undefined : value
}
