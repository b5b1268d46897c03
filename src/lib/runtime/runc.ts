// runc, called as a program. One runc state root per namespace (`<state>/runc/<ns>`) keeps the
// same container id apart in two namespaces. Errors become one line with runc's own message.
import {spawn} from 'node:child_process'
import {constants, existsSync, openSync, readFileSync, rmdirSync, rmSync} from 'node:fs'
import {basename, join} from 'node:path'
import {errorOfKind, type ErrorKind, Internal} from '../errors/index.js'
import {processAlive} from './proc.js'

export {runcRoot} from '../store/index.js'

/** The message of runc's last error line in its text (`msg="…"`) or JSON log format. */
export function runcMessage(output: string): string {
  const lines = output
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
  for (const line of lines.reverse()) {
    if (line.startsWith('{')) {
      try {
        const entry = JSON.parse(line) as {level?: string; msg?: string}
        if (entry.msg && (entry.level === 'error' || entry.level === 'fatal')) return entry.msg
      } catch {
        // not JSON after all
      }
      continue
    }
    const m = /level=(?:error|fatal) msg="((?:[^"\\]|\\.)*)"/.exec(line)
    if (m) return JSON.parse(`"${m[1]}"`) as string
    if (!line.includes('level=')) return line.trim()
  }
  return ''
}

/** A runc binary working in one state root. */
export class Runc {
  constructor(
    readonly binary: string,
    readonly root: string,
    readonly options: {readonly systemdCgroup?: boolean} = {},
  ) {}

  /** runc's global flags for this state root (and cgroup driver), before the subcommand. */
  globalArgs(): string[] {
    return ['--root', this.root, ...(this.options.systemdCgroup ? ['--systemd-cgroup'] : [])]
  }

  /**
   * Whether this is runc itself, whose state Berth may read and act on in-process (start, delete):
   * another runc-compatible runtime (`--runtime /path/to/binary`) may keep state of its own.
   */
  isRunc(): boolean {
    return basename(this.binary) === 'runc'
  }

  /** runc's state.json of `id`, or undefined when it cannot be read. */
  private readState(id: string): RuncState | undefined {
    try {
      return JSON.parse(readFileSync(join(this.root, id, 'state.json'), 'utf8')) as RuncState
    } catch {
      return undefined
    }
  }

  /** True when runc keeps state for `id` (no process needed to ask). */
  has(id: string): boolean {
    return existsSync(join(this.root, id, 'state.json'))
  }

  /** Let a created container's process run (`runc start`). */
  async start(id: string): Promise<void> {
    if (await this.startByExecFifo(id)) return
    await this.run(['start', id])
  }

  /**
   * What `runc start` does (runc 1.1: libcontainer's exec()), without a runc process: open the
   * container's exec.fifo for reading, which lets runc init, blocked opening it for writing, write
   * its byte and exec the process; then remove the fifo, as runc does. Poststart hooks ran at
   * create already (runc 1.1 runs them there); a state that has any is left to runc all the same,
   * and so is another runtime. The fifo is watched through the event loop (a non-blocking open,
   * then epoll: no HUP until a writer has come and gone), with runc's 100 ms check of the init
   * process, so a container whose init died never hangs ctr.
   * @returns false when runc has to do it (no fifo, init gone, nothing read): its error is the one to show.
   */
  private async startByExecFifo(id: string): Promise<boolean> {
    const state = this.isRunc() ? this.readState(id) : undefined
    if (state === undefined) return false
    const pid = state.init_process_pid
    if (typeof pid !== 'number' || pid <= 0 || (state.config?.Hooks?.poststart?.length ?? 0) > 0) return false
    const fifo = join(this.root, id, 'exec.fifo')
    let fd: number
    try {
      fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
    } catch {
      return false
    }
    const {Socket} = await import('node:net')
    return new Promise<boolean>((resolve) => {
      const reader = new Socket({fd, readable: true, writable: false})
      let read = 0
      const finish = (ok: boolean): void => {
        clearInterval(watch)
        reader.destroy()
        if (ok) rmSync(fifo, {force: true})
        resolve(ok)
      }
      const watch = setInterval(() => {
        if (!processAlive(pid, state.init_process_start)) finish(false)
      }, 100)
      reader.on('data', (chunk: Buffer) => (read += chunk.length))
      reader.on('end', () => finish(read > 0))
      reader.on('error', () => finish(false))
    })
  }

  async kill(id: string, signal: number, options: {all?: boolean} = {}): Promise<void> {
    await this.run(['kill', ...(options.all ? ['--all'] : []), id, String(signal)])
  }

  async pause(id: string): Promise<void> {
    await this.run(['pause', id])
  }

  async resume(id: string): Promise<void> {
    await this.run(['resume', id])
  }

