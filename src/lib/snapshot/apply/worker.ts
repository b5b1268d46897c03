// Worker-thread side of the apply pool (pool.ts): runs applyLayerHere for each job the main
// thread posts, relaying progress, warnings and the `lowers()` question back over the port.
//
// Invariant: one message protocol, defined in protocol.ts; a job always ends with exactly one
// 'done' or 'error' message. Bundled on its own as dist/bundle/apply-worker.cjs.
import {parentPort} from 'node:worker_threads'
import {errorKind, isBerthError} from '../../errors/index.js'
import {applyLayerHere} from './apply.js'
import type {FromWorker, ToWorker} from './protocol.js'

const port = parentPort
if (port === null) throw new Error('apply worker: not running in a worker thread')

const aborts = new Map<number, AbortController>()
const lowersWaiting = new Map<number, {resolve: (v: readonly string[]) => void; reject: (e: Error) => void}>()
const post = (message: FromWorker): void => port.postMessage(message)

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'apply':
      void run(message.id, message.options)
      return
    case 'lowers': {
      const waiting = lowersWaiting.get(message.id)
      lowersWaiting.delete(message.id)
      if (message.error !== undefined) waiting?.reject(new Error(message.error))
      else waiting?.resolve(message.lowers ?? [])
      return
    }
    case 'abort':
      aborts.get(message.id)?.abort(abortError(message.reason))
      return
  }
})

async function run(id: number, o: Extract<ToWorker, {type: 'apply'}>['options']): Promise<void> {
  const controller = new AbortController()
  aborts.set(id, controller)
  try {
    const result = await applyLayerHere({
      blobPath: o.blobPath,
      mediaType: o.mediaType,
      target: o.target,
      mode: o.mode,
      signal: controller.signal,
      ...(o.lowers
        ? {
            lowers: () =>
              new Promise<readonly string[]>((resolve, reject) => {
                lowersWaiting.set(id, {resolve, reject})
                post({type: 'lowers', id})
              }),
          }
        : {}),
      ...(o.progress ? {onProgress: (bytes: number) => post({type: 'progress', id, bytes})} : {}),
      ...(o.warnings ? {onWarning: (message: string) => post({type: 'warning', id, message})} : {}),
    })
    post({type: 'done', id, result})
  } catch (err) {
    const e = err as Error & {code?: unknown}
    post({
      type: 'error',
      id,
      error: {
        name: e?.name ?? 'Error',
        message: e?.message ?? String(err),
        kind: errorKind(err),
        branded: isBerthError(err),
        ...(typeof e?.code === 'string' ? {code: e.code} : {}),
        ...(typeof e?.stack === 'string' ? {stack: e.stack} : {}),
      },
    })
  } finally {
    aborts.delete(id)
    lowersWaiting.delete(id)
  }
}

function abortError(reason: string | undefined): Error {
  const err = new Error(reason ?? 'This operation was aborted')
  err.name = 'AbortError'
  return err
}
