// A small pool of worker threads that apply layers, so that several layers extracting at once
// use every core and the main thread stays free for downloads (extraction is synchronous
// filesystem work; see apply.ts).
//
// Invariants: workers start lazily (none until the first layer) and never keep the process alive
// while idle (unref'd; ref'd while they run a job). A job's callbacks (`lowers`, `onProgress`,
// `onWarning`) run on the calling thread; its AbortSignal reaches the worker as a message. Errors
// come back with their kind (the same BerthError class) and message. When the worker script is
// not next to this module (e.g. run from TypeScript sources) or BERTH_APPLY_WORKERS=0, layers are
// applied in the calling thread instead. A worker that dies fails its jobs with Internal.
import {existsSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'
import {
  AlreadyExists,
  Conflict,
  DataLoss,
  FailedPrecondition,
  Internal,
  InvalidArgument,
  NotFound,
  NotImplemented,
  PermissionDenied,
  Unavailable,
  type BerthError,
  type ErrorKind,
} from '../../errors/index.js'
import {applyLayerHere, type ApplyLayerOptions, type ApplyLayerResult} from './apply.js'
import type {FromWorker, ToWorker, WorkerError} from './protocol.js'

/** Most workers started, whatever the core count: extraction is also bound by the disk. */
const MAX_WORKERS = 4

interface Slot {
  readonly worker: Worker
  active: number
}

interface Job {
  readonly options: ApplyLayerOptions
  readonly slot: Slot
  readonly resolve: (result: ApplyLayerResult) => void
  readonly reject: (err: unknown) => void
  readonly detach: () => void
  /** What `lowers()` threw, reported instead of the worker's copy of it. */
  lowersError?: unknown
}

const slots: Slot[] = []
const jobs = new Map<number, Job>()
let nextId = 1
let script: string | null | undefined

/**
 * Applies a layer in a pool worker (or in this thread when workers are unavailable); same
 * contract as {@link applyLayerHere}.
 * @returns the layer's diffId and uncompressed size.
 * @throws the same error kinds as applyLayerHere.
 */
export function applyLayerPooled(options: ApplyLayerOptions): Promise<ApplyLayerResult> {
  const path = workerScript()
  const size = poolSize()
  if (path === null || size === 0) return applyLayerHere(options)
  if (options.signal?.aborted) return Promise.reject(options.signal.reason)
  const slot = pickSlot(path, size)
  const id = nextId++
  return new Promise<ApplyLayerResult>((resolve, reject) => {
    const signal = options.signal
    const onAbort = (): void => post(slot, {type: 'abort', id, reason: String((signal?.reason as Error)?.message ?? signal?.reason ?? '')})
    signal?.addEventListener('abort', onAbort, {once: true})
    jobs.set(id, {options, slot, resolve, reject, detach: () => signal?.removeEventListener('abort', onAbort)})
    if (slot.active++ === 0) slot.worker.ref()
    post(slot, {
      type: 'apply',
      id,
      options: {
        blobPath: options.blobPath,
        mediaType: options.mediaType,
        target: options.target,
        mode: options.mode,
        lowers: options.lowers !== undefined,
        progress: options.onProgress !== undefined,
        warnings: options.onWarning !== undefined,
      },
    })
  })
}

/** @returns how many pool workers are running (for tests and diagnostics). */
export function poolWorkers(): number {
  return slots.length
}

/** Workers to use: BERTH_APPLY_WORKERS if set (0 = none), else one per core up to {@link MAX_WORKERS}. */
function poolSize(): number {
  const configured = process.env.BERTH_APPLY_WORKERS
  if (configured !== undefined && /^\d+$/.test(configured)) return Math.min(Number(configured), 16)
  return Math.max(1, Math.min(MAX_WORKERS, availableParallelism()))
}

/** The worker script next to this module: worker.js in the tsc output, apply-worker.cjs next to the bundle. */
function workerScript(): string | null {
  if (script !== undefined) return script
  const here = fileURLToPath(import.meta.url)
  const path = here.endsWith('.cjs') ? join(dirname(here), 'apply-worker.cjs') : join(dirname(here), 'worker.js')
  script = existsSync(path) ? path : null
  return script
}

/** An idle worker, else a new one while below the size, else the least busy. */
function pickSlot(path: string, size: number): Slot {
  const idle = slots.find((s) => s.active === 0)
  if (idle) return idle
  if (slots.length < size) return spawnWorker(path)
  return slots.reduce((a, b) => (b.active < a.active ? b : a))
}

function spawnWorker(path: string): Slot {
  const worker = new Worker(path, {stdout: false, stderr: false})
  const slot: Slot = {worker, active: 0}
  worker.unref()
  worker.on('message', (message: FromWorker) => onMessage(slot, message))
  const fail = (err: unknown): void => {
    const index = slots.indexOf(slot)
    if (index >= 0) slots.splice(index, 1)
    for (const [id, job] of jobs) {
      if (job.slot !== slot) continue
      settle(id)
      job.reject(new Internal(`layer ${JSON.stringify(job.options.blobPath)}: apply worker failed: ${(err as Error)?.message ?? String(err)}`, {cause: err}))
    }
  }
  worker.on('error', fail)
  worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)))
  slots.push(slot)
  return slot
}

function post(slot: Slot, message: ToWorker): void {
  slot.worker.postMessage(message)
}

/** Forget job `id` and release its worker. */
function settle(id: number): Job | undefined {
  const job = jobs.get(id)
  if (job === undefined) return undefined
  jobs.delete(id)
  job.detach()
  if (--job.slot.active === 0) job.slot.worker.unref()
  return job
}

function onMessage(slot: Slot, message: FromWorker): void {
  const job = jobs.get(message.id)
  if (job === undefined) return
  switch (message.type) {
    case 'progress':
      job.options.onProgress?.(message.bytes)
      return
    case 'warning':
      job.options.onWarning?.(message.message)
      return
    case 'lowers':
      Promise.resolve()
        .then(() => job.options.lowers!())
        .then(
          (lowers) => post(slot, {type: 'lowers', id: message.id, lowers: [...lowers]}),
          (err: unknown) => {
            job.lowersError = err
            post(slot, {type: 'lowers', id: message.id, error: (err as Error)?.message ?? String(err)})
          },
        )
      return
    case 'done':
      settle(message.id)
      job.resolve(message.result)
      return
    case 'error':
      settle(message.id)
      job.reject(job.lowersError ?? rebuild(message.error, job.options.signal))
      return
  }
}

const CLASSES: Record<ErrorKind, new (message: string) => BerthError> = {
  'invalid argument': InvalidArgument,
  'not found': NotFound,
  'already exists': AlreadyExists,
  'failed precondition': FailedPrecondition,
  conflict: Conflict,
  unavailable: Unavailable,
  'permission denied': PermissionDenied,
  'data loss': DataLoss,
  'not implemented': NotImplemented,
  internal: Internal,
}

/** The worker's error as this thread's equivalent: same class and message, the worker's stack. */
function rebuild(e: WorkerError, signal: AbortSignal | undefined): unknown {
  if (e.name === 'AbortError' && signal?.aborted) return signal.reason
  let err: Error & {code?: string}
  if (e.branded) {
    err = new CLASSES[e.kind](e.message)
  } else {
    err = new Error(e.message)
    err.name = e.name
  }
  if (e.code !== undefined) err.code = e.code
  if (e.stack !== undefined) err.stack = e.stack
  return err
}
