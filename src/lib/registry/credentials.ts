// Registry credentials by host, looked up lazily and at most once per host: `--user`, then Docker's config.json
// (credHelpers, credsStore, auths), then containers' auth.json; files are only read, helpers only asked with `get`.
import {spawn} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {InvalidArgument} from '../errors/index.js'

/** A user name and secret. An empty `username` with a secret means the secret is an identity (refresh) token. */
export interface Credentials {
  username: string
  secret: string
}

/** Where credentials come from. */
export interface CredentialSources {
  /** `--user user[:password]`, applied to every host this client talks to for the reference (as ctr does). */
  user?: string
  /** Default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  dockerConfigPath?: string
  /** Default `$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json` (`/run/containers/0/auth.json` for root). */
  authJsonPath?: string
  /** Environment for the defaults and for credential helpers; default `process.env`. */
  env?: NodeJS.ProcessEnv
}

/** The key Docker uses for Docker Hub in config.json and with credential helpers. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/'
const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'])
const HELPER_TIMEOUT_MS = 30_000

interface AuthEntry {
  auth?: string
  username?: string
  password?: string
  identitytoken?: string
}

interface AuthFile {
  auths?: Record<string, AuthEntry>
  credHelpers?: Record<string, string>
  credsStore?: string
}

/** Docker's ConvertToHostname: drop the scheme and anything after the host. */
function keyHost(key: string): string {
  let s = key.replace(/^https?:\/\//, '')
  const slash = s.indexOf('/')
  if (slash >= 0) s = s.slice(0, slash)
  return s
}

function isDockerHub(host: string): boolean {
  return DOCKER_HUB_HOSTS.has(host)
}

/** Split `user[:password]` at the first colon. */
export function parseUserFlag(value: string): Credentials {
  const colon = value.indexOf(':')
  return colon < 0 ? {username: value, secret: ''} : {username: value.slice(0, colon), secret: value.slice(colon + 1)}
}

/** Resolves credentials per registry host; every source is read at most once and every host asked at most once. */
export class CredentialStore {
  private readonly env: NodeJS.ProcessEnv
  private readonly cache = new Map<string, Promise<Credentials | undefined>>()
  private readonly files = new Map<string, Promise<AuthFile | undefined>>()

  constructor(private readonly sources: CredentialSources = {}) {
    this.env = sources.env ?? process.env
  }

  /**
   * Credentials for a registry host (`host[:port]`), or undefined when none are configured.
   * `repository` (`host/path`) lets auth.json entries scoped to a namespace or repository match first.
   * @throws InvalidArgument when a config file exists but is not valid JSON.
   */
  get(host: string, repository?: string): Promise<Credentials | undefined> {
    const key = `${host} ${repository ?? ''}`
    let p = this.cache.get(key)
    if (p === undefined) {
      p = this.lookup(host, repository)
      this.cache.set(key, p)
    }
    return p
  }

  private dockerConfigPath(): string {
    if (this.sources.dockerConfigPath !== undefined) return this.sources.dockerConfigPath
    const dir = this.env['DOCKER_CONFIG']
    if (dir !== undefined && dir !== '') return join(dir, 'config.json')
    return join(this.env['HOME'] || homedir(), '.docker', 'config.json')
  }

  private authJsonPath(): string | undefined {
    if (this.sources.authJsonPath !== undefined) return this.sources.authJsonPath
    const explicit = this.env['REGISTRY_AUTH_FILE']
    if (explicit !== undefined && explicit !== '') return explicit
    const runtime = this.env['XDG_RUNTIME_DIR']
    if (runtime !== undefined && runtime !== '') return join(runtime, 'containers', 'auth.json')
    return process.getuid?.() === 0 ? '/run/containers/0/auth.json' : undefined
  }

  private async lookup(host: string, repository: string | undefined): Promise<Credentials | undefined> {
    if (this.sources.user !== undefined && this.sources.user !== '') return parseUserFlag(this.sources.user)

    const docker = await this.readAuthFile(this.dockerConfigPath())
    if (docker !== undefined) {
      const helper = findHelper(docker, host)
      if (helper !== undefined) {
        const creds = await this.askHelper(helper, isDockerHub(host) ? DOCKER_HUB_AUTH_KEY : host)
        if (creds !== undefined) return creds
      }
      const fromFile = findAuth(docker.auths, host, undefined)
      if (fromFile !== undefined) return fromFile
    }

    const authJsonPath = this.authJsonPath()
    const podman = authJsonPath === undefined ? undefined : await this.readAuthFile(authJsonPath)
    if (podman !== undefined) {
      const helper = findHelper(podman, host)
      if (helper !== undefined) {
        const creds = await this.askHelper(helper, host)
        if (creds !== undefined) return creds
      }
      return findAuth(podman.auths, host, repository)
    }
    return undefined
  }

  private readAuthFile(path: string): Promise<AuthFile | undefined> {
    let p = this.files.get(path)
    if (p === undefined) {
      p = (async () => {
        let text: string
        try {
          text = await readFile(path, 'utf8')
        } catch {
          return undefined
        }
        if (text.trim() === '') return undefined
        try {
          const doc = JSON.parse(text) as unknown
          return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? doc : undefined
        } catch (err) {
          throw new InvalidArgument(`${path}: invalid credentials file: ${(err as Error).message}`, {cause: err})
        }
      })()
      this.files.set(path, p)
    }
    return p
  }

  /**
   * Run `docker-credential-<name> get` with the server on stdin. A missing helper, a failing helper or "credentials
   * not found" all count as no credentials: an anonymous pull may still work, and a 401 then says what is missing.
   */
  private askHelper(name: string, server: string): Promise<Credentials | undefined> {
    return new Promise((resolve) => {
      let child: ReturnType<typeof spawn>
      try {
        child = spawn(`docker-credential-${name}`, ['get'], {env: this.env, stdio: ['pipe', 'pipe', 'ignore']})
      } catch {
        resolve(undefined)
        return
      }
      const out: Buffer[] = []
      const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS)
      child.stdout!.on('data', (c: Buffer) => out.push(c))
      child.on('error', () => {
        clearTimeout(timer)
        resolve(undefined)
      })
      child.on('close', (code) => {
        clearTimeout(timer)
        if (code !== 0) return resolve(undefined)
        try {
          const doc = JSON.parse(Buffer.concat(out).toString('utf8')) as {Username?: unknown; Secret?: unknown}
          const username = typeof doc.Username === 'string' ? doc.Username : ''
          const secret = typeof doc.Secret === 'string' ? doc.Secret : ''
          if (secret === '') return resolve(undefined)
          // Docker's convention: the user name `<token>` marks an identity token.
          resolve(username === '<token>' ? {username: '', secret} : {username, secret})
        } catch {
          resolve(undefined)
        }
      })
      child.stdin!.on('error', () => {})
      child.stdin!.end(server + '\n')
    })
  }
}

