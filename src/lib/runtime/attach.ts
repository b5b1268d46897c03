// Attaching to a detached task through conmon's attach socket (`<taskdir>/attach`, SOCK_SEQPACKET).
// conmon's protocol (conmon src/ctr_stdio.c, conn_sock.c): every packet it sends is one byte naming
// the stream (2 stdout, 3 stderr) followed by up to 8192 bytes of output; what the client sends is
// raw stdin, which reaches the process only when conmon keeps a stdin pipe (terminal tasks). conmon
// closes every attached socket when the process exits, just before it writes the exit status. A
// terminal's size goes to conmon's `ctl` FIFO as `1 <rows> <columns>\n`.
//
// Invariants: a terminal put into raw mode is restored however the attach ends; the socket is
// shut down before it is closed, so a read blocked on it in libuv's thread pool always returns.
import {close, closeSync, constants as fsConstants, existsSync, openSync, read, write, writeSync} from 'node:fs'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {FailedPrecondition} from '../errors/index.js'
import {seqpacketConnect, SHUT_RDWR, SHUT_WR, shutdownSocket} from '../sys/index.js'
import {getTask, taskPaths, type TaskRuntime, waitTask} from './tasks.js'
import {isStopped} from '../store/task-state.js'

const readAsync = promisify(read)
const writeAsync = promisify(write)
const closeAsync = promisify(close)

/** conmon's stream ids (its `stdpipe_t`). */
const STDOUT_PIPE = 2
const STDERR_PIPE = 3
/** conmon sends at most 8192 bytes plus the id; more room costs nothing and survives a bigger conmon. */
const PACKET_BUFFER = 64 * 1024
/** conmon reads at most 32768 bytes per packet; stay well below. */
const MAX_WRITE = 8192
/** conmon's ctl FIFO message type for a window resize. */
const WIN_RESIZE_EVENT = 1
/** ctrl-p ctrl-q, docker's and podman's detach keys. */
const DETACH_KEYS = Buffer.from([0x10, 0x11])

/** A terminal input (process.stdin when it is a TTY). */
interface TtyInput extends NodeJS.ReadableStream {
  isTTY?: boolean
  setRawMode?(mode: boolean): unknown
}

/** A terminal output (process.stdout when it is a TTY): its size and `resize` events. */
interface TtyOutput extends NodeJS.WritableStream {
  isTTY?: boolean
  rows?: number
  columns?: number
}

/** The streams an attach connects. */
export interface AttachIo {
  /** Forwarded to a terminal task (others have no stdin); raw mode while attached when a TTY. */
  readonly stdin?: TtyInput
  readonly stdout: TtyOutput
  readonly stderr: NodeJS.WritableStream
}

/** How an attach ended. */
export interface AttachResult {
  /** The task's exit status when it exited (and was recorded) while attached. */
  readonly exitStatus?: number
  /** True when the user detached (ctrl-p ctrl-q) or a signal ended the attach. */
  readonly detached: boolean
}

/**
 * Attach to a detached task's output (and, for a terminal task, its input) until it exits or the
 * user detaches with ctrl-p ctrl-q (on a terminal) or ctr gets SIGTERM or SIGHUP.
 * @returns the exit status when the task exited, waiting briefly for it to be recorded.
 * @throws NotFound for an unknown task; FailedPrecondition for a stopped task or one without an
 *   attach socket (a foreground task).
 */
export async function attachTask(rt: TaskRuntime, id: string, io: AttachIo): Promise<AttachResult> {
  const t = await getTask(rt, id)
  if (t.monitor === 'client') throw new FailedPrecondition(`task ${id} has no attach socket: it runs in the foreground of another ctr`)
  if (isStopped(t)) throw new FailedPrecondition(`task ${id} is stopped: nothing to attach to`, {suffixKind: true})
  const paths = taskPaths(rt.store.state, rt.ns, id)
  if (!existsSync(paths.attach)) throw new FailedPrecondition(`task ${id} has no attach socket`)
  let fd: number
  try {
    fd = seqpacketConnect(paths.attach)
  } catch (err) {
    // conmon is gone: the task exited between the check and the connect.
    const now = await getTask(rt, id)
    if (isStopped(now)) throw new FailedPrecondition(`task ${id} is stopped: nothing to attach to`, {suffixKind: true, cause: err})
    throw new FailedPrecondition(`task ${id}: cannot connect to its attach socket: ${(err as Error).message}`, {cause: err})
  }

  const session = new Session(fd, io, t.terminal, join(paths.dir, 'ctl'))
  let detached: boolean
  try {
    detached = await session.run()
  } finally {
    session.restore()
    await closeAsync(fd).catch(() => undefined)
  }
  if (detached) return {detached}
  try {
    const done = await waitTask(rt, id, {timeoutMs: 3000, intervalMs: 20})
    return {exitStatus: done.exitStatus, detached}
  } catch {
    return {detached} // conmon closed the socket without the task exiting (yet)
  }
}

