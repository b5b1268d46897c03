// Restore a checkpoint image as a new container ("restore behind create", containerd's
// `WithRestoreImage/Spec/Runtime/RW` and `WithTaskCheckpoint`): a snapshot on the base image's
// chain (plus the rw layer with `rw`), the checkpoint's spec with the new id's cgroup, the record,
// then a task under conmon — CRIU-restored with `live`, else started afresh. The image is pulled
// from its registry when it is not in the store, as ctr does.
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {AlreadyExists, FailedPrecondition, isNotFound, NotFound} from '../errors/index.js'
import type {Descriptor} from '../oci/index.js'
import {validateIdentifier} from '../oci/identifiers.js'
import {unpackStoredImage} from '../images/mount.js'
import type {RegistryOptions} from '../pull/index.js'
import {
  cgroupParentFor,
  cgroupsPathFor,
  containerDir,
  DEFAULT_RUNTIME,
  removeContainer,
  startDetached,
  type TaskRuntime,
  writeTemplate,
} from '../runtime/index.js'
import {applyLayer, SnapshotService} from '../snapshot/index.js'
import {linkUp} from '../sys/index.js'
import {checkpointsDir, type ContainerRecord, type ImageRecord, type TaskRecord} from '../store/index.js'
import {type DumpExtraction, extractDumpTar} from './criu-tar.js'
import {type Criu, findCriuAsync} from './criu.js'
import {criuLogTail} from './checkpoint.js'
import {
  Annotation,
  CHECKPOINT_LABEL,
  CheckpointMediaType,
  findDescriptor,
  imageTarget,
  parseCheckpointIndex,
  requiredAnnotation,
  storedImageName,
} from './format.js'
import {type StepTimer, stepTimer} from './timing.js'

export interface RestoreOptions {
  /** Apply the checkpoint's rw layer onto the new snapshot. */
  readonly rw?: boolean
  /** CRIU-restore the task (else start it afresh). */
  readonly live?: boolean
  /** How to reach the registry when REF must be pulled. */
  readonly registry?: RegistryOptions
  /**
   * Restore established TCP connections (CRIU's --tcp-established); implied by a checkpoint made
   * with it. Needs the network namespace the dump saw: one pinned at a file that still exists.
   */
  readonly tcpEstablished?: boolean
}

export interface RestoreResult {
  readonly container: ContainerRecord
  readonly task: TaskRecord
}

/** The checkpoint image: from the store, else pulled (`ctr c restore` fetches on NotFound) once `beforePull` settles. */
async function checkpointImage(rt: TaskRuntime, ref: string, registry: RegistryOptions | undefined, beforePull: () => Promise<void>): Promise<ImageRecord> {
  const found = rt.store.images.find(rt.ns, ref) ?? rt.store.images.find(rt.ns, storedImageName(ref))
  if (found) return found
  await beforePull() // a missing CRIU is said before anything is pulled
  const {fetchImage} = await import('../pull/index.js')
  const fetched = await fetchImage(rt.store, {namespace: rt.ns, ref, registry: registry ?? {}, allPlatforms: true})
  // Labels stay in the store they were set in: mark the pulled checkpoint as one here too.
  return rt.store.images.setLabels(rt.ns, fetched.name, {[CHECKPOINT_LABEL]: 'true'})
}

/**
 * Restore checkpoint `ref` as container `id` and start its task.
 * @throws AlreadyExists (container), NotFound (image, annotations, CRIU tar, base image content),
 * FailedPrecondition (no CRIU, restore failed with CRIU's log tail).
 */
