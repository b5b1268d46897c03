// conmon, the per-task monitor of detached tasks (podman's design; DESIGN §7). conmon runs
// `runc create`, daemonizes, stays the parent of the container, keeps its log and attach socket,
// writes the exit status into the exit dir (and an `oom` file when OOM-killed), then runs the exit
// command: a hidden `ctr tasks cleanup` that records the exit with no other ctr running.
//
// The handshake: fd 3 is a pipe and `_OCI_SYNCPIPE=3`; conmon writes one JSON line, `{"data": <pid>}`
// once the container is created or `{"data": -1, "message": "..."}`. conmon keeps the pipe open,
// so the line is read up to its newline, never to EOF.
import {spawn} from 'node:child_process'
import {readFileSync, statSync} from 'node:fs'
import {FailedPrecondition, Internal} from '../errors/index.js'
import {UNKNOWN_EXIT_STATUS} from '../store/index.js'
import {readPid} from './proc.js'
import {runcMessage} from './runc.js'
import {outputStdio, type TaskOutput} from './task-output.js'
import {runtimeStartError} from './exec-failure.js'

export interface ConmonOptions {
  readonly conmon: string
  readonly runc: string
  /** runc's global flags (Runc.globalArgs(): its state root, cgroup driver), passed as --runtime-arg. */
  readonly runcArgs: readonly string[]
  /** Start the container without pivot_root (`--no-pivot`; create only). */
  readonly noPivot?: boolean
  readonly id: string
  /** Unique per run; names the attach socket's session and the exit command's instance. */
  readonly instance: string
  readonly bundle: string
  readonly pidFile: string
  readonly conmonPidFile: string
  /** The k8s-file log, or `passthrough`: the process writes straight into a file or a logging program (`--log-uri`). */
  readonly logPath: string | {readonly passthrough: TaskOutput}
  readonly exitDir: string
  readonly persistDir: string
  readonly terminal: boolean
  /** Keep a stdin pipe for `tasks attach`. */
  readonly stdin: boolean
  /** argv of the program conmon runs after the container exits. */
  readonly exitCommand: readonly string[]
  /** Exec mode: run `processSpec` in the running container instead of creating it. */
  readonly exec?: {readonly processSpec: string}
  /** Restore mode: `runc restore` the CRIU image in `imageDir` instead of creating the container. */
  readonly restore?: {readonly imageDir: string; readonly workDir: string; readonly criu: string; readonly tcpEstablished?: boolean}
}

/** What conmon reported: the container's (or exec'd process's) pid and conmon's own. */
export interface ConmonStarted {
  pid: number
  conmonPid: number
}

/** Start conmon and wait for its handshake. @throws FailedPrecondition with runc's message. */
export async function startConmon(o: ConmonOptions): Promise<ConmonStarted> {
  const args = ['--api-version', '1', '-c', o.id, '-u', o.instance, '-n', o.id, '-r', o.runc, ...o.runcArgs.flatMap((a) => ['--runtime-arg', a])]
  if (o.noPivot && !o.exec) args.push('--no-pivot')
  const passthrough = typeof o.logPath === 'string' ? undefined : o.logPath.passthrough
  args.push('-b', o.bundle, '-p', o.pidFile, '-P', o.conmonPidFile, '-l', passthrough === undefined ? `k8s-file:${o.logPath as string}` : 'passthrough')
  args.push('--exit-dir', o.exitDir, '-0', o.persistDir)
  args.push('--socket-dir-path', o.persistDir, '--full-attach', '--log-level', 'error')
  if (o.terminal) args.push('-t')
  if (o.stdin) args.push('-i', '--leave-stdin-open') // a detaching attach client must not end the task's input
  if (o.exec) args.push('-e', '--exec-process-spec', o.exec.processSpec)
  if (o.restore) {
    // runc's --criu is a global flag; --work-path keeps CRIU's restore.log where we can quote it.
    args.push(
      '--restore',
      o.restore.imageDir,
      '--runtime-opt',
      '--work-path',
      '--runtime-opt',
      o.restore.workDir,
      '--runtime-arg',
      '--criu',
      '--runtime-arg',
      o.restore.criu,
    )
    if (o.restore.tcpEstablished) args.push('--runtime-opt', '--tcp-established')
  }
  const [command, ...commandArgs] = o.exitCommand
  if (command) {
    args.push('--exit-command', command)
    for (const a of commandArgs) args.push('--exit-command-arg', a)
  }
  // With passthrough, conmon hands its own stdout and stderr to the container: the log file or program.
  const out = passthrough === undefined ? undefined : outputStdio(passthrough)
  let child: ReturnType<typeof spawn>
  try {
    child = spawn(o.conmon, args, {
      detached: true, // its own session: a terminal's signals to ctr never reach the monitor
      stdio: ['ignore', out?.stdout ?? 'ignore', out?.stderr ?? 'pipe', 'pipe'],
      env: {...process.env, _OCI_SYNCPIPE: '3'},
      cwd: o.bundle,
    })
  } finally {
    out?.close()
  }
  const sync = child.stdio[3] as NodeJS.ReadableStream & {destroy(): void}
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let buf = ''
      sync.setEncoding('utf8')
      sync.on('data', (d: string) => {
        buf += d
        const nl = buf.indexOf('\n')
        if (nl >= 0) resolve(buf.slice(0, nl))
      })
      sync.on('end', () => resolve(buf))
      child.on('error', (err) => reject(new Internal(`cannot run ${o.conmon}: ${err.message}`, {cause: err})))
      // conmon's first process exits at once (it forks the monitor); only a failure before the
      // handshake leaves the pipe without a line.
      child.on('exit', (code) => {
        if (code !== 0) setTimeout(() => resolve(buf), 20)
      })
    })
    let reply: {data?: number; message?: string}
    try {
      reply = JSON.parse(line) as {data?: number; message?: string}
    } catch {
      throw new FailedPrecondition(`conmon failed: ${runcMessage(stderr) || stderr.trim() || 'no reply'}`)
    }
    if (typeof reply.data !== 'number' || reply.data <= 0) {
      const why = runcMessage(reply.message ?? '') || reply.message || runcMessage(stderr) || stderr.trim() || 'unknown error'
      throw runtimeStartError(`OCI runtime ${o.exec ? 'exec' : o.restore ? 'restore' : 'create'} failed: ${why}`)
    }
    return {pid: reply.data, conmonPid: readPid(o.conmonPidFile) ?? 0}
  } finally {
    sync.destroy()
    child.stderr?.destroy()
    child.unref()
  }
}

/**
 * The exit conmon wrote to its exit file: the status as decimal text (128+N after signal N), the
 * file's mtime as the exit time (µs, and ns for the event). Undefined while there is none (or it is being written).
 */
export function readExitFile(path: string): {exitStatus: number; exitedAt: number; exitedAtNs: bigint; known: boolean} | undefined {
  let text: string
  let mtimeNs: bigint
  try {
    text = readFileSync(path, 'latin1').trim()
    mtimeNs = statSync(path, {bigint: true}).mtimeNs
  } catch {
    return undefined
  }
  if (text === '') return undefined
  const code = Number(text)
  return {
    exitStatus: Number.isInteger(code) ? code : UNKNOWN_EXIT_STATUS,
    exitedAt: Number(mtimeNs / 1000n),
    exitedAtNs: mtimeNs,
    known: Number.isInteger(code),
  }
}
