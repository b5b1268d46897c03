// Registry endpoints for a reference's host, read from a containerd hosts directory (`<dir>/<host>/hosts.toml`,
// docs/hosts.md) the way `core/remotes/docker/config/hosts.go` reads it: mirrors first in file order, the upstream
// (or `server`) last; a missing directory or file means "just the upstream".
// Synchronous reads on purpose: these are a few tiny files (mostly absent), and node:fs/promises would cost every pull
// and push a few milliseconds of module loading (it brings readline and the file watchers with it).
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {isAbsolute, join, posix} from 'node:path'
import {InvalidArgument} from '../errors/index.js'
import {registryHost} from '../oci/index.js'

/** What a host may be used for (hosts.toml `capabilities`). */
export type Capability = 'pull' | 'resolve' | 'push'

/** One place to send registry requests to, with its TLS and header settings. */
export interface Endpoint {
  scheme: 'http' | 'https'
  /** `host[:port]` as it goes in the URL. */
  host: string
  /** API root path: `/v2`, or what `override_path` keeps (may be empty). */
  path: string
  capabilities: ReadonlySet<Capability>
  /** Extra CA files for this host (absolute paths), added to the system roots and the global `--tlscacert` files. */
  caFiles: string[]
  /** Per-host `skip_verify`; undefined means the global `-k` decides. */
  skipVerify?: boolean
  /** Client certificate and key files (`client`); an empty key means the key is in the certificate file. */
  clientPairs: [string, string][]
  /** Extra request headers (`header`). */
  headers: Record<string, string[]>
  /** Try https first, and plain http when the server answers TLS with HTTP (localhost with TLS settings, as containerd). */
  httpFallback: boolean
}

/** Inputs of {@link loadEndpoints}. */
export interface HostsOptions {
  /** The hosts directory; a missing one is fine. */
  hostsDir?: string
  /** `--plain-http`: the default upstream uses http (docker.io always uses https). */
  plainHttp?: boolean
  /** True when `--tlscacert` or `-k` was given: a localhost upstream then tries https before http. */
  tlsConfigured?: boolean
}

/** The directory containerd uses when none is given. */
export const DEFAULT_HOSTS_DIR = '/etc/containerd/certs.d'

const ALL_CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>(['pull', 'resolve', 'push'])

/** True for `localhost`, 127.0.0.0/8 and ::1, with or without a port (containerd's IsLocalhost). Never throws. */
export function isLocalhost(host: string): boolean {
  const name = splitHostPort(host).hostname
  if (name === 'localhost') return true
  if (name === '::1' || name === '0:0:0:0:0:0:0:1') return true
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
}

/** Split `host[:port]` and `[v6]:port`; the hostname comes back without brackets. */
export function splitHostPort(host: string): {hostname: string; port: string} {
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    const hostname = end < 0 ? host.slice(1) : host.slice(1, end)
    const rest = end < 0 ? '' : host.slice(end + 1)
    return {hostname, port: rest.startsWith(':') ? rest.slice(1) : ''}
  }
  const colon = host.lastIndexOf(':')
  if (colon > 0 && host.indexOf(':') === colon) return {hostname: host.slice(0, colon), port: host.slice(colon + 1)}
  return {hostname: host, port: ''}
}

/** containerd's hostDirectory: `host:port` -> `host_port_`. */
function hostDirectory(host: string): string {
  const idx = host.lastIndexOf(':')
  return idx > 0 ? `${host.slice(0, idx)}_${host.slice(idx + 1)}_` : host
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path, {throwIfNoEntry: false})?.isDirectory() ?? false
  } catch {
    return false
  }
}

/** The first existing of `<dir>/host_port_`, `<dir>/host:port`, `<dir>/_default`, or undefined. */
function findHostDir(root: string, domain: string): string | undefined {
  const candidates = [hostDirectory(domain), domain, '_default']
  for (const name of [...new Set(candidates)]) {
    const dir = join(root, name)
    if (isDirectory(dir)) return dir
  }
  return undefined
}

/** A host entry before the default upstream is filled in; `host` empty means "the reference's own registry". */
interface HostConfig {
  scheme: 'http' | 'https' | ''
  host: string
  path: string
  capabilities: ReadonlySet<Capability>
  caFiles: string[]
  skipVerify?: boolean
  clientPairs: [string, string][]
  headers: Record<string, string[]>
}