export async function restore(rt: TaskRuntime, id: string, ref: string, options: RestoreOptions = {}): Promise<RestoreResult> {
  const {store, ns} = rt
  const timer = stepTimer('restore')
  validateIdentifier(id)
  // `criu --version` runs while the index is read; awaited before anything changes.
  const finding = options.live ? findCriuAsync(store.config, checkpointsDir(store.state)) : undefined
  finding?.catch(() => undefined)
  // A missing CRIU is said first, before what the records say.
  const read = async () => {
    if (store.containers.find(ns, id)) throw new AlreadyExists(`container ${JSON.stringify(id)}`, {suffixKind: true})
    const image = await checkpointImage(rt, ref, options.registry, async () => void (await finding))
    if (!store.content.has(ns, image.target.digest)) throw new NotFound(`checkpoint index ${image.target.digest} is not in the content store`)
    const index = parseCheckpointIndex(image.target.digest, store.content.readBytes(ns, image.target.digest))
    const baseName = requiredAnnotation(index, Annotation.imageName, 'image name')
    const snapshotter = requiredAnnotation(index, Annotation.snapshotter, 'snapshotter')
    // --live without a dump says so first (containerd would stop at the missing spec: the same
    // checkpoint, made without --task, lacks both).
    const criuDesc = findDescriptor(index, CheckpointMediaType.criu)
    if (options.live && !criuDesc) throw new NotFound(`checkpoint not found in index ${index.digest}`)
    const configDesc = findDescriptor(index, CheckpointMediaType.config, CheckpointMediaType.configProto)
    if (!configDesc) throw new NotFound('media type not found', {suffixKind: false})
    const runtime = index.annotations[Annotation.runtime] ?? DEFAULT_RUNTIME
    const rwDesc = options.rw ? findDescriptor(index, CheckpointMediaType.rwLayer, 'application/vnd.containerd.container.rw.tar') : undefined
    if (options.rw && !rwDesc) throw new NotFound(`rw layer not found in index ${index.digest}`)
    return {index, baseName, snapshotter, criuDesc, configDesc, runtime, rwDesc}
  }
  const {index, baseName, snapshotter, criuDesc, configDesc, runtime, rwDesc} = await read().catch(async (err: unknown) => {
    await finding
    throw err
  })
  const criu = await finding
  timer.mark('criu-version-index')
  // The dump is extracted while the rootfs is prepared (the big file is copied off the main thread).
  const scratchRoot = checkpointsDir(store.state)
  mkdirSync(scratchRoot, {recursive: true, mode: 0o700})
  const scratch = mkdtempSync(join(scratchRoot, `restore-${ns}-${id}-`))
  const extraction = criuDesc ? extractDumpTar(store.content.path(ns, criuDesc.digest), join(scratch, 'image')) : undefined
  extraction?.done.catch(() => undefined) // awaited below, or dropped with the scratch dir on an earlier failure
  timer.mark('extract-start')
  try {
    return await restoreWithDump(rt, id, ref, options, {index, criu, criuDesc, configDesc, rwDesc, baseName, snapshotter, runtime, scratch, extraction, timer})
  } finally {
    await extraction?.done.catch(() => undefined) // no copy may still write into what is removed
    rmSync(scratch, {recursive: true, force: true})
    timer.mark('cleanup')
    timer.done()
  }
}

interface Prepared {
  readonly index: ReturnType<typeof parseCheckpointIndex>
  readonly criu: Criu | undefined
  readonly criuDesc: Descriptor | undefined
  readonly configDesc: Descriptor
  readonly rwDesc: Descriptor | undefined
  readonly baseName: string
  readonly snapshotter: string
  readonly runtime: string
  readonly scratch: string
  readonly extraction: DumpExtraction | undefined
  readonly timer: StepTimer
}

