// Network attachment rows: one per (CNI container id, network) that CNI ADD was (or is about to
// be) run for. The row is written before ADD and deleted after DEL, so whatever a killed ctr
// leaves behind has a row that names it, and GC can release it.
import type {Database} from 'better-sqlite3'
import {nowMicros} from './event-log.js'
import type {PortMapping} from './pods.js'

/** An attachment as stored. `result` is CNI ADD's result, absent while ADD runs (or if it died). */
export interface NetAttachment {
  cniId: string
  network: string
  namespace: string
  ownerKind: 'container' | 'pod'
  ownerId: string
  ifname: string
  netns: string
  config: string
  cniPath: string
  ports: PortMapping[]
  result?: Record<string, unknown>
  bootId: string
  createdAt: number
}

interface Row {
  cni_id: string
  network: string
  namespace: string
  owner_kind: 'container' | 'pod'
  owner_id: string
  ifname: string
  netns: string
  config: string
  cni_path: string
  ports: string
  result: string | null
  boot_id: string
  created_at: number
}

const COLUMNS = 'cni_id, network, namespace, owner_kind, owner_id, ifname, netns, config, cni_path, ports, result, boot_id, created_at'

const toRecord = (r: Row): NetAttachment => ({
  cniId: r.cni_id,
  network: r.network,
  namespace: r.namespace,
  ownerKind: r.owner_kind,
  ownerId: r.owner_id,
  ifname: r.ifname,
  netns: r.netns,
  config: r.config,
  cniPath: r.cni_path,
  ports: JSON.parse(r.ports) as PortMapping[],
  ...(r.result !== null ? {result: JSON.parse(r.result) as Record<string, unknown>} : {}),
  bootId: r.boot_id,
  createdAt: r.created_at,
})

/** The IPv4/IPv6 addresses (without prefix length) in an attachment's CNI result. */
export function attachmentIps(a: NetAttachment): string[] {
  const ips = (a.result?.['ips'] ?? []) as {address?: string}[]
  return ips.map((ip) => (ip.address ?? '').split('/')[0]).filter(Boolean)
}

/** Attachment rows over one open database. No events: attachments are volatile plumbing. */
export class NetAttachmentStore {
  constructor(private readonly db: Database) {}

  /** Record an attachment about to be added (no result yet). Replaces a leftover row of the same key. */
  begin(a: Omit<NetAttachment, 'result' | 'createdAt'>): void {
    this.db
      .prepare(`INSERT OR REPLACE INTO net_attachments (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)`)
      .run(a.cniId, a.network, a.namespace, a.ownerKind, a.ownerId, a.ifname, a.netns, a.config, a.cniPath, JSON.stringify(a.ports), a.bootId, nowMicros())
  }

  /** Record ADD's result. */
  complete(cniId: string, network: string, result: Record<string, unknown>): void {
    this.db.prepare('UPDATE net_attachments SET result = ? WHERE cni_id = ? AND network = ?').run(JSON.stringify(result), cniId, network)
  }

  remove(cniId: string, network: string): void {
    this.db.prepare('DELETE FROM net_attachments WHERE cni_id = ? AND network = ?').run(cniId, network)
  }

  /** The attachments of one owner, in the order they were added. */
  ofOwner(ns: string, kind: 'container' | 'pod', id: string): NetAttachment[] {
    return (
      this.db
        .prepare(`SELECT ${COLUMNS} FROM net_attachments WHERE namespace = ? AND owner_kind = ? AND owner_id = ? ORDER BY created_at, network`)
        .all(ns, kind, id) as Row[]
    ).map(toRecord)
  }

  /** Every attachment (GC). */
  all(): NetAttachment[] {
    return (this.db.prepare(`SELECT ${COLUMNS} FROM net_attachments ORDER BY created_at`).all() as Row[]).map(toRecord)
  }
}