function findHelper(file: AuthFile, host: string): string | undefined {
  const helpers = file.credHelpers
  if (helpers !== undefined && typeof helpers === 'object') {
    for (const [key, name] of Object.entries(helpers)) {
      if (typeof name === 'string' && name !== '' && sameRegistry(keyHost(key), host)) return name
    }
  }
  return typeof file.credsStore === 'string' && file.credsStore !== '' ? file.credsStore : undefined
}

function sameRegistry(a: string, b: string): boolean {
  return a === b || (isDockerHub(a) && isDockerHub(b))
}

/**
 * The entry for `host` in an `auths` map: with `repository`, podman's namespaced keys first (`host/ns/repo`, longest
 * match first); then the exact key; then keys that normalize to the host (scheme and path stripped, Docker Hub aliases).
 */
function findAuth(auths: Record<string, AuthEntry> | undefined, host: string, repository: string | undefined): Credentials | undefined {
  if (auths === undefined || typeof auths !== 'object') return undefined
  if (repository !== undefined) {
    const parts = repository.split('/')
    for (let n = parts.length; n > 1; n--) {
      const key = parts.slice(0, n).join('/')
      if (key !== host && auths[key] !== undefined) {
        const c = decodeEntry(auths[key])
        if (c !== undefined) return c
      }
    }
  }
  const exact = auths[host] ?? (isDockerHub(host) ? auths[DOCKER_HUB_AUTH_KEY] : undefined)
  if (exact !== undefined) {
    const c = decodeEntry(exact)
    if (c !== undefined) return c
  }
  for (const [key, entry] of Object.entries(auths)) {
    if (!/^https?:\/\//.test(key) && key.includes('/')) continue // namespaced (podman) keys are matched above
    if (sameRegistry(keyHost(key), host)) {
      const c = decodeEntry(entry)
      if (c !== undefined) return c
    }
  }
  return undefined
}

function decodeEntry(entry: AuthEntry): Credentials | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') return {username: '', secret: entry.identitytoken}
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon <= 0) return undefined
    return {username: decoded.slice(0, colon), secret: decoded.slice(colon + 1)}
  }
  if (typeof entry.username === 'string' && entry.username !== '' && typeof entry.password === 'string') {
    return {username: entry.username, secret: entry.password}
  }
  return undefined
}