/** The rest of {@link restore}, once the dump's extraction is under way. */
async function restoreWithDump(rt: TaskRuntime, id: string, ref: string, options: RestoreOptions, p: Prepared): Promise<RestoreResult> {
  const {store, ns} = rt
  const {index, criu, criuDesc, configDesc, rwDesc, baseName, snapshotter, runtime, scratch, extraction, timer} = p
  // The base image: its target as the index recorded it, else the named image in the store.
  let target: Descriptor | undefined = imageTarget(index)
  if (!target || !store.content.has(ns, target.digest)) {
    try {
      target = store.images.get(ns, baseName).target
    } catch (err) {
      if (!isNotFound(err)) throw err
      throw new NotFound(`base image ${JSON.stringify(baseName)} of checkpoint ${JSON.stringify(ref)} is not in the store; pull it first`)
    }
  }
  const {chainId} = await unpackStoredImage(store, target, {namespace: ns, snapshotter})
  timer.mark('index-unpack')

  // The spec: the checkpointed one, with this store's cgroup for the new id.
  const spec = JSON.parse(store.content.readBytes(ns, configDesc.digest).toString('utf8')) as RestoredSpec
  if (spec.linux) spec.linux.cgroupsPath = cgroupsPathFor(ns, id, cgroupParentFor(store.state))

  const snapshots = new SnapshotService(store, ns, snapshotter)
  if (snapshots.find(id)) throw new AlreadyExists(`snapshot ${JSON.stringify(id)}`, {suffixKind: true})
  const dir = containerDir(store.root, ns, id)
  mkdirSync(dir, {recursive: true, mode: 0o700})
  writeTemplate(dir, JSON.stringify(spec, null, 2))
  let container: ContainerRecord | undefined
  try {
    await snapshots.prepare(id, {
      kind: 'active',
      parent: chainId,
      within: (recordSnapshot) => {
        container = store.containers.create(
          ns,
          {id, image: baseName, runtime: {name: runtime}, snapshotter: snapshots.name, snapshotKey: id, labels: {}},
          recordSnapshot,
        )
      },
    })
  } catch (err) {
    if (!store.containers.find(ns, id)) rmSync(dir, {recursive: true, force: true})
    throw err
  }
  timer.mark('snapshot-record')
  try {
    if (rwDesc) {
      await applyLayer({
        blobPath: store.content.path(ns, rwDesc.digest),
        mediaType: rwDesc.mediaType,
        target: snapshots.fsPath(id),
        mode: snapshots.snapshotter.layout,
      })
      timer.mark('rw-apply')
    }
    let restoreFrom: {imageDir: string; workDir: string; criu: string; checkpoint: string; tcpEstablished?: boolean} | undefined
    if (criuDesc) {
      const imageDir = join(scratch, 'image')
      await extraction!.done
      timer.mark('extract')
      const workDir = join(scratch, 'work')
      mkdirSync(workDir, {mode: 0o700})
      const tcpEstablished = options.tcpEstablished === true || index.annotations[Annotation.tcpEstablished] === 'true'
      restoreFrom = options.live ? {imageDir, workDir, criu: criu!.path, checkpoint: criuDesc.digest, ...(tcpEstablished ? {tcpEstablished} : {})} : undefined
    }
    let task: TaskRecord
    try {
      task = await startDetached(rt, id, restoreFrom ? {restore: restoreFrom} : {})
    } catch (err) {
      const tail = restoreFrom ? criuLogTail(restoreFrom.workDir, 'restore.log') : ''
      if (tail) throw new FailedPrecondition(`restore of task ${id} failed: ${tail}`, {cause: err})
      throw err
    }
    timer.mark('criu-restore')
    if (restoreFrom && ownNetns(spec)) loopbackUp(task.pid)
    timer.mark('loopback')
    return {container: container!, task}
  } catch (err) {
    try {
      removeContainer(store, ns, id)
    } catch {
      // best effort: the failure above is what the user must see
    }
    throw err
  }
}

type RestoredSpec = {linux?: {cgroupsPath?: string; namespaces?: {type: string; path?: string}[]}}

/** Whether the container has a network namespace of its own (not the host's, not a pinned one). */
function ownNetns(spec: RestoredSpec): boolean {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === 'network' && !n.path)
}

/**
 * Bring loopback up in a restored container's network namespace. runc's init does it for a new
 * container; a CRIU restore into runc's fresh namespace leaves `lo` down, so a restored server
 * could not be reached on 127.0.0.1 from inside. Done by the addon (setns in a thread of its own).
 * @throws FailedPrecondition when it cannot.
 */
function loopbackUp(pid: number): void {
  try {
    linkUp(`/proc/${pid}/ns/net`, 'lo')
  } catch (err) {
    throw new FailedPrecondition(`restored task: cannot bring loopback up: ${(err as Error).message}`, {cause: err})
  }
}