function emptyHost(): HostConfig {
  return {scheme: '', host: '', path: '', capabilities: ALL_CAPABILITIES, caFiles: [], clientPairs: [], headers: {}}
}

/**
 * The endpoints to try for a reference domain, in order (mirrors, then the upstream unless `server` replaced it).
 * @throws InvalidArgument for an unreadable or malformed hosts.toml (bad TOML, unknown capability, wrong types).
 */
export async function loadEndpoints(domain: string, options: HostsOptions = {}): Promise<Endpoint[]> {
  let hosts: HostConfig[] | undefined
  const dir = findHostDir(options.hostsDir ?? DEFAULT_HOSTS_DIR, domain)
  if (dir !== undefined) hosts = await loadHostDir(dir)
  if (hosts === undefined) hosts = [emptyHost()]

  const last = hosts[hosts.length - 1]
  let defaultFallback = false
  if (last !== undefined && last.host === '') {
    last.path = '/v2'
    if (domain === 'docker.io') {
      last.scheme = 'https'
      last.host = registryHost(domain)
    } else if (isLocalhost(domain)) {
      last.host = domain
      const {port} = splitHostPort(domain)
      if (options.plainHttp) last.scheme = 'http'
      else if (port === '' || port === '443') last.scheme = 'https'
      else {
        // Plain http unless TLS was configured; then https first with a fallback to http (containerd's HTTPFallback).
        const tls = options.tlsConfigured === true || last.caFiles.length > 0 || last.skipVerify !== undefined || last.clientPairs.length > 0
        last.scheme = tls && port !== '80' ? 'https' : 'http'
        defaultFallback = last.scheme === 'https'
      }
    } else {
      last.host = domain
      last.scheme = options.plainHttp ? 'http' : 'https'
    }
  }
  return hosts.map((h, i) => ({
    scheme: h.scheme === '' ? 'https' : h.scheme,
    host: h.host,
    path: h.path,
    capabilities: h.capabilities,
    caFiles: h.caFiles,
    ...(h.skipVerify === undefined ? {} : {skipVerify: h.skipVerify}),
    clientPairs: h.clientPairs,
    headers: h.headers,
    httpFallback: i === hosts.length - 1 && defaultFallback,
  }))
}

async function loadHostDir(dir: string): Promise<HostConfig[]> {
  const file = join(dir, 'hosts.toml')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new InvalidArgument(`unable to read ${file}: ${(err as Error).message}`, {cause: err})
    }
    text = ''
  }
  // Like containerd, an empty or absent hosts.toml means Docker's certs.d layout (*.crt, *.cert + *.key).
  if (text.trim() === '') return loadCertFiles(dir)
  return parseHostsToml(text, dir, file)
}

function loadCertFiles(dir: string): HostConfig[] {
  const host = emptyHost()
  let names: string[]
  try {
    names = readdirSync(dir, {withFileTypes: true})
      .filter((d) => !d.isDirectory())
      .map((d) => d.name)
      .sort()
  } catch {
    return [host]
  }
  for (const name of names) {
    if (name.endsWith('.crt')) host.caFiles.push(join(dir, name))
    if (name.endsWith('.cert')) {
      const key = name.slice(0, -'.cert'.length) + '.key'
      host.clientPairs.push([join(dir, name), names.includes(key) ? join(dir, key) : ''])
    }
  }
  return [host]
}

/**
 * Parse a hosts.toml text into host entries: one per `[host."<url>"]` in file order, then the root (`server`) entry.
 * Relative paths are taken relative to `baseDir`.
 * @throws InvalidArgument for bad TOML or bad values.
 */
async function parseHostsToml(text: string, baseDir: string, file = join(baseDir, 'hosts.toml')): Promise<HostConfig[]> {
  const {parse} = await import('smol-toml')
  let doc: Record<string, unknown>
  try {
    doc = parse(text)
  } catch (err) {
    throw new InvalidArgument(`failed to decode ${file}: ${(err as Error).message.split('\n')[0]}`, {cause: err})
  }
  const fail = (what: string): never => {
    throw new InvalidArgument(`failed to decode ${file}: ${what}`)
  }
  const hosts: HostConfig[] = []
  const table = doc['host']
  if (table !== undefined) {
    if (!isTable(table)) fail('"host" must be a table of [host."<url>"] tables')
    // smol-toml keeps keys in file order (URL keys are never integer-like, so object order is insertion order).
    for (const [url, config] of Object.entries(table as Record<string, unknown>)) {
      if (!isTable(config)) fail(`host ${JSON.stringify(url)} must be a table`)
      hosts.push(parseHostConfig(url, baseDir, config as Record<string, unknown>, fail))
    }
  }
  const server = doc['server']
  if (server !== undefined && typeof server !== 'string') fail('"server" must be a string')
  hosts.push(parseHostConfig((server as string | undefined) ?? '', baseDir, doc, fail))
  return hosts
}

