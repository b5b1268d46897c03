// Opens a real store in a temporary directory for library-level tests, writes test blobs, and
// runs content writers in child processes (for kill and single-flight tests).
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {interpret} from '../../src/lib/config/index.js'
import {describe} from '../../src/lib/errors/index.js'
import {openStore, type Store} from '../../src/lib/store/index.js'
import {removeTree} from '../../src/lib/sys/tree.js'

export interface TempStore {
  readonly dir: string
  readonly store: Store
  cleanup(): void
}

/** A fresh store under a temp dir; `config` overrides config-file keys (TOML names). */
export async function tempStore(config: Record<string, unknown> = {}): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-store-'))
  const store = await openStore({root: join(dir, 'root'), state: join(dir, 'state'), config: {source: undefined, ...interpret(config)}})
  return {
    dir,
    store,
    cleanup() {
      store.close()
      removeTree(dir) // a test may leave a tree deeper than rmSync can take
    },
  }
}

/** Events as [namespace, topic, payload] triples, in order. */
export function eventTriples(store: Store): Array<[string, string, unknown]> {
  return (
    store.db.prepare('SELECT namespace, topic, payload FROM events ORDER BY seq').all() as Array<{namespace: string; topic: string; payload: string}>
  ).map((r) => [r.namespace, r.topic, JSON.parse(r.payload)])
}

/** A second store on the same root (another "process" as far as SQLite and flock care). */
export async function reopenStore(t: TempStore, config: Record<string, unknown> = {}): Promise<Store> {
  return openStore({root: t.store.root, state: t.store.state, config: {source: undefined, ...interpret(config)}})
}

/** Bytes with their sha256 digest and size, as a descriptor would describe them. */
export interface TestBlob {
  readonly bytes: Buffer
  readonly digest: string
  readonly size: number
}

/** A blob of `text` (or of `size` pseudo-random bytes seeded by `text`). */
export function testBlob(text: string, size?: number): TestBlob {
  let bytes = Buffer.from(text)
  if (size !== undefined) {
    const chunks: Buffer[] = []
    for (let i = 0, n = 0; n < size; i++, n += 32) chunks.push(createHash('sha256').update(`${text}/${i}`).digest())
    bytes = Buffer.concat(chunks).subarray(0, size)
  }
  return {bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length}
}

/**
 * Make `blob` visible in `ns` through the writer: stream it when told to, commit with `labels`.
 * Returns the status openWriter gave.
 */
export async function putBlob(
  store: Store,
  ns: string,
  blob: TestBlob,
  options: {labels?: Record<string, string>; leaseId?: string; ref?: string; mediaType?: string} = {},
): Promise<'exists' | 'shared' | 'write'> {
  const opened = await store.content.openWriter(ns, {
    ref: options.ref ?? `test-${blob.digest}`,
    expected: {digest: blob.digest, size: blob.size},
    leaseId: options.leaseId,
  })
  if (opened.status !== 'write') {
    if (options.labels) store.content.setLabels(ns, blob.digest, options.labels)
    return opened.status
  }
  await opened.writer.write(blob.bytes.subarray(opened.writer.offset))
  await opened.writer.commit({labels: options.labels, mediaType: options.mediaType})
  return 'write'
}

/** Row count of `table`, optionally in one namespace. */
export function countRows(store: Store, table: string, namespace?: string): number {
  const where = namespace === undefined ? '' : ' WHERE namespace = ?'
  const stmt = store.db.prepare(`SELECT count(*) AS n FROM ${table}${where}`)
  return (namespace === undefined ? (stmt.get() as {n: number}) : (stmt.get(namespace) as {n: number})).n
}

/** Digests of the files under `<root>/content/blobs/sha256/`, sorted. */
export function blobFiles(store: Store): string[] {
  try {
    return readdirSync(join(store.root, 'content', 'blobs', 'sha256'))
      .map((h) => `sha256:${h}`)
      .sort()
  } catch {
    return []
  }
}

