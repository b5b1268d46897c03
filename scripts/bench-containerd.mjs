// For `npm run bench`: a private containerd daemon, the pull benchmark's anchor (Debian's
// containerd 1.6 and its /usr/bin/ctr; `bash scripts/setup.sh bench` installs them).
//
// Each daemon has its own root, state, sockets and config in a temporary directory, runs with the
// CRI plugin disabled, dies with this process (parent-death signal through setpriv, plus an exit
// hook), and `stop()` ends it (SIGTERM, then SIGKILL), unmounts whatever it left mounted under its
// directory and removes the directory.
import {spawn, spawnSync} from 'node:child_process'
import {closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export const CONTAINERD = '/usr/bin/containerd'
/** containerd's own client. Berth's CLI is bin/ctr (berthBin), never this. */
export const CTR = '/usr/bin/ctr'

/** The median of samples (NaN for none): what every bench table reports. */
export const median = (xs) => (xs.length ? [...xs].sort((a, b) => a - b)[xs.length >> 1] : NaN)

/** @returns true when Debian's containerd and ctr are installed. */
export function containerdAvailable() {
  return existsSync(CONTAINERD) && existsSync(CTR)
}

/** @returns the `ctr --version` line, e.g. `ctr github.com/containerd/containerd 1.6.20~ds1`. */
export function ctrVersion() {
  const r = spawnSync(CTR, ['--version'], {encoding: 'utf8'})
  return r.status === 0 ? r.stdout.trim() : 'unknown'
}

const live = new Set()
const children = new Set()
let hooked = false
function hookExit() {
  if (hooked) return
  hooked = true
  // First of all exit hooks, so no child writes into directories other hooks remove.
  process.prependListener('exit', () => {
    for (const c of children) c.kill('SIGKILL')
    for (const d of live) d.killNow()
  })
}

/** Unmounts every mount under `dir` (deepest first); a daemon killed mid-unpack can leave one. */
function unmountUnder(dir) {
  let mounts
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter(Boolean)
  } catch {
    return
  }
  const decode = (p) => p.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
  for (const m of mounts
    .map(decode)
    .filter((m) => m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length)) {
    spawnSync('umount', ['-l', m], {stdio: 'ignore'})
  }
}

/**
 * Starts containerd with a fresh root in a new temporary directory and waits until
 * `ctr --address SOCK version` answers.
 * @returns {{
 *   address: string, dir: string, pid: number,
 *   ctr: (args: string[], opts?: object) => Promise<{status: number, stdout: string, stderr: string, ms: number}>,
 *   ctrArgv: (args: string[]) => string[], vmHWMKiB: () => number, stop: () => Promise<void>
 * }}
 * @throws Error when containerd exits during start-up or does not answer within `readyTimeoutMs`.
 */
export async function startContainerd({readyTimeoutMs = 20_000} = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-containerd-'))
  const address = join(dir, 'c.sock')
  writeFileSync(
    join(dir, 'config.toml'),
    [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${address}"`,
      '[ttrpc]',
      `  address = "${address}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '  level = "warn"',
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${join(dir, 'opt')}"`,
      '',
    ].join('\n'),
  )
  const logPath = join(dir, 'containerd.log')
  const logFd = openSync(logPath, 'a')
  const usePdeathsig = existsSync('/usr/bin/setpriv')
  const argv = [CONTAINERD, '--config', join(dir, 'config.toml')]
  const child = spawn(usePdeathsig ? '/usr/bin/setpriv' : argv[0], usePdeathsig ? ['--pdeathsig', 'KILL', '--', ...argv] : argv.slice(1), {
    stdio: ['ignore', logFd, logFd],
  })
  closeSync(logFd)
  child.unref()
  let exited = false
  const exitPromise = new Promise((resolve) => child.once('exit', () => ((exited = true), resolve())))
  child.once('error', () => (exited = true))

  const log = () => {
    try {
      return readFileSync(logPath, 'utf8').trim().slice(-3000)
    } catch {
      return ''
    }
  }
  const cleanupFiles = () => {
    unmountUnder(dir)
    rmSync(dir, {recursive: true, force: true})
  }
  const daemon = {
    address,
    dir,
    pid: child.pid,
    killNow() {
      if (!exited) child.kill('SIGKILL')
      cleanupFiles()
    },
  }
  live.add(daemon)
  hookExit()

  let stopping
  daemon.stop = () =>
    (stopping ??= (async () => {
      if (!exited) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => !exited && child.kill('SIGKILL'), 5000)
        await exitPromise
        clearTimeout(timer)
      }
      live.delete(daemon)
      cleanupFiles()
    })())

  daemon.ctrArgv = (args) => [CTR, '--address', address, ...args]
  /** Runs ctr against this daemon (async, so an in-process proxy keeps serving). */
  daemon.ctr = (args, opts = {}) => run(daemon.ctrArgv(args), opts)
  /** Peak resident memory of the daemon so far (VmHWM), in KiB. */
  daemon.vmHWMKiB = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      return m ? Number(m[1]) : NaN
    } catch {
      return NaN
    }
  }

  const deadline = Date.now() + readyTimeoutMs
  for (;;) {
    if (exited) {
      const text = log()
      await daemon.stop()
      throw new Error(`containerd exited during start-up: ${text}`)
    }
    if (existsSync(address) && (await run(daemon.ctrArgv(['version']))).status === 0) break
    if (Date.now() > deadline) {
      const text = log()
      await daemon.stop()
      throw new Error(`containerd did not answer on ${address} in time: ${text}`)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  return daemon
}

/**
 * Runs a command without blocking the event loop; it is killed if this process exits first.
 * @returns exit status, output and wall time in ms.
 */
/**
 * Node's own start-up, measured the way bin/ctr starts node: without NODE_EXTRA_CA_CERTS (see the
 * shebang there), so that the anchor and the CLI pay alike.
 */
export const NODE_E_0 = ['/usr/bin/env', '-u', 'NODE_EXTRA_CA_CERTS', process.execPath, '-e', '0']

/** Berth's CLI as an installed `ctr` runs: bin/ctr, the launcher npm links as `ctr`. */
export const berthBin = (repo) => join(repo, 'bin', 'ctr')

export function run(argv, {env, input} = {}) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint()
    const child = spawn(argv[0], argv.slice(1), {
      env: env ? {...process.env, ...env} : process.env,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    children.add(child) // killed if this process exits first
    hookExit()
    const out = []
    const err = []
    child.stdout.on('data', (c) => out.push(c))
    child.stderr.on('data', (c) => err.push(c))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      children.delete(child)
      const ms = Number(process.hrtime.bigint() - t) / 1e6
      resolve({status: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms})
    })
    if (input !== undefined) child.stdin.end(input)
  })
}
