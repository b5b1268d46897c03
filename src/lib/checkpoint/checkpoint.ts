// Checkpoint a container (and its running task) into an image (seed 002): pause, CRIU dump via
// `runc checkpoint`, tar the dump, the spec and the rw layer into the content store under a
// lease, write containerd's checkpoint index, record the image labelled
// `containerd.io/checkpoint=true`, publish `/tasks/checkpointed`, resume (or leave the task stopped
// with `exit`). The dump holds the process's memory: it is written only to 0700 directories and
// blobs, and removed once stored.
import {closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {AlreadyExists, FailedPrecondition, InvalidArgument} from '../errors/index.js'
import type {Descriptor} from '../oci/index.js'
import {type TaskRuntime, getTask, setTaskPaused, taskPaths, containerSpec} from '../runtime/index.js'
import {SnapshotService} from '../snapshot/index.js'
import {appendEvent, checkpointsDir, type ContainerRecord, type Labels, type StagedBlob, type Staging, type TaskRecord, withLease} from '../store/index.js'
import {SYNC_FILE_RANGE_WRITE, syncFileRange} from '../sys/index.js'
import {writeTreeTar} from './archive.js'
import {makeDumpTar} from './criu-tar.js'
import {MemoryHasher} from './memory-hash.js'
import {type Criu, findCriuAsync} from './criu.js'
import {Annotation, CHECKPOINT_LABEL, CheckpointMediaType, defaultCheckpointName, storedImageName} from './format.js'
import {isAlive, isPaused, isRunning} from '../store/task-state.js'
import {stepTimer} from './timing.js'

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

/** Start writing `file` back to disk without waiting (sync_file_range): the later fsync then has less left to do. */
function startWriteback(file: string): void {
  const fd = openSync(file, 'r')
  try {
    syncFileRange(fd, 0, 0, SYNC_FILE_RANGE_WRITE)
  } catch {
    // only a head start: the commit's fsync is what makes it durable
  } finally {
    closeSync(fd)
  }
}

/**
 * Checkpoint container `id`. With `task`, CRIU must be usable (checked first) and the task running
 * or paused. @throws FailedPrecondition (no CRIU, no running task, dump failed with CRIU's log
 * tail), NotFound, AlreadyExists (an image of that name, checked before anything is dumped).
 */
export async function checkpoint(rt: TaskRuntime, id: string, options: CheckpointOptions): Promise<CheckpointResult> {
  const {store, ns} = rt
  const timer = stepTimer('checkpoint')
  // `criu --version` runs while the records are read; awaited before anything changes.
  const finding = options.task ? findCriuAsync(store.config, checkpointsDir(store.state)) : undefined
  finding?.catch(() => undefined)
  const name = options.name ? storedImageName(options.name) : defaultCheckpointName(id)
  let container: ContainerRecord
  let task: TaskRecord | undefined
  try {
    container = store.containers.get(ns, id)
    if (!options.imagePath && store.images.find(ns, name)) throw new AlreadyExists(`image ${JSON.stringify(name)}`, {suffixKind: true})
    task = store.tasks.find(ns, id) ? await getTask(rt, id) : undefined
  } catch (err) {
    await finding // a missing CRIU is said first, as before anything else
    throw err
  }
  const live = task && isAlive(task)
  const criu: Criu | undefined = await finding
  timer.mark('criu-version')
  if (options.task && !live) throw new FailedPrecondition(`no running task found: task ${id} not found`)

  const paths = taskPaths(store.state, ns, id)
  let paused = false
  let stopped = false
  let pausing: Promise<void> | undefined
  let scratch: string | undefined
  let staging: Staging | undefined
  let rwTar: Promise<string> | undefined
  let hasher: MemoryHasher | undefined
  const step = (s: CheckpointStep, status: CheckpointStepEvent['status']) => options.onStep?.({step: s, status})
  try {
    // runc pause runs (~10 ms, a process of its own) while the scratch and staging dirs are made.
    if (live && task && isRunning(task)) {
      step('pause', 'start')
      pausing = setTaskPaused(rt, id, true).then(() => void (paused = true))
      pausing.catch(() => undefined) // awaited below, and in finally before the resume is decided
    } else step('pause', 'skip')
    const scratchRoot = checkpointsDir(store.state)
    mkdirSync(scratchRoot, {recursive: true, mode: 0o700})
    scratch = mkdtempSync(join(scratchRoot, `${ns}-${id}-`)) // 0700: CRIU's logs
    // An image's dump goes straight into the store's staging area (the blobs' filesystem), where
    // it becomes the blob in place; only --image-path dumps elsewhere.
    staging = options.imagePath ? undefined : await store.openStaging(ns, 'checkpoint')
    const dumpDir = options.imagePath ?? (options.task ? staging!.makeDir('dump') : join(scratch, 'image'))
    const workDir = options.workPath ?? join(scratch, 'work')
    mkdirSync(dumpDir, {recursive: true, mode: 0o700})
    mkdirSync(workDir, {recursive: true, mode: 0o700})
    timer.mark('prepare')
    if (pausing) {
      await pausing
      timer.mark('pause')
      step('pause', 'done')
    }
    // The rw layer is tarred while CRIU dumps (the task is paused or stopped: its files hold still).
    const startRwTar = () => {
      const into = staging
      if (!into || !options.rw || !container.snapshotter || !container.snapshotKey) return
      const snapshotter = container.snapshotter
      const key = container.snapshotKey
      // async: a synchronous failure becomes the promise's, so a dump under way is still awaited
      rwTar = (async () => {
        const snapshots = new SnapshotService(store, ns, snapshotter)
        const file = join(into.makeDir('rw'), 'rw.tar.gz')
        await writeTreeTar(snapshots.fsPath(key), file, {gzip: true, overlay: snapshots.snapshotter.layout === 'overlay'})
        return file
      })()
      rwTar.catch(() => undefined) // awaited below; a dump failure must not leave it unhandled
    }
    if (options.task) {
      step('dump', 'start')
      const args = ['--criu', criu!.path, 'checkpoint', '--image-path', dumpDir, '--work-path', workDir, '--file-locks']
      if (!options.exit) args.push('--leave-running')
      if (options.tcpEstablished) args.push('--tcp-established')
      args.push(id)
      if (options.exit) writeFileSync(paths.checkpointed, '') // conmon will see a SIGKILL: mark it first
      // The memory is hashed as soon as CRIU closes it, while CRIU goes on with the rest.
      hasher = staging ? MemoryHasher.watch(dumpDir) : undefined
      const dumping = rt.runc.run(args, {allowFailure: true}) // spawned now
      // Only then the rw tar: starting it loads node-tar, zlib and the streams (10 ms and more),
      // which CRIU need not wait for.
      startRwTar()
      const r = await dumping
      if (r.code !== 0) {
        hasher?.stop()
        rmSync(paths.checkpointed, {force: true})
        const why = criuLogTail(workDir, 'dump.log') || r.stderr.trim()
        throw new FailedPrecondition(`checkpoint of task ${id} failed: ${why}`)
      }
      stopped = options.exit === true
      timer.mark('dump')
      step('dump', 'done')
    } else {
      startRwTar()
      step('dump', 'skip')
    }
    if (!staging) {
      step('write', 'skip')
      step('record', 'skip')
      appendEvent(store.db, ns, {topic: '/tasks/checkpointed', containerId: id}, store.retention)
      return {name: undefined, digest: undefined}
    }

    const stage = staging // narrowed for the callbacks below
    const platform = hostPlatform()
    step('write', 'start')
    const staged: {blob: StagedBlob; mediaType: string; private?: boolean; platform?: boolean}[] = []
    if (options.task) {
      const file = join(dirname(dumpDir), `${basename(dumpDir)}.tar`)
      const early = hasher?.settle()
      timer.mark(early ? 'early-hash-rest' : 'early-hash-none')
      const tar = makeDumpTar(dumpDir, file, early ? {early} : {})
      timer.mark('criu-tar')
      startWriteback(file) // the commit's fsync then finds most of it on disk
      timer.mark('writeback')
      const blob = tar.hash ? stage.adoptHashed(file, tar.hash) : stage.adopt(file)
      staged.push({blob, mediaType: CheckpointMediaType.criu, private: true, platform: true})
      timer.mark('criu-hash')
      staged.push({blob: await stage.stageBytes(Buffer.from(containerSpec(store, ns, id))), mediaType: CheckpointMediaType.config, platform: true})
    }
    if (rwTar) {
      staged.push({blob: stage.adopt(await rwTar), mediaType: CheckpointMediaType.rwLayer})
      timer.mark('rw-blob')
    }
    const digest = await withLease(store, ns, async (leaseId) => {
      const manifests: Descriptor[] = []
      for (const s of staged) {
        await stage.commit(s.blob, {mediaType: s.mediaType, leaseId, private: s.private === true})
        const d: Descriptor = {mediaType: s.mediaType, digest: s.blob.digest, size: s.blob.size}
        manifests.push(s.platform ? {...d, platform} : d)
      }
      timer.mark('commit')
      if (options.image && container.image) {
        const image = store.images.find(ns, container.image)
        if (image) {
          const at = manifests.findIndex((d) => d.mediaType === CheckpointMediaType.rwLayer)
          const desc = {...image.target, annotations: {...(image.target.annotations ?? {}), [Annotation.imageName]: container.image}}
          manifests.splice(at < 0 ? manifests.length : at, 0, desc) // containerd's order: dump, spec, image, rw
        }
      }
      const annotations: Record<string, string> = {[Annotation.runtime]: container.runtime?.name ?? 'io.containerd.runc.v2'}
      if (container.image) annotations[Annotation.imageName] = container.image
      if (container.snapshotter) annotations[Annotation.snapshotter] = container.snapshotter
      if (options.task && options.tcpEstablished) annotations[Annotation.tcpEstablished] = 'true'
      const index = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: CheckpointMediaType.index, manifests, annotations}))
      const gcLabels: Labels = {}
      manifests.forEach((d, i) => (gcLabels[`containerd.io/gc.ref.content.${i}`] = d.digest))
      const indexBlob = await stage.stageBytes(index)
      await stage.commit(indexBlob, {mediaType: CheckpointMediaType.index, labels: gcLabels, leaseId})
      step('write', 'done')
      step('record', 'start')
      const target = {mediaType: CheckpointMediaType.index, digest: indexBlob.digest, size: indexBlob.size}
      store.images.create(ns, {name, target, labels: {[CHECKPOINT_LABEL]: 'true'}})
      return indexBlob.digest
    })
    timer.mark('index-record')
    if (options.task) appendEvent(store.db, ns, {topic: '/tasks/checkpointed', containerId: id, checkpoint: name}, store.retention)
    step('record', 'done')
    return {name, digest}
  } finally {
    await pausing?.catch(() => undefined) // a pause still under way (a failed prepare) settles first
    hasher?.stop()
    staging?.discard() // whatever was not committed: the dump of a failed checkpoint
    if (scratch) rmSync(scratch, {recursive: true, force: true})
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
    timer.mark('resume')
    if (stopped) {
      // Record the stop now (conmon's exit command will find it done).
      try {
        await getTask(rt, id)
      } catch {
        // deleted meanwhile
      }
      timer.mark('record-stop')
    }
    timer.done()
  }
}

/** Checks shared by the commands. */
export function validateCheckpointArgs(id: string | undefined, ref?: string | undefined, needRef = false): void {
  if (!id) throw new InvalidArgument('container id must be provided', {suffixKind: true})
  if (needRef && !ref) throw new InvalidArgument('ref must be provided', {suffixKind: true})
}
