// The open store: one metadata database plus the sub-stores commands use. Apart from the index so
// that a command bundle that only opens the store does not carry every module the index re-exports
// (gc, event following, mounts): esbuild keeps all of a dynamically imported module's exports.
import type {Database} from 'better-sqlite3'
import type {BerthConfig} from '../config/index.js'
import {ContainerStore} from './containers.js'
import {ContentStore} from './content.js'
import {openDatabase} from './database.js'
import {ensureTopDir} from './dirs.js'
import type {Retention} from './event-log.js'
import {ImageStore} from './images.js'
import {LeaseStore} from './leases.js'
import {NamespaceStore} from './namespaces.js'
import {SnapshotStore} from './snapshots.js'
import {Staging} from './staging.js'
import {TaskStore} from './tasks.js'
import {PodStore} from './pods.js'
import {NetAttachmentStore} from './net-attachments.js'
import {SCHEMA_VERSION} from './schema-version.js'
import {USERNS_DIR} from './paths.js'

/** Where a store lives and how it is configured. */
export interface StoreOptions {
  readonly root: string
  readonly state: string
  readonly config: BerthConfig
}

/** An open store. Close it when done; it holds an SQLite connection. */
export interface Store {
  readonly root: string
  readonly state: string
  readonly config: BerthConfig
  readonly db: Database
  readonly namespaces: NamespaceStore
  readonly content: ContentStore
  readonly images: ImageStore
  readonly leases: LeaseStore
  readonly snapshots: SnapshotStore
  readonly containers: ContainerStore
  readonly tasks: TaskStore
  /** Pods and the per-container extras (pod, networks, metadata). */
  readonly pods: PodStore
  /** CNI attachments of pinned network namespaces. */
  readonly netAttachments: NetAttachmentStore
  readonly retention: Retention
  /** A private, locked staging area for blobs of `ns` not yet known or wanted (imports). */
  openStaging(ns: string, purpose: string): Promise<Staging>
  /** Counts of stored objects by kind, for `ctr info`. */
  counts(): Record<string, number>
  close(): void
}

/**
 * Open the store at `options.root`, creating root and state directories on first use.
 * @throws PermissionDenied, Unavailable, FailedPrecondition (schema newer than this binary).
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  ensureTopDir(options.state, {traversable: USERNS_DIR})
  const db = await openDatabase(options.root)
  const retention: Retention = {maxRows: options.config.eventRetentionRows, maxAgeSeconds: options.config.eventRetentionSeconds}
  const namespaces = new NamespaceStore(db, retention)
  const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as {n: number}).n
  const contentContext = {db, root: options.root, retention, namespaces, policy: options.config.contentSharingPolicy}
  return {
    ...options,
    db,
    retention,
    namespaces,
    content: new ContentStore(contentContext),
    openStaging: (ns, purpose) => Staging.open(contentContext, ns, purpose),
    images: new ImageStore(db, retention, namespaces),
    leases: new LeaseStore(db, namespaces),
    snapshots: new SnapshotStore(db, retention, namespaces, options.config.contentSharingPolicy),
    containers: new ContainerStore(db, retention, namespaces),
    tasks: new TaskStore(db, retention),
    pods: new PodStore(db, retention, namespaces),
    netAttachments: new NetAttachmentStore(db),
    counts: () => ({
      namespaces: count('namespaces'),
      images: count('images'),
      content: count('content'),
      blobs: count('blobs'),
      leases: count('leases'),
      containers: count('containers'),
      tasks: count('tasks'),
      pods: count('pods'),
      snapshots: count('snapshots'),
      events: count('events'),
    }),
    close: () => db.close(),
  }
}

/** The schema version stored in an open database (equals SCHEMA_VERSION once opened). */
export function storedSchemaVersion(db: Database): number {
  return (db.pragma('user_version', {simple: true}) as number) || SCHEMA_VERSION
}