/** What a writer child process is told to do (see `writerWorkerMain`). */
export interface WriterJob {
  root: string
  state: string
  policy: 'shared' | 'isolated'
  namespace: string
  ref: string
  /** File holding the blob's bytes. */
  file: string
  digest: string
  chunkSize: number
  /** Pause between chunks, so that another writer can arrive meanwhile. */
  delayMs: number
  /** Stop (and wait to be killed) once this many bytes are in the ingest. */
  pauseAt?: number
  /** Wall-clock ms at which to call openWriter, so that several children start together. */
  startAt?: number
}

/** One JSON line a writer child prints. */
export interface WriterReport {
  event: 'opened' | 'paused' | 'committed' | 'error'
  status?: string
  offset?: number
  at: number
  message?: string
}

/**
 * Body of a writer child process: `node --input-type=module -e "…writerWorkerMain(json)"`. Prints
 * one JSON line per step; exits non-zero on error.
 */
export async function writerWorkerMain(jobJson: string): Promise<void> {
  const job = JSON.parse(jobJson) as WriterJob
  const say = (r: Omit<WriterReport, 'at'>) => process.stdout.write(`${JSON.stringify({...r, at: Date.now()})}\n`)
  const store = await openStore({root: job.root, state: job.state, config: {source: undefined, ...interpret({content_sharing_policy: job.policy})}})
  try {
    const bytes = readFileSync(job.file)
    if (job.startAt !== undefined) await sleep(job.startAt - Date.now())
    const opened = await store.content.openWriter(job.namespace, {ref: job.ref, expected: {digest: job.digest, size: bytes.length}})
    if (opened.status !== 'write') {
      say({event: 'opened', status: opened.status})
      return
    }
    const w = opened.writer
    say({event: 'opened', status: 'write', offset: w.offset})
    while (w.offset < bytes.length) {
      if (job.pauseAt !== undefined && w.offset >= job.pauseAt) {
        say({event: 'paused', offset: w.offset})
        await new Promise(() => setInterval(() => {}, 1000)) // until SIGKILL
      }
      await w.write(bytes.subarray(w.offset, w.offset + job.chunkSize))
      if (job.delayMs > 0) await sleep(job.delayMs)
    }
    await w.commit()
    say({event: 'committed'})
  } catch (err) {
    say({event: 'error', message: describe(err)})
    process.exitCode = 1
  } finally {
    store.close()
  }
}

/** A running writer child: its reports so far, a way to wait for one, and SIGKILL. */
export interface WriterChild {
  readonly reports: WriterReport[]
  waitFor(event: WriterReport['event']): Promise<WriterReport>
  exited: Promise<number | null>
  kill(): Promise<void>
}

/** Spawn a writer child process running `writerWorkerMain(job)`. */
export function spawnWriter(job: WriterJob): WriterChild {
  const helper = new URL('./store.js', import.meta.url).href
  const code = `const m = await import(${JSON.stringify(helper)}); await m.writerWorkerMain(process.argv[1])`
  const child = spawn(process.execPath, ['--input-type=module', '-e', code, JSON.stringify(job)], {stdio: ['ignore', 'pipe', 'inherit']})
  const reports: WriterReport[] = []
  const waiters: Array<() => void> = []
  let buffered = ''
  child.stdout.on('data', (d: Buffer) => {
    buffered += d.toString()
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      reports.push(JSON.parse(buffered.slice(0, nl)) as WriterReport)
      buffered = buffered.slice(nl + 1)
      for (const w of waiters.splice(0)) w()
    }
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)))
  return {
    reports,
    exited,
    waitFor(event) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = reports.find((r) => r.event === event)
          if (found) return resolve(found)
          const failed = reports.find((r) => r.event === 'error')
          if (failed) return reject(new Error(`writer failed: ${failed.message}`))
          waiters.push(check)
        }
        check()
        void exited.then(() =>
          setImmediate(() => {
            if (!reports.some((r) => r.event === event)) reject(new Error(`writer exited before ${event}`))
          }),
        )
      })
    },
    async kill() {
      child.kill('SIGKILL')
      await exited
    },
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}
