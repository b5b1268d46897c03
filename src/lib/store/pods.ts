// Pod records and the per-container extras (pod membership, networks, seed 004's metadata). Pod
// ids and container ids are disjoint and pod names are unique per namespace; every pod change
// appends its `/pods/*` event in the same transaction.
import type {Database} from 'better-sqlite3'
import {AlreadyExists, FailedPrecondition, InvalidArgument, NotFound} from '../errors/index.js'
import {validateIdentifier} from '../oci/identifiers.js'
import {type Labels, sortedLabels, validateLabels} from '../oci/labels.js'
import {appendEvent, nowMicros, type Retention} from './event-log.js'
import type {NamespaceStore} from './namespaces.js'

/** Which namespaces a pod's containers share. */
export type SharedNamespace = 'net' | 'ipc' | 'uts'

/** One published port: `[IP:]HOSTPORT:CTRPORT[/tcp|udp]`, in the portmap plugin's words. */
export interface PortMapping {
  hostIP?: string
  hostPort: number
  containerPort: number
  protocol: 'tcp' | 'udp'
}

/**
 * How a container or pod is networked. `none`: a private netns with loopback only (ctr's default);
 * `host`: the host's; `cni`: the named CNI networks (`bridge` is Berth's default network), in a
 * netns pinned at a file; `pod`: the pod's (members only).
 */
export interface NetworkSettings {
  mode: 'none' | 'host' | 'cni' | 'pod'
  networks?: string[]
  ports?: PortMapping[]
}

/** A pod as stored. Times are unix microseconds. */
export interface PodRecord {
  id: string
  name: string
  hostname: string
  labels: Labels
  share: SharedNamespace[]
  network: NetworkSettings
  k8sNamespace: string
  uid: string
  attempt: number
  createdAt: number
  updatedAt: number
}

export type PodInput = Omit<PodRecord, 'createdAt' | 'updatedAt'>

/** What Berth keeps beside a container record. */
export interface ContainerMeta {
  podId?: string
  network: NetworkSettings
  /** Seed 004's RuntimeContainerMetadata (pod-name, pod-id, image-name, image-id, name, metadata-name, attempt, created-at, ...). */
  metadata: Record<string, unknown>
}

interface PodRow {
  id: string
  name: string
  hostname: string
  labels: string
  share: string
  network: string
  k8s_namespace: string
  uid: string
  attempt: number
  created_at: number
  updated_at: number
}

const POD_COLUMNS = 'id, name, hostname, labels, share, network, k8s_namespace, uid, attempt, created_at, updated_at'