function isTable(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)
}

function parseHostConfig(server: string, baseDir: string, config: Record<string, unknown>, fail: (what: string) => never): HostConfig {
  const result = emptyHost()
  const overridePath = config['override_path'] === true
  if (config['override_path'] !== undefined && typeof config['override_path'] !== 'boolean') fail('"override_path" must be a boolean')
  if (server !== '') {
    const withScheme = server.startsWith('http') ? server : `https://${server}`
    let u: URL
    try {
      u = new URL(withScheme)
    } catch {
      return fail(`unable to parse server ${server}`)
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') fail(`unsupported scheme in ${server}`)
    result.scheme = u.protocol === 'http:' ? 'http' : 'https'
    result.host = u.host
    let path = u.pathname === '/' ? '' : u.pathname
    if (path.length > 0) {
      path = posix.normalize(path).replace(/\/+$/, '')
      if (!path.endsWith('/v2') && !overridePath) path += '/v2'
    } else if (!overridePath) {
      path = '/v2'
    }
    result.path = path
  }

  const skip = config['skip_verify']
  if (skip !== undefined) {
    if (typeof skip !== 'boolean') fail('"skip_verify" must be a boolean')
    result.skipVerify = skip
  }

  const caps = config['capabilities']
  if (caps !== undefined) {
    if (!Array.isArray(caps)) fail('"capabilities" must be an array of strings')
    const set = new Set<Capability>()
    for (const c of caps as unknown[]) {
      const name = typeof c === 'string' ? c.toLowerCase() : ''
      if (name !== 'pull' && name !== 'resolve' && name !== 'push') fail(`unknown capability ${String(c)}`)
      set.add(name)
    }
    if (set.size > 0) result.capabilities = set
  }

  const abs = (p: string): string => (isAbsolute(p) ? p : join(baseDir, p))
  const ca = config['ca']
  if (ca !== undefined) {
    if (typeof ca === 'string') result.caFiles = [abs(ca)]
    else if (Array.isArray(ca) && ca.every((x) => typeof x === 'string')) result.caFiles = ca.map(abs)
    else fail('invalid type for "ca"')
  }

  const client = config['client']
  if (client !== undefined) {
    if (typeof client === 'string') result.clientPairs = [[abs(client), '']]
    else if (Array.isArray(client)) {
      for (const pair of client as unknown[]) {
        if (typeof pair === 'string') result.clientPairs.push([abs(pair), ''])
        else if (Array.isArray(pair) && pair.length === 2 && pair.every((x) => typeof x === 'string')) {
          const [cert, key] = pair as [string, string]
          result.clientPairs.push([abs(cert), key === '' ? '' : abs(key)])
        } else fail(`invalid pair ${JSON.stringify(pair)} for "client"`)
      }
    } else fail('invalid type for "client"')
  }

  const header = config['header']
  if (header !== undefined) {
    if (!isTable(header)) fail('"header" must be a table')
    for (const [key, value] of Object.entries(header as Record<string, unknown>)) {
      if (typeof value === 'string') result.headers[key.toLowerCase()] = [value]
      else if (Array.isArray(value) && value.every((x) => typeof x === 'string')) result.headers[key.toLowerCase()] = value
      else fail(`invalid type for header ${JSON.stringify(key)}`)
    }
  }
  return result
}

/** True when requests to `endpoint` for a reference on `domain` go to a mirror and so carry `?ns=<domain>` (containerd's isProxy). */
export function isMirrorOf(endpoint: Pick<Endpoint, 'host'>, domain: string): boolean {
  if (endpoint.host === domain) return false
  return !(domain === 'docker.io' && endpoint.host === registryHost(domain))
}
