// Runs an external tool (tar, skopeo, umoci, ...) asynchronously and collects its output, so tests never block the
// event loop that an in-process fake registry needs.

import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'

/** What a finished tool run produced. */
export interface ToolResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Options for {@link runTool}. */
export interface RunToolOptions {
  /** Written to stdin, then stdin is closed. */
  input?: Buffer | string
  cwd?: string
  /** Added to the inherited environment (which always gains `LC_ALL=C.UTF-8` and `NO_PROXY` for loopback). */
  env?: Record<string, string>
  /** Kill the tool after this long; default 60 s. */
  timeoutMs?: number
}

/**
 * Runs `cmd args` and waits for it to exit, whatever the exit code.
 * @returns exit code, signal and decoded output.
 * @throws Error only when the tool cannot be started (e.g. not installed).
 */
export function runTool(cmd: string, args: readonly string[], options: RunToolOptions = {}): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: options.cwd,
      env: {...process.env, LC_ALL: 'C.UTF-8', NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost', ...options.env},
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(new Error(`${cmd}: ${e.message}`, {cause: e}))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8')})
    })
    child.stdin.on('error', () => {
      /* the tool may exit without reading stdin */
    })
    child.stdin.end(options.input ?? '')
  })
}

/**
 * Like {@link runTool} but insists on exit code 0.
 * @returns the tool's stdout.
 * @throws Error with the command line, exit code and stderr when the tool fails.
 */
export async function runToolOk(cmd: string, args: readonly string[], options: RunToolOptions = {}): Promise<string> {
  const r = await runTool(cmd, args, options)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim()}`)
  return r.stdout
}

/**
 * For `node:test` `skip` options: names the first missing binary with the Debian package that provides it.
 * @returns a skip reason, or false when all are installed.
 */
export function missingTools(tools: Record<string, string>): string | false {
  for (const [path, pkg] of Object.entries(tools)) {
    if (!existsSync(path)) return `${path} not installed (Debian package ${pkg})`
  }
  return false
}