const toPod = (r: PodRow): PodRecord => ({
  id: r.id,
  name: r.name,
  hostname: r.hostname,
  labels: JSON.parse(r.labels) as Labels,
  share: JSON.parse(r.share) as SharedNamespace[],
  network: JSON.parse(r.network) as NetworkSettings,
  k8sNamespace: r.k8s_namespace,
  uid: r.uid,
  attempt: r.attempt,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

/** Pod and container-extras operations over one open database. */
export class PodStore {
  constructor(
    private readonly db: Database,
    private readonly retention: Retention,
    private readonly namespaces: NamespaceStore,
  ) {}

  find(ns: string, id: string): PodRecord | undefined {
    const row = this.db.prepare(`SELECT ${POD_COLUMNS} FROM pods WHERE namespace = ? AND id = ?`).get(ns, id) as PodRow | undefined
    return row && toPod(row)
  }

  /**
   * A pod by id, name or unique id prefix (as podman resolves them).
   * @throws NotFound `pod "<ref>": not found`, InvalidArgument for an ambiguous prefix.
   */
  resolve(ns: string, ref: string): PodRecord {
    const exact = this.find(ns, ref) ?? this.findByName(ns, ref)
    if (exact) return exact
    if (ref.length >= 3) {
      const rows = this.db.prepare(`SELECT ${POD_COLUMNS} FROM pods WHERE namespace = ? AND substr(id, 1, ?) = ?`).all(ns, ref.length, ref) as PodRow[]
      if (rows.length === 1) return toPod(rows[0])
      if (rows.length > 1) throw new InvalidArgument(`pod ${JSON.stringify(ref)}: more than one pod matches`, {suffixKind: true})
    }
    throw new NotFound(`pod ${JSON.stringify(ref)}`, {suffixKind: true})
  }

  findByName(ns: string, name: string): PodRecord | undefined {
    const row = this.db.prepare(`SELECT ${POD_COLUMNS} FROM pods WHERE namespace = ? AND name = ?`).get(ns, name) as PodRow | undefined
    return row && toPod(row)
  }

  /** Every pod of the namespace, by name. */
  list(ns: string): PodRecord[] {
    return (this.db.prepare(`SELECT ${POD_COLUMNS} FROM pods WHERE namespace = ? ORDER BY name`).all(ns) as PodRow[]).map(toPod)
  }

  /** Every pod of every namespace (GC). */
  listAll(): (PodRecord & {namespace: string})[] {
    return (this.db.prepare(`SELECT namespace, ${POD_COLUMNS} FROM pods ORDER BY namespace, name`).all() as (PodRow & {namespace: string})[]).map((r) => ({
      ...toPod(r),
      namespace: r.namespace,
    }))
  }

  /**
   * Insert a pod with `/pods/create`, creating the namespace when missing.
   * @throws InvalidArgument, AlreadyExists (id or name taken, or a container has the id).
   */
  create(ns: string, input: PodInput): PodRecord {
    validateIdentifier(input.id)
    validateIdentifier(input.name)
    const labels = sortedLabels(input.labels)
    validateLabels(labels)
    return this.db
      .transaction(() => {
        this.namespaces.ensureIn(ns)
        if (this.find(ns, input.id)) throw new AlreadyExists(`pod ${JSON.stringify(input.id)}`, {suffixKind: true})
        if (this.findByName(ns, input.name)) throw new AlreadyExists(`pod name ${JSON.stringify(input.name)}`, {suffixKind: true})
        if (this.db.prepare('SELECT 1 FROM containers WHERE namespace = ? AND id = ?').get(ns, input.id)) {
          throw new AlreadyExists(`pod ${JSON.stringify(input.id)}: a container has this id`, {suffixKind: true})
        }
        const now = nowMicros()
        this.db
          .prepare(`INSERT INTO pods (namespace, ${POD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(
            ns,
            input.id,
            input.name,
            input.hostname,
            JSON.stringify(labels),
            JSON.stringify(input.share),
            JSON.stringify(input.network),
            input.k8sNamespace,
            input.uid,
            input.attempt,
            now,
            now,
          )
        appendEvent(this.db, ns, {topic: '/pods/create', id: input.id, name: input.name, labels}, this.retention)
        return this.find(ns, input.id)!
      })
      .immediate()
  }

  /** Record `/pods/start` or `/pods/stop`. */
  event(ns: string, id: string, topic: '/pods/start' | '/pods/stop'): void {
    this.db.transaction(() => appendEvent(this.db, ns, {topic, id}, this.retention)).immediate()
  }

  /** Delete the pod with `/pods/delete`. @throws FailedPrecondition while containers still belong to it. */
  delete(ns: string, id: string): void {
    this.db
      .transaction(() => {
        if (!this.find(ns, id)) throw new NotFound(`pod ${JSON.stringify(id)}`, {suffixKind: true})
        const members = this.members(ns, id)
        if (members.length > 0) throw new FailedPrecondition(`pod ${JSON.stringify(id)} still has containers: ${members.join(', ')}`, {suffixKind: true})
        this.db.prepare('DELETE FROM pods WHERE namespace = ? AND id = ?').run(ns, id)
        appendEvent(this.db, ns, {topic: '/pods/delete', id}, this.retention)
      })
      .immediate()
  }

  /** The ids of the pod's containers, sorted. */
  members(ns: string, podId: string): string[] {
    return (this.db.prepare('SELECT id FROM container_meta WHERE namespace = ? AND pod_id = ? ORDER BY id').all(ns, podId) as {id: string}[]).map((r) => r.id)
  }

  // --- container extras ---

  /** Record a container's extras; call inside the transaction that creates the container. */
  setContainerMeta(ns: string, id: string, meta: ContainerMeta): void {
    if (meta.podId !== undefined && !this.find(ns, meta.podId)) throw new NotFound(`pod ${JSON.stringify(meta.podId)}`, {suffixKind: true})
    this.db
      .prepare('INSERT OR REPLACE INTO container_meta (namespace, id, pod_id, network, metadata) VALUES (?, ?, ?, ?, ?)')
      .run(ns, id, meta.podId ?? null, JSON.stringify(meta.network), JSON.stringify(meta.metadata))
  }

  /** A container's extras; containers made before pods existed have none. */
  containerMeta(ns: string, id: string): ContainerMeta | undefined {
    const row = this.db.prepare('SELECT pod_id, network, metadata FROM container_meta WHERE namespace = ? AND id = ?').get(ns, id) as
      | {pod_id: string | null; network: string; metadata: string}
      | undefined
    if (!row) return undefined
    return {
      ...(row.pod_id !== null ? {podId: row.pod_id} : {}),
      network: JSON.parse(row.network) as NetworkSettings,
      metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    }
  }
}
