// Runs Debian's real `docker-registry` (distribution 2.8) on 127.0.0.1 for tests, optionally behind htpasswd Basic
// auth, and pushes fixture images to any registry over the distribution HTTP API.
//
// Invariants: a started registry listens only on loopback, keeps its data in a private temporary
// directory, and dies with the test process (parent-death signal via `setpriv`, plus an exit hook);
// `stop()` kills it and removes the directory. Pushes upload every blob before any manifest, and
// children before the index that lists them.

import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {randomBytes} from 'node:crypto'
import {manifestsOf, type Built} from './oci-image.js'

/** Where Debian's `docker-registry` package installs the registry. */
export const REGISTRY_BINARY = '/usr/bin/docker-registry'

/** User name and password for Basic auth. */
export interface Credentials {
  user: string
  password: string
}

/** Options for {@link startRegistry}. */
export interface StartRegistryOptions {
  /** Protect the registry with an htpasswd (bcrypt) file holding this one user. */
  auth?: Credentials
  /** How long to wait for `GET /v2/` to answer; default 15 s. */
  readyTimeoutMs?: number
}

/** A running registry. */
export interface RunningRegistry {
  /** `127.0.0.1:PORT`, as used in image references. */
  host: string
  /** `http://127.0.0.1:PORT`. */
  url: string
  port: number
  /** The temporary directory holding config, storage and the registry's log. */
  dir: string
  /** The credentials it was started with, if any. */
  auth?: Credentials
  /** Process id of the registry (or of `setpriv`, which execs into it: the same process). */
  pid: number
  /** Kills the registry and removes its directory. Idempotent. */
  stop(): Promise<void>
}

/** Live registries, killed synchronously if the test process exits without stopping them. */
const live = new Map<number, {child: ChildProcess; dir: string}>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.on('exit', () => {
    for (const {child, dir} of live.values()) {
      try {
        child.kill('SIGKILL')
      } catch {
        /* already gone */
      }
      try {
        rmSync(dir, {recursive: true, force: true})
      } catch {
        /* best effort */
      }
    }
  })
}

/** @returns a TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

/**
 * Generates one bcrypt htpasswd line with `htpasswd -Bbn` (Debian `apache2-utils`).
 * @returns `user:$2y$...` without the trailing newline.
 * @throws Error when `htpasswd` is missing or fails.
 */
export function htpasswdLine(user: string, password: string): string {
  const r = spawnSync('htpasswd', ['-Bbn', user, password], {encoding: 'utf8'})
  if (r.error) throw new Error(`htpasswd: ${r.error.message} (install the Debian package apache2-utils)`, {cause: r.error})
  if (r.status !== 0) throw new Error(`htpasswd exited ${r.status}: ${r.stderr.trim()}`)
  return r.stdout.trim()
}

function configYaml(dir: string, port: number, auth: boolean): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    ...(auth ? ['auth:', '  htpasswd:', '    realm: berth-test', `    path: ${join(dir, 'htpasswd')}`] : []),
    '',
  ].join('\n')
}

/**
 * Starts `docker-registry` on a free loopback port with temporary storage, and waits until
 * `GET /v2/` answers (200, or 401 with auth).
 * @returns the running registry; call `stop()` in an `after` hook.
 * @throws Error when the binary is missing, or it exits or does not answer in time (the message
 *   includes its log).
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  if (!existsSync(REGISTRY_BINARY)) throw new Error(`${REGISTRY_BINARY} not found: install the Debian package docker-registry`)
  sweepStaleDirs()
  let lastError: unknown
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await startOnce(options)
    } catch (e) {
      lastError = e
      // A lost race for the port shows up as an early exit; try another port.
      if (!(e instanceof RegistryExitedError)) throw e
    }
  }
  throw lastError
}

class RegistryExitedError extends Error {}

const DIR_PREFIX = 'berth-registry-'

/**
 * Removes registry directories left by test processes that were killed (their registry died with
 * them through the parent-death signal, but nobody removed the files).
 */
