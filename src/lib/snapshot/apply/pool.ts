// An optional pool of worker threads that apply layers, so that several layers extracting at
// once can use more cores and leave the main thread to the downloads (extraction is synchronous
// filesystem work; see apply.ts).
//
// Off by default (BERTH_APPLY_WORKERS unset or 0): measured on the 2-core reference machine, the
// pool made the 8-layer bench image's extraction 15-30% faster in isolation but the whole
// `ctr images pull` only within noise (0.95-1.24 s against 0.98-1.10 s in the calling thread),
// for 35-75 MiB more peak memory (one V8 isolate per worker). BERTH_APPLY_WORKERS=N turns it on.
//
// Invariants: workers start lazily (none until the first layer) and never keep the process alive
// while idle (unref'd; ref'd while they run a job). A job's callbacks (`lowers`, `onProgress`,
// `onWarning`) run on the calling thread; its AbortSignal reaches the worker as a message. Errors
// come back with their kind (the same BerthError class) and message. With the pool off, for
// blobs under 4 MiB, or when the worker script is not next to this module (e.g. run from
// TypeScript sources), layers are applied in the calling thread. A worker that dies fails its
// jobs with Internal.
import {existsSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Worker} from 'node:worker_threads'
import {errorOfKind, Internal} from '../../errors/index.js'
import {applyLayerHere, type ApplyLayerOptions, type ApplyLayerResult} from './apply.js'
import type {FromWorker, ToWorker, WorkerError} from './protocol.js'

/** Most workers started, whatever is asked: extraction is also bound by the disk. */
const MAX_WORKERS = 16
/**
 * Blobs smaller than this are applied in the calling thread: starting a worker costs about
 * 40 ms here, more than extracting a few MiB takes.
 */
const POOL_MIN_BYTES = 4 << 20

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
 * Applies a layer in a pool worker when the pool is on (BERTH_APPLY_WORKERS), else in this
 * thread; same contract as {@link applyLayerHere}.
 * @returns the layer's diffId and uncompressed size.
 * @throws the same error kinds as applyLayerHere.
 */
export function applyLayerPooled(options: ApplyLayerOptions): Promise<ApplyLayerResult> {
  const path = workerScript()
  const size = poolSize()
  if (path === null || size === 0 || blobSize(options.blobPath) < POOL_MIN_BYTES) return applyLayerHere(options)
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

/** @returns the blob's size, or 0 when it cannot be read (applyLayerHere then says why). */
function blobSize(path: string): number {
  return statSync(path, {throwIfNoEntry: false})?.size ?? 0
}

/** @returns how many pool workers are running (for tests and diagnostics). */
export function poolWorkers(): number {
  return slots.length
}

/** Workers to use: BERTH_APPLY_WORKERS (a number; unset or 0: none, apply in the calling thread), at most 16. */
function poolSize(): number {
  const configured = process.env.BERTH_APPLY_WORKERS
  return configured !== undefined && /^\d+$/.test(configured) ? Math.min(Number(configured), MAX_WORKERS) : 0
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
      // Aborted while the answer was on its way: the caller has given up on this target.
      if (job.options.signal?.aborted) job.reject(job.options.signal.reason)
      else job.resolve(message.result)
      return
    case 'error':
      settle(message.id)
      job.reject(job.lowersError ?? rebuild(message.error, job.options.signal))
      return
  }
}

/** The worker's error as this thread's equivalent: same class and message, the worker's stack. */
function rebuild(e: WorkerError, signal: AbortSignal | undefined): unknown {
  if (e.name === 'AbortError' && signal?.aborted) return signal.reason
  let err: Error & {code?: string}
  if (e.branded) {
    err = errorOfKind(e.kind, e.message)
  } else {
    err = new Error(e.message)
    err.name = e.name
  }
  if (e.code !== undefined) err.code = e.code
  if (e.stack !== undefined) err.stack = e.stack
  return err
}
