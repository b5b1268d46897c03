// Task logs: conmon's k8s-file format, parsed and followed. Each record is one line,
// `<RFC3339Nano time> <stdout|stderr> <F|P> <text>\n`; `P` marks a partial line (the process wrote
// no newline yet), whose continuation follows in the next record. Bytes are kept as written (no
// decoding), and a malformed line is skipped, never fatal. Following polls the file: the log is
// written by conmon, which outlives every ctr, so there is nobody to notify us.
import {existsSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {FailedPrecondition, isNotFound} from '../errors/index.js'
import {execPaths, getExec} from './exec.js'
import {getTask, taskPaths, type TaskRuntime} from './tasks.js'
import {isUnfinished} from '../store/task-state.js'

export type LogStream = 'stdout' | 'stderr'

/** One k8s-file record. */
export interface LogEntry {
  /** The timestamp as conmon wrote it (RFC3339Nano with the local offset). */
  readonly time: string
  readonly stream: LogStream
  /** True for a `P` record: the text continues in the next record, so print no newline. */
  readonly partial: boolean
  /** The process's bytes, without the record's newline. */
  readonly text: Buffer
}

const SPACE = 0x20
const NEWLINE = 0x0a

/**
 * Parse one record (its bytes without the trailing newline).
 * @returns the entry, or undefined when the line is not a k8s-file record.
 */
export function parseLogLine(line: Buffer): LogEntry | undefined {
  const s1 = line.indexOf(SPACE)
  if (s1 <= 0) return undefined
  const s2 = line.indexOf(SPACE, s1 + 1)
  if (s2 < 0) return undefined
  const stream = line.toString('latin1', s1 + 1, s2)
  if (stream !== 'stdout' && stream !== 'stderr') return undefined
  // The tag may carry more, colon-separated (the CRI format allows `F:...`); its letter is what counts.
  const s3 = line.indexOf(SPACE, s2 + 1)
  const tag = line.toString('latin1', s2 + 1, s3 < 0 ? line.length : s3)
  if (!/^[FP](:|$)/.test(tag)) return undefined
  // conmon always writes the space before the text; tolerate its absence for an empty text.
  const text = s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1)
  const time = line.toString('latin1', 0, s1)
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(time)) return undefined
  return {time, stream, partial: tag[0] === 'P', text}
}

/** Splits a byte stream into lines; an unterminated tail waits for the next chunk. */
export class LineSplitter {
  private tail: Buffer = Buffer.alloc(0)

  /** @returns the complete lines (without newlines) that `chunk` finishes; they may share `chunk`'s memory. */
  push(chunk: Buffer): Buffer[] {
    const data = this.tail.length === 0 ? chunk : Buffer.concat([this.tail, chunk])
    const lines: Buffer[] = []
    let start = 0
    for (let nl = data.indexOf(NEWLINE); nl >= 0; nl = data.indexOf(NEWLINE, start)) {
      lines.push(data.subarray(start, nl))
      start = nl + 1
    }
    this.tail = Buffer.from(data.subarray(start)) // a copy: the caller may reuse `chunk`
    return lines
  }

  /** The unterminated tail (a record cut short), emptied; [] when there is none. */
  flush(): Buffer[] {
    const rest = this.tail
    this.tail = Buffer.alloc(0)
    return rest.length === 0 ? [] : [rest]
  }
}

/** How {@link readLog} reads. */
export interface ReadLogOptions {
  /** Keep reading new records until `running()` says the writer is done. */
  readonly follow?: boolean
  /** Whether the process still runs (only asked when following). A rejection counts as "stopped". */
  readonly running?: () => Promise<boolean>
  /** Called for every record, in file order; awaited (output back-pressure). */
  readonly onEntry: (entry: LogEntry) => void | Promise<void>
  /** Called for every line that is not a record. */
  readonly onBadLine?: (line: Buffer) => void
  /** How often to look for new records while following; default 100 ms. */
  readonly intervalMs?: number
  readonly signal?: AbortSignal
}