/** One connection: pumps output until end-of-file, input until the end or a detach. */
class Session {
  private detached = false
  private closed = false
  private pendingInput: Promise<void> = Promise.resolve()
  private readonly cleanups: (() => void)[] = []

  constructor(
    private readonly fd: number,
    private readonly io: AttachIo,
    private readonly terminal: boolean,
    private readonly ctlFifo: string,
  ) {}

  /** @returns whether the session ended by detaching (else the socket was closed by conmon). */
  async run(): Promise<boolean> {
    const onSignal = (): void => this.detach()
    for (const s of ['SIGTERM', 'SIGHUP'] as const) {
      process.on(s, onSignal)
      this.cleanups.push(() => process.off(s, onSignal))
    }
    if (this.terminal) {
      this.startInput()
      this.startResize()
    }
    await this.pumpOutput()
    this.closed = true
    await this.pendingInput
    return this.detached
  }

  /** Undo raw mode, listeners and signal handlers; idempotent. */
  restore(): void {
    for (const c of this.cleanups.splice(0).reverse()) c()
  }

  private detach(): void {
    this.detached = true
    this.shutdown(SHUT_RDWR) // the pending read returns end-of-file
  }

  private shutdown(how: number): void {
    try {
      shutdownSocket(this.fd, how)
    } catch {
      // already closed by conmon
    }
  }

  private async pumpOutput(): Promise<void> {
    for (;;) {
      const buf = Buffer.allocUnsafe(PACKET_BUFFER) // fresh: the streams may keep a reference
      let n: number
      try {
        n = (await readAsync(this.fd, buf, 0, buf.length, null)).bytesRead
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EINTR' || (err as NodeJS.ErrnoException).code === 'EAGAIN') continue
        return // ECONNRESET and the like: the connection is over
      }
      if (n === 0) return
      const target = buf[0] === STDOUT_PIPE ? this.io.stdout : buf[0] === STDERR_PIPE ? this.io.stderr : undefined
      if (target && n > 1) await writeStream(target, buf.subarray(1, n))
    }
  }

  private startInput(): void {
    const stdin = this.io.stdin
    if (!stdin) return
    const tty = stdin.isTTY === true && typeof stdin.setRawMode === 'function'
    if (tty) {
      stdin.setRawMode!(true)
      this.cleanups.push(() => stdin.setRawMode!(false))
    }
    let held = Buffer.alloc(0) // a trailing ctrl-p that may start the detach sequence
    const onData = (chunk: Buffer | string): void => {
      let data = Buffer.concat([held, typeof chunk === 'string' ? Buffer.from(chunk) : chunk])
      held = Buffer.alloc(0)
      if (tty) {
        const at = data.indexOf(DETACH_KEYS)
        if (at >= 0) {
          this.send(data.subarray(0, at))
          this.detach()
          return
        }
        if (data.at(-1) === DETACH_KEYS[0]) {
          held = data.subarray(data.length - 1)
          data = data.subarray(0, data.length - 1)
        }
      }
      this.send(data)
    }
    const onEnd = (): void => {
      this.send(held)
      // As podman does: the end of our input ends the process's (conmon closes its stdin).
      this.pendingInput = this.pendingInput.then(() => {
        if (!this.closed) this.shutdown(SHUT_WR)
      })
    }
    stdin.on('data', onData)
    stdin.on('end', onEnd)
    stdin.resume()
    this.cleanups.push(() => {
      stdin.off('data', onData)
      stdin.off('end', onEnd)
      stdin.pause()
      // A paused stdin still holds the event loop while it has a handle; let ctr exit.
      ;(stdin as NodeJS.ReadableStream & {unref?: () => void}).unref?.()
    })
  }

  /** Queue `data` for the socket in conmon-sized packets, in order. */
  private send(data: Buffer): void {
    if (data.length === 0) return
    const copy = Buffer.from(data)
    this.pendingInput = this.pendingInput.then(async () => {
      for (let off = 0; off < copy.length && !this.closed; ) {
        try {
          off += (await writeAsync(this.fd, copy, off, Math.min(MAX_WRITE, copy.length - off), null)).bytesWritten
        } catch {
          return // EPIPE: conmon went away; the output side notices
        }
      }
    })
  }

  /** Tell conmon our terminal's size now and whenever it changes. */
  private startResize(): void {
    const out = this.io.stdout
    if (out.isTTY !== true) return
    const send = (): void => {
      if (!out.rows || !out.columns) return
      try {
        // conmon holds the FIFO's read end open; non-blocking so a stuck conmon cannot hang us.
        const ctl = openSync(this.ctlFifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK)
        try {
          writeSync(ctl, `${WIN_RESIZE_EVENT} ${out.rows} ${out.columns}\n`)
        } finally {
          closeSync(ctl)
        }
      } catch {
        // best effort: an older conmon, or it is exiting
      }
    }
    send()
    out.on('resize', send)
    this.cleanups.push(() => out.off('resize', send))
  }
}

/** Write and wait until the stream has handled it (back-pressure; a failed write ends the wait too). */
function writeStream(stream: NodeJS.WritableStream, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    stream.write(data, () => resolve())
  })
}
