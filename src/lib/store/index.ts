// The store's vocabulary in one place: the open store (store.ts), its sub-stores, paths, events,
// locks and GC. The CLI opens the store through store.ts directly (see there).
export {SCHEMA_VERSION} from './schema-version.js'
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
export {ownerStatus, processOwner, type OwnerStatus} from './process-owner.js'
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

export {openStore, storedSchemaVersion, type Store, type StoreOptions} from './store.js'
export {appendEvent, iterateEvents, lastEventSeq, trimEvents, nowMicros} from './event-log.js'
export {followEvents, parseTimeBound, POLL_INTERVAL_MS, type FollowOptions} from './event-follow.js'
export {mountsUsing, readMountTable, unmountDetached, type MountInfo} from './mounts.js'