  /** Remove runc's state of a container (stopped, or any state with `force`). Missing is fine. */
  async delete(id: string, options: {force?: boolean} = {}): Promise<void> {
    if (!this.has(id)) return
    if (this.deleteExited(id)) return
    const r = await this.run(['delete', ...(options.force ? ['--force'] : []), id], {allowFailure: true})
    if (r.code !== 0 && this.has(id)) throw new Internal(`runc delete ${id}: ${runcMessage(r.stderr) || `exit ${r.code}`}`)
  }

  /**
   * What `runc delete` does for a container whose init process has exited, done here instead of
   * in one more runc process (a Go start-up costs about as much CPU as a Node one, and conmon's
   * exit command pays it for every task): remove the container's cgroup directories, then its
   * state directory. Only the plain case: cgroupfs (not systemd), a PID namespace of its own (the
   * kernel killed every other process of the container with its init), no poststop hooks and no
   * Intel RDT group. Anything else, a state it cannot read, or a cgroup still busy is left to runc.
   * Only for runc itself: another runc-compatible runtime (`--runtime /path/to/binary`) may keep
   * state of its own, so its own `delete` always runs.
   * @returns true when the state is gone.
   */
  private deleteExited(id: string): boolean {
    const state = !this.options.systemdCgroup && this.isRunc() ? this.readState(id) : undefined
    if (state === undefined) return false
    const config = state.config
    const pid = state.init_process_pid
    if (
      typeof pid !== 'number' ||
      pid <= 0 ||
      typeof state.init_process_start !== 'number' ||
      !config ||
      typeof state.cgroup_paths !== 'object' ||
      state.cgroup_paths === null
    )
      return false
    if (processAlive(pid, state.init_process_start)) return false
    if (!config.namespaces?.some((n) => n.type === 'NEWPID' && !n.path)) return false
    if ((config.Hooks?.poststop?.length ?? 0) > 0 || state.intel_rdt_path) return false
    for (const dir of new Set(Object.values(state.cgroup_paths))) {
      if (typeof dir !== 'string' || !dir.startsWith('/sys/fs/cgroup/')) return false
      try {
        rmdirSync(dir)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false // busy: runc retries and reports
      }
    }
    rmSync(join(this.root, id), {recursive: true, force: true})
    return true
  }

  /** The pids of every process in the container. */
  async ps(id: string): Promise<number[]> {
    const r = await this.run(['ps', '--format', 'json', id])
    return (JSON.parse(r.stdout || '[]') as number[] | null) ?? []
  }

  /** One `runc events --stats` sample as runc printed it (JSON; callers parse it exactly). */
  async stats(id: string): Promise<string> {
    return (await this.run(['events', '--stats', id])).stdout
  }

  /** Run runc with the state root; a failure becomes an error of `kind` with runc's message. */
  async run(args: readonly string[], options: {allowFailure?: boolean; kind?: ErrorKind} = {}): Promise<{code: number; stdout: string; stderr: string}> {
    const result = await new Promise<{code: number; stdout: string; stderr: string}>((resolve, reject) => {
      const child = spawn(this.binary, [...this.globalArgs(), ...args], {stdio: ['ignore', 'pipe', 'pipe']})
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      child.on('error', (err) => reject(new Internal(`cannot run ${this.binary}: ${err.message}`, {cause: err})))
      child.on('close', (code, signal) => resolve({code: code ?? 128 + (signal ? 9 : 0), stdout, stderr}))
    })
    if (result.code !== 0 && !options.allowFailure) {
      const message = runcMessage(result.stderr) || `runc ${args[0]} exited with ${result.code}`
      throw errorOfKind(options.kind ?? classify(message), message)
    }
    return result
  }
}

/** The parts of runc's state.json (libcontainer's State) that deleteExited reads. */
interface RuncState {
  init_process_pid?: number
  init_process_start?: number
  cgroup_paths?: Record<string, unknown> | null
  intel_rdt_path?: string
  config?: {namespaces?: {type: string; path?: string}[] | null; Hooks?: {poststart?: unknown[] | null; poststop?: unknown[] | null} | null}
}

/** Map runc's message to Berth's error classes (not found, failed precondition, internal). */
function classify(message: string): ErrorKind {
  if (/does not exist|not exist|no such/i.test(message)) return 'not found'
  if (/not running|not paused|is paused|is stopped|container not running|cannot (pause|resume)/i.test(message)) return 'failed precondition'
  return 'internal'
}

/** runc's JSON log (`--log FILE --log-format json`): the last error message, or ''. */
export function runcLogError(path: string): string {
  try {
    return runcMessage(readFileSync(path, 'utf8'))
  } catch {
    return ''
  }
}
