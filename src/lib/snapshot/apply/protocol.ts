// The messages between the apply pool (main thread) and its workers: plain, structured-clonable data.
import type {ErrorKind} from '../../errors/index.js'
import type {ApplyLayerResult} from './apply.js'
import type {ApplyMode} from './extractor.js'

/** Main thread -> worker. */
export type ToWorker =
  | {
      readonly type: 'apply'
      readonly id: number
      readonly options: {
        readonly blobPath: string
        readonly mediaType: string
        readonly target: string
        readonly mode: ApplyMode
        /** The caller gave `lowers`: ask for them with a 'lowers' message. */
        readonly lowers: boolean
        readonly progress: boolean
        readonly warnings: boolean
      }
    }
  | {readonly type: 'lowers'; readonly id: number; readonly lowers?: readonly string[]; readonly error?: string}
  | {readonly type: 'abort'; readonly id: number; readonly reason?: string}

/** An error as it crosses the thread boundary. */
export interface WorkerError {
  readonly name: string
  readonly message: string
  readonly kind: ErrorKind
  /** A BerthError (rebuilt with its kind's class) rather than a foreign error. */
  readonly branded: boolean
  readonly code?: string
  readonly stack?: string
}

/** Worker -> main thread. */
export type FromWorker =
  | {readonly type: 'lowers'; readonly id: number}
  | {readonly type: 'progress'; readonly id: number; readonly bytes: number}
  | {readonly type: 'warning'; readonly id: number; readonly message: string}
  | {readonly type: 'done'; readonly id: number; readonly result: ApplyLayerResult}
  | {readonly type: 'error'; readonly id: number; readonly error: WorkerError}
