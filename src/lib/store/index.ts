// The store: one open metadata database plus the sub-stores commands use. Opened lazily by the
// CLI, closed when the command ends.
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
import {SCHEMA_VERSION} from './migrations.js'
import {USERNS_DIR} from './paths.js'

export {SCHEMA_VERSION} from './migrations.js'
export {
  blobsDir,
  checkpointsDir,
  cniConfDir,
  cniIpamDir,
  containerDir,
  containerNetnsPath,
  containerRunDir,
  contentDir,
  defaultRoot,
  defaultState,
  ingestRoot,
  locksDir,
  metaDbPath,
  netnsDir,
  podDir,
  podsDir,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  remapDir,
  runcRoot,
  runcStateDir,
  snapshotsDir,
  snapshotterDir,
  taskDir,
  TRAVERSE_DIR_MODE,
  USERNS_DIR,
  usernsDir,
} from './paths.js'
export {BUSY_TIMEOUT_MS} from './database.js'
export type {NamespaceRecord} from './namespaces.js'
export type {EventRecord, EventQuery, Retention} from './event-log.js'
export {acquireLock, type Lock} from './locks.js'
export {NAMESPACE_OWNERS, tableOwner, type NamespaceOwner} from './owners.js'
export {
  blobPath,
  ContentStore,
  SHAREABLE_LABEL,
  type ContentInfo,
  type ContentWriter,
  type IngestStatus,
  type Labels,
  type OpenWriterResult,
  type WriterOptions,
} from './content.js'
export {type ActiveIngest} from './content.js'
export {listIngests, type IngestListing} from './ingest.js'
export {ownerStatus, type OwnerStatus} from './process-owner.js'
export {Staging, type StagedBlob, type StagedWriter} from './staging.js'
export {
  extractKey,
  newSnapshotDirId,
  SnapshotStore,
  type SnapshotDir,
  type SnapshotInput,
  type SnapshotKind,
  type SnapshotRecord,
} from './snapshots.js'
export {ContainerStore, type ContainerInput, type ContainerRecord} from './containers.js'
export {
  protoTimestamp,
  TaskStore,
  UNKNOWN_EXIT_STATUS,
  type ExecRecord,
  type TaskCreateDetails,
  type TaskExit,
  type TaskMonitor,
  type TaskRecord,
  type TaskStatus,
} from './tasks.js'
export {
  isAlive,
  isCreated,
  isPaused,
  isRunning,
  isStopped,
  isUnfinished,
  statusFromName,
  statusName,
  UNFINISHED_STATUSES,
  type Stated,
} from './task-state.js'
export {PodStore, type ContainerMeta, type NetworkSettings, type PodInput, type PodRecord, type PortMapping, type SharedNamespace} from './pods.js'
export {NetAttachmentStore, attachmentIps, type NetAttachment} from './net-attachments.js'
export {ImageStore, type ImageInput, type ImageRecord, type ImageTarget} from './images.js'
export {
  DEFAULT_LEASE_MS,
  EXPIRE_LABEL,
  generateLeaseId,
  LeaseStore,
  withLease,
  type LeaseRecord,
  type LeaseResource,
  type LeaseResourceKind,
} from './leases.js'
export {
  collectGarbage,
  gcIncomplete,
  INGEST_MAX_AGE_MS,
  type GcFailed,
  type GcKept,
  type GcKind,
  type GcOptions,
  type GcRemoved,
  type GcReport,
  type GcStore,
} from './gc.js'

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
export {appendEvent, iterateEvents, lastEventSeq, trimEvents, nowMicros} from './event-log.js'
export {followEvents, parseTimeBound, POLL_INTERVAL_MS, type FollowOptions} from './event-follow.js'
export {mountsUsing, readMountTable, unmountDetached, type MountInfo} from './mounts.js'
