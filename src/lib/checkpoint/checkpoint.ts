// Checkpoint a container (and its running task) into an image (seed 002): pause, CRIU dump via
// `runc checkpoint`, tar the dump, the spec and the rw layer into the content store under a
// lease, write containerd's checkpoint index, record the image labelled
// `containerd.io/checkpoint=true`, publish `/tasks/checkpointed`, resume (or leave the task stopped
// with `exit`). The dump holds the process's memory: it is written only to 0700 directories and
// blobs, and removed once stored.
import {chmodSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {AlreadyExists, FailedPrecondition, InvalidArgument} from '../errors/index.js'
import {type Descriptor, sha256Digest} from '../oci/index.js'
import {type TaskRuntime, getTask, setTaskPaused, taskPaths, containerSpec} from '../runtime/index.js'
import {SnapshotService} from '../snapshot/index.js'
import {appendEvent, checkpointsDir, type Labels, type Store, withLease} from '../store/index.js'
import {writeTreeTar, type WrittenBlob} from './archive.js'
import {type Criu, findCriu} from './criu.js'
import {Annotation, CHECKPOINT_LABEL, CheckpointMediaType, defaultCheckpointName, storedImageName} from './format.js'
import {isAlive, isPaused, isRunning} from '../store/task-state.js'

export interface CheckpointOptions {
  /** Image name; default `containerd.io/checkpoint/<id>:<date>`. */
  readonly name?: string
  /** Include the task: CRIU dump (needs a running or paused task). */
  readonly task: boolean
  /** Include the rw layer diff of the container's snapshot. */
  readonly rw: boolean
  /** Include the base image's target descriptor. */
  readonly image: boolean
  /** Leave the task stopped after the dump. */
  readonly exit?: boolean
  /** Dump into this directory and store nothing (no image). */
  readonly imagePath?: string
  /** CRIU's work directory (logs). */
  readonly workPath?: string
  /**
   * Dump established TCP connections too (CRIU's --tcp-established), instead of refusing them.
   * Restoring them needs the same flag; the index records it (Annotation.tcpEstablished).
   */
  readonly tcpEstablished?: boolean
  /** Told as each step starts and ends (for a progress display). */
  readonly onStep?: (event: CheckpointStepEvent) => void
}

/** The steps of a checkpoint, in order. */
export type CheckpointStep = 'pause' | 'dump' | 'write' | 'record' | 'resume'

/** A step started, finished, or was not needed (skip: e.g. no pause for a paused task, no resume with `exit`). */
export interface CheckpointStepEvent {
  readonly step: CheckpointStep
  readonly status: 'start' | 'done' | 'skip'
}

/** What a checkpoint produced: the image name, or undefined with `imagePath`. */
export interface CheckpointResult {
  readonly name: string | undefined
  readonly digest: string | undefined
}

/** The platform descriptors of this host, as containerd writes them (GOOS/GOARCH). */
function hostPlatform(): {architecture: string; os: string} {
  const arch: Record<string, string> = {x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64'}
  return {architecture: arch[process.arch] ?? process.arch, os: 'linux'}
}

/** The last lines of CRIU's log in `workDir` (as ctr quotes dump.log), for an error message. */
export function criuLogTail(workDir: string, file: string, lines = 5): string {
  const path = join(workDir, file)
  if (!existsSync(path)) return ''
  const text = readFileSync(path, 'utf8').trim().split('\n')
  const errors = text.filter((l) => /Error|err /.test(l))
  return (errors.length > 0 ? errors : text)
    .slice(-lines)
    .map((l) => l.trim())
    .join('; ')
}

/** Ingest a file whose digest and size are known; labels and media type go on the content record. */
async function ingestFile(store: Store, ns: string, leaseId: string, file: string, blob: WrittenBlob, mediaType: string, labels?: Labels): Promise<Descriptor> {
  const opened = await store.content.openWriter(ns, {ref: `checkpoint-${blob.digest}`, expected: {digest: blob.digest, size: blob.size}, leaseId, labels})
  if (opened.status === 'write') {
    const w = opened.writer
    try {
      if (w.offset > 0) {
        await w.abort()
        return ingestFile(store, ns, leaseId, file, blob, mediaType, labels)
      }
      for await (const chunk of createReadStream(file, {highWaterMark: 1 << 20})) await w.write(chunk as Buffer)
      await w.commit({mediaType, labels})
    } catch (err) {
      await w.abort()
      throw err
    }
  }
  return {mediaType, digest: blob.digest, size: blob.size}
}

async function ingestBytes(store: Store, ns: string, leaseId: string, dir: string, bytes: Buffer, mediaType: string, labels?: Labels): Promise<Descriptor> {
  const file = join(dir, `blob-${Math.random().toString(16).slice(2)}`)
  writeFileSync(file, bytes, {mode: 0o600})
  return ingestFile(store, ns, leaseId, file, {digest: sha256Digest(bytes), size: bytes.length}, mediaType, labels)
}

/**
 * Checkpoint container `id`. With `task`, CRIU must be usable (checked first) and the task running
 * or paused. @throws FailedPrecondition (no CRIU, no running task, dump failed with CRIU's log
 * tail), NotFound, AlreadyExists (an image of that name, checked before anything is dumped).
 */
export async function checkpoint(rt: TaskRuntime, id: string, options: CheckpointOptions): Promise<CheckpointResult> {
  const {store, ns} = rt
  const criu: Criu | undefined = options.task ? findCriu(store.config) : undefined
  const container = store.containers.get(ns, id)
  const name = options.name ? storedImageName(options.name) : defaultCheckpointName(id)
  if (!options.imagePath && store.images.find(ns, name)) throw new AlreadyExists(`image ${JSON.stringify(name)}`, {suffixKind: true})
  const found = store.tasks.find(ns, id)
  const task = found ? await getTask(rt, id) : undefined
  const live = task && isAlive(task)
  if (options.task && !live) throw new FailedPrecondition(`no running task found: task ${id} not found`)

  const scratchRoot = checkpointsDir(store.state)
  mkdirSync(scratchRoot, {recursive: true, mode: 0o700})
  const scratch = mkdtempSync(join(scratchRoot, `${ns}-${id}-`)) // 0700: the dump holds process memory
  const dumpDir = options.imagePath ?? join(scratch, 'image')
  const workDir = options.workPath ?? join(scratch, 'work')
  mkdirSync(dumpDir, {recursive: true, mode: 0o700})
  mkdirSync(workDir, {recursive: true, mode: 0o700})
  const paths = taskPaths(store.state, ns, id)
  let paused = false
  let stopped = false
  const step = (s: CheckpointStep, status: CheckpointStepEvent['status']) => options.onStep?.({step: s, status})
  try {
    if (live && isRunning(task)) {
      step('pause', 'start')
      await setTaskPaused(rt, id, true)
      paused = true
      step('pause', 'done')
    } else step('pause', 'skip')
    if (options.task) {
      step('dump', 'start')
      const args = ['--criu', criu!.path, 'checkpoint', '--image-path', dumpDir, '--work-path', workDir, '--file-locks']
      if (!options.exit) args.push('--leave-running')
      if (options.tcpEstablished) args.push('--tcp-established')
      args.push(id)
      if (options.exit) writeFileSync(paths.checkpointed, '') // conmon will see a SIGKILL: mark it first
      const r = await rt.runc.run(args, {allowFailure: true})
      if (r.code !== 0) {
        rmSync(paths.checkpointed, {force: true})
        const why = criuLogTail(workDir, 'dump.log') || r.stderr.trim()
        throw new FailedPrecondition(`checkpoint of task ${id} failed: ${why}`)
      }
      stopped = options.exit === true
      step('dump', 'done')
    } else step('dump', 'skip')
    if (options.imagePath) {
      step('write', 'skip')
      step('record', 'skip')
      appendEvent(store.db, ns, {topic: '/tasks/checkpointed', containerId: id}, store.retention)
      return {name: undefined, digest: undefined}
    }

    const platform = hostPlatform()
    step('write', 'start')
    const digest = await withLease(store, ns, async (leaseId) => {
      const manifests: Descriptor[] = []
      if (options.task) {
        const file = join(scratch, 'criu.tar')
        const blob = await writeTreeTar(dumpDir, file)
        manifests.push({...(await ingestFile(store, ns, leaseId, file, blob, CheckpointMediaType.criu)), platform})
        chmodSync(store.content.path(ns, blob.digest), 0o600) // the process's memory: root only
        rmSync(dumpDir, {recursive: true, force: true}) // the memory is in the store now
        rmSync(file, {force: true})
        const spec = Buffer.from(containerSpec(store, ns, id))
        manifests.push({...(await ingestBytes(store, ns, leaseId, scratch, spec, CheckpointMediaType.config)), platform})
      }
      if (options.image && container.image) {
        const image = store.images.find(ns, container.image)
        if (image) manifests.push({...image.target, annotations: {...(image.target.annotations ?? {}), [Annotation.imageName]: container.image}})
      }
      if (options.rw && container.snapshotter && container.snapshotKey) {
        const snapshots = new SnapshotService(store, ns, container.snapshotter)
        const dir = snapshots.fsPath(container.snapshotKey)
        const file = join(scratch, 'rw.tar.gz')
        const blob = await writeTreeTar(dir, file, {gzip: true, overlay: snapshots.snapshotter.layout === 'overlay'})
        manifests.push(await ingestFile(store, ns, leaseId, file, blob, CheckpointMediaType.rwLayer))
      }
      const annotations: Record<string, string> = {[Annotation.runtime]: container.runtime?.name ?? 'io.containerd.runc.v2'}
      if (container.image) annotations[Annotation.imageName] = container.image
      if (container.snapshotter) annotations[Annotation.snapshotter] = container.snapshotter
      if (options.task && options.tcpEstablished) annotations[Annotation.tcpEstablished] = 'true'
      const index = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: CheckpointMediaType.index, manifests, annotations}))
      const gcLabels: Labels = {}
      manifests.forEach((d, i) => (gcLabels[`containerd.io/gc.ref.content.${i}`] = d.digest))
      const desc = await ingestBytes(store, ns, leaseId, scratch, index, CheckpointMediaType.index, gcLabels)
      step('write', 'done')
      step('record', 'start')
      store.images.create(ns, {name, target: {mediaType: desc.mediaType, digest: desc.digest, size: desc.size}, labels: {[CHECKPOINT_LABEL]: 'true'}})
      return desc.digest
    })
    if (options.task) appendEvent(store.db, ns, {topic: '/tasks/checkpointed', containerId: id, checkpoint: name}, store.retention)
    step('record', 'done')
    return {name, digest}
  } finally {
    rmSync(scratch, {recursive: true, force: true})
    if (paused && !stopped) {
      try {
        step('resume', 'start')
        await setTaskPaused(rt, id, false)
        step('resume', 'done')
      } catch (err) {
        // The task may have exited meanwhile; a resume that fails on a live task is an error.
        const t = store.tasks.find(ns, id)
        if (t && isPaused(t)) throw err
      }
    }
    if (!paused || stopped) step('resume', 'skip')
    if (stopped) {
      // Record the stop now (conmon's exit command will find it done).
      try {
        await getTask(rt, id)
      } catch {
        // deleted meanwhile
      }
    }
  }
}

/** Checks shared by the commands. */
export function validateCheckpointArgs(id: string | undefined, ref?: string | undefined, needRef = false): void {
  if (!id) throw new InvalidArgument('container id must be provided', {suffixKind: true})
  if (needRef && !ref) throw new InvalidArgument('ref must be provided', {suffixKind: true})
}