/** What {@link readLog} saw. */
export interface ReadLogResult {
  entries: number
  badLines: number
}

const CHUNK = 64 * 1024

/**
 * Read the k8s-file log at `path` from the start. Without `follow` it stops at the end of the
 * file; with it, it polls for more until `running()` reports false, then reads what was written up
 * to then (the writer finishes the log before the exit is recorded) and stops. A file truncated
 * meanwhile is read again from its start.
 * @returns the number of records and malformed lines seen.
 * @throws the file's open error (ENOENT, ...).
 */
export async function readLog(path: string, o: ReadLogOptions): Promise<ReadLogResult> {
  const file = await open(path, 'r')
  const result: ReadLogResult = {entries: 0, badLines: 0}
  const splitter = new LineSplitter()
  let position = 0
  const emit = async (lines: Buffer[]): Promise<void> => {
    for (const line of lines) {
      const entry = parseLogLine(line)
      if (entry) {
        result.entries++
        await o.onEntry(entry)
      } else {
        result.badLines++
        o.onBadLine?.(line)
      }
    }
  }
  const readToEnd = async (): Promise<void> => {
    if ((await file.stat()).size < position) {
      position = 0 // truncated (rotated in place): start over
      splitter.flush()
    }
    for (;;) {
      // A fresh buffer each time: entries are slices of it, and a stream may hold on to them.
      const buf = Buffer.allocUnsafe(CHUNK)
      const {bytesRead} = await file.read(buf, 0, buf.length, position)
      if (bytesRead === 0) return
      position += bytesRead
      await emit(splitter.push(buf.subarray(0, bytesRead)))
    }
  }
  try {
    await readToEnd()
    while (o.follow && !o.signal?.aborted) {
      const running = o.running ? await o.running().catch(() => false) : false
      if (!running) {
        await readToEnd()
        break
      }
      await sleep(o.intervalMs ?? 100, o.signal)
      await readToEnd()
    }
    await emit(splitter.flush())
    return result
  } finally {
    await file.close()
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, {once: true})
  })
}

/** Which log {@link taskLog} reads and how. */
export interface TaskLogOptions extends Omit<ReadLogOptions, 'running'> {
  /** A detached exec'd process's log instead of the task's. */
  readonly execId?: string
}

/**
 * Print the log of a detached task (or of one of its detached exec'd processes) through
 * `onEntry`; with `follow`, until the process exits.
 * @throws NotFound for an unknown task or exec id; FailedPrecondition for a task without a log:
 *   a foreground one (its output goes to its ctr's terminal) or one started with --null-io.
 */
export async function taskLog(rt: TaskRuntime, id: string, o: TaskLogOptions): Promise<ReadLogResult> {
  const t = await getTask(rt, id)
  let path: string
  let running: () => Promise<boolean>
  if (o.execId !== undefined) {
    const execId = o.execId
    await getExec(rt, id, execId)
    path = execPaths(rt.store.state, rt.ns, id, execId).log
    if (!existsSync(path))
      throw new FailedPrecondition(`process ${execId} of task ${id} has no log: it runs in the foreground of another ctr or with --null-io`)
    running = async () => isUnfinished(await getExec(rt, id, execId))
  } else {
    if (t.monitor === 'client') throw new FailedPrecondition(`task ${id} has no log: it runs in the foreground of another ctr`)
    path = taskPaths(rt.store.state, rt.ns, id).log
    if (!existsSync(path)) throw new FailedPrecondition(`task ${id} has no log: it was started with --null-io`)
    running = async () => {
      const now = await getTask(rt, id)
      return now.instance === t.instance && isUnfinished(now)
    }
  }
  try {
    return await readLog(path, {...o, running})
  } catch (err) {
    // Deleted while we opened it: nothing to print.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || isNotFound(err)) return {entries: 0, badLines: 0}
    throw err
  }
}