function sweepStaleDirs(): void {
  let names: string[]
  try {
    names = readdirSync(tmpdir())
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(DIR_PREFIX)) continue
    const dir = join(tmpdir(), name)
    let owner: number
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'))
    } catch {
      continue
    }
    if (!Number.isInteger(owner) || owner <= 0 || isAlive(owner)) continue
    rmSync(dir, {recursive: true, force: true})
  }
}

/** True for a live process; a zombie (killed, not yet reaped) counts as dead. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

async function startOnce(options: StartRegistryOptions): Promise<RunningRegistry> {
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX))
  writeFileSync(join(dir, 'owner.pid'), String(process.pid))
  const port = await freePort()
  if (options.auth) writeFileSync(join(dir, 'htpasswd'), htpasswdLine(options.auth.user, options.auth.password) + '\n')
  writeFileSync(join(dir, 'config.yml'), configYaml(dir, port, options.auth !== undefined))
  const logPath = join(dir, 'registry.log')
  const logFd = openSync(logPath, 'a')
  // setpriv sets PR_SET_PDEATHSIG and execs the registry, so it is SIGKILLed if we die.
  const usePdeathsig = existsSync('/usr/bin/setpriv')
  const [cmd, args] = usePdeathsig
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', REGISTRY_BINARY, 'serve', join(dir, 'config.yml')]]
    : [REGISTRY_BINARY, ['serve', join(dir, 'config.yml')]]
  const child = spawn(cmd, args, {cwd: dir, stdio: ['ignore', logFd, logFd], env: {PATH: process.env.PATH ?? '/usr/bin:/bin'}})
  closeSync(logFd)
  child.unref() // a forgotten stop() must not keep the test runner alive; pdeathsig and the exit hook clean up
  installExitHook()
  const pid = child.pid ?? -1
  live.set(pid, {child, dir})
  let exited = false
  const exitPromise = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true
      resolve()
    }),
  )
  child.once('error', () => {
    exited = true
  })

  const url = `http://127.0.0.1:${port}`
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      if (!exited) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => {
          if (!exited) child.kill('SIGKILL')
        }, 3000)
        await exitPromise
        clearTimeout(timer)
      }
      live.delete(pid)
      rmSync(dir, {recursive: true, force: true})
    })())
  const log = (): string => {
    try {
      return readFileSync(logPath, 'utf8').trim().slice(-4000)
    } catch {
      return ''
    }
  }

  const deadline = Date.now() + (options.readyTimeoutMs ?? 15000)
  for (;;) {
    if (exited) {
      const text = log()
      await stop()
      throw new RegistryExitedError(`docker-registry exited during start-up: ${text}`)
    }
    try {
      const res = await fetch(`${url}/v2/`, {signal: AbortSignal.timeout(1000)})
      await res.arrayBuffer()
      if (res.status === 200 || (options.auth && res.status === 401)) break
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      const text = log()
      await stop()
      throw new Error(`docker-registry did not answer on ${url}/v2/ in time: ${text}`)
    }
    await new Promise((r) => setTimeout(r, 25))
  }
  return {host: `127.0.0.1:${port}`, url, port, dir, pid, stop, ...(options.auth ? {auth: options.auth} : {})}
}

/** A registry to push to: a running registry, or a base URL / `host:port` (http assumed). */
export type RegistryTarget = {url: string} | string

/** Options for {@link pushImage}. */
export interface PushOptions {
  /** Basic credentials; never implied from the registry's own `auth`, so tests can push without them. */
  auth?: Credentials
  /** Parallel blob uploads; default 4. */
  concurrency?: number
}

/** Result of {@link pushImage}. */
export interface PushResult {
  /** Repository name, e.g. `library/busybox`. */
  name: string
  /** The tag pushed, or undefined when pushed by digest only. */
  tag?: string
  /** Digest of the top manifest or index. */
  digest: string
  /** Blobs actually uploaded (the rest already existed). */
  uploaded: string[]
}

/** An HTTP failure while talking to a registry; carries the status. */
export class RegistryHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

/**
 * Pushes `built` (image or index) to `registry` as `ref` (`repo:tag`, `repo@sha256:...` or `repo`):
 * blobs first (HEAD, then POST + monolithic PUT `?digest=`), then manifests children first, each
 * with its media type as Content-Type.
 * @returns the pushed name, tag and top digest.
 * @throws RegistryHttpError on any unexpected status (401 without or with wrong credentials), or
 *   Error when the registry reports a different manifest digest.
 */
export async function pushImage(registry: RegistryTarget, ref: string, built: Built, options: PushOptions = {}): Promise<PushResult> {
  const base = baseUrl(registry)
  const {name, tag, digest: refDigest} = splitRef(ref)
  if (refDigest && refDigest !== built.manifestDigest) throw new Error(`pushImage: ${ref} does not match the image digest ${built.manifestDigest}`)
  const headers: Record<string, string> = {}
  if (options.auth) headers.authorization = 'Basic ' + Buffer.from(`${options.auth.user}:${options.auth.password}`).toString('base64')

  const uploaded: string[] = []
  const blobs = [...built.blobs]
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < blobs.length) {
      const [digest, bytes] = blobs[next++]
      if (await uploadBlob(base, name, digest, bytes, headers)) uploaded.push(digest)
    }
  }
  await Promise.all(Array.from({length: Math.max(1, options.concurrency ?? 4)}, worker))

  const docs = manifestsOf(built)
  for (const doc of docs) {
    const isTop = doc.digest === built.manifestDigest
    const reference = isTop && tag ? tag : doc.digest
    const res = await fetch(`${base}/v2/${name}/manifests/${reference}`, {
      method: 'PUT',
      headers: {...headers, 'content-type': doc.mediaType},
      body: doc.bytes,
    })
    const text = await res.text()
    if (res.status !== 201) throw new RegistryHttpError(`PUT manifest ${name}:${reference}: HTTP ${res.status}: ${text}`, res.status)
    const got = res.headers.get('docker-content-digest')
    if (got && got !== doc.digest) throw new Error(`PUT manifest ${name}:${reference}: registry says ${got}, expected ${doc.digest}`)
  }
  return {name, digest: built.manifestDigest, uploaded, ...(tag ? {tag} : {})}
}

async function uploadBlob(base: string, name: string, digest: string, bytes: Buffer, headers: Record<string, string>): Promise<boolean> {
  const head = await fetch(`${base}/v2/${name}/blobs/${digest}`, {method: 'HEAD', headers})
  await head.arrayBuffer()
  if (head.status === 200) return false
  if (head.status !== 404) throw new RegistryHttpError(`HEAD blob ${name}@${digest}: HTTP ${head.status}`, head.status)

  const start = await fetch(`${base}/v2/${name}/blobs/uploads/`, {method: 'POST', headers})
  const startText = await start.text()
  if (start.status !== 202) throw new RegistryHttpError(`POST upload ${name}: HTTP ${start.status}: ${startText}`, start.status)
  const location = start.headers.get('location')
  if (!location) throw new RegistryHttpError(`POST upload ${name}: no Location header`, start.status)
  // Location may be relative or absolute and may already carry a query (e.g. `_state=`).
  const target = new URL(location, base + '/')
  target.searchParams.append('digest', digest)
  const put = await fetch(target, {
    method: 'PUT',
    headers: {...headers, 'content-type': 'application/octet-stream'},
    body: bytes,
  })
  const putText = await put.text()
  if (put.status !== 201) throw new RegistryHttpError(`PUT blob ${name}@${digest}: HTTP ${put.status}: ${putText}`, put.status)
  return true
}

function baseUrl(registry: RegistryTarget): string {
  const raw = typeof registry === 'string' ? registry : registry.url
  return (/^https?:\/\//.test(raw) ? raw : `http://${raw}`).replace(/\/+$/, '')
}

/** Splits `name[:tag][@digest]`; the tag's colon is the one after the last slash. */
function splitRef(ref: string): {name: string; tag?: string; digest?: string} {
  let rest = ref
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
  }
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    return {name: rest.slice(0, colon), tag: rest.slice(colon + 1), ...(digest ? {digest} : {})}
  }
  return {name: rest, ...(digest ? {digest} : {})}
}
