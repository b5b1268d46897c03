// An in-process distribution registry on 127.0.0.1 that serves built fixture images, accepts pushes (upload sessions
// with monolithic PUT or PATCH chunks, cross-repository mounts, manifests checked for their references), and injects
// faults on demand (bad bytes, truncation, error statuses, slow or dropped bodies, odd media types), with Basic or
// Bearer-token auth and a request log.
//
// Invariants: without rules it behaves like a well-behaved registry (correct Content-Type,
// Docker-Content-Digest, Content-Length, Range on blobs). Rules are checked in the order added;
// the first matching rule with uses left applies to a request, and only that one. Auth is checked
// before rules on /v2/ paths; /token is subject to rules before it answers. Every request is logged
// when it arrives, and its byte count grows as the body is written, so the log is complete by the
// time a client has read a response.

import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {randomBytes} from 'node:crypto'
import type {AddressInfo} from 'node:net'
import {manifestsOf, sha256, type Built} from './oci-image.js'

/** Basic credentials. */
export interface FakeCredentials {
  user: string
  password: string
}

/** Authentication the fake registry demands. */
export type FakeAuth =
  | {mode: 'basic'; user: string; password: string}
  | {
      mode: 'bearer'
      /** When set, `/token` requires these as Basic credentials; otherwise tokens are anonymous. */
      credentials?: FakeCredentials
      /** `expires_in` of issued tokens, seconds; also enforced. Default 300. */
      expiresIn?: number
      /** `service` in the challenge; default `fake`. */
      service?: string
    }

/** Options for {@link startFakeRegistry}. */
export interface FakeRegistryOptions {
  /** Images to serve, by reference `repo:tag` (or `repo` for digest-only). */
  images?: Record<string, Built>
  auth?: FakeAuth
  /** Refuse every write with 405, as before pushes were supported. Default false. */
  readOnly?: boolean
  /** How upload Locations are written: host-relative (`/v2/…`, default) or absolute (`http://127.0.0.1:PORT/v2/…`). Both carry a `_state=` query. */
  uploadLocation?: 'relative' | 'absolute'
  /** Answer a monolithic PUT (or a PATCH) whose body is larger than this with 413, as a proxy with a body limit does. */
  maxBodyBytes?: number
}

/** One request as the server saw it. */
export interface RequestLogEntry {
  method: string
  /** URL path without the query. */
  path: string
  /** Query string including `?`, or empty. */
  query: string
  /** The raw `Range` header, if any. */
  range?: string
  /** The raw `Accept` header, if any. */
  accept?: string
  /** Which kind of `Authorization` header came with the request. */
  authorization?: 'basic' | 'bearer' | 'other'
  /** Status sent (0 until headers are written). */
  status: number
  /** Body bytes written so far. */
  bytesSent: number
  /** The fault kind applied, if a rule matched. */
  fault?: FaultSpec['kind']
  /** Request body bytes received (uploads, manifests). */
  bytesReceived: number
  /** Milliseconds since the server started. */
  at: number
  /** Milliseconds since the server started when the response was finished (undefined until then). */
  doneAt?: number
}

/** What a rule does to a matching request. */
export type FaultSpec =
  /**
   * Respond with `status` instead of serving. The body defaults to a registry error JSON
   * (`{"errors":[{"code":...,"message":...}]}`) with a code that fits the status (401
   * UNAUTHORIZED plus a challenge, 403 DENIED, 404 BLOB_/MANIFEST_UNKNOWN, 429 TOOMANYREQUESTS,
   * else UNKNOWN). `retryAfter` adds a `Retry-After` header (seconds).
   */
  | {kind: 'status'; status: number; retryAfter?: number; headers?: Record<string, string>; body?: string | object}
  /** Flip all bits of one body byte at `offset` (relative to the body sent; default its middle). Headers stay honest. */
  | {kind: 'corrupt'; offset?: number}
  /**
   * Send only the first `bytes` body bytes. `declare: 'full'` (default) announces the full
   * Content-Length and then destroys the socket; `'actual'` announces `bytes` and ends cleanly.
   */
  | {kind: 'truncate'; bytes: number; declare?: 'full' | 'actual'}
  /** Throttle the body to about `bytesPerSecond`. */
  | {kind: 'slow'; bytesPerSecond: number}
  /** Send `afterBytes` body bytes, then destroy the socket (with `times: 1`, the retry or Range resume succeeds). */
  | {kind: 'drop'; afterBytes: number}
  /** Serve the manifest padded with trailing spaces to `bytes` (still valid JSON; digest header matches the padded body). */
  | {kind: 'oversize'; bytes: number}
  /** Serve with this Content-Type instead of the real media type. */
  | {kind: 'contentType'; contentType: string}
  /** Wait `ms` before answering normally. */
  | {kind: 'delay'; ms: number}

/** Which requests a rule applies to. */
export interface FaultMatch {
  /** Substring of the URL path (a digest, a tag, `/manifests/`), a RegExp tested on the path, or a predicate. */
  path: string | RegExp | ((req: {method: string; path: string}) => boolean)
  /** Restrict to one method. Body faults never match HEAD anyway. */
  method?: string
  /** How many requests the rule applies to; default unlimited. */
  times?: number
}

/** A rule: where plus what. */
export type FaultRule = FaultMatch & FaultSpec

/** A rule as stored: `hits` counts the requests it applied to. */
export type ActiveRule = FaultRule & {readonly id: number; hits: number}

/** The fault rules API. */
export interface FaultRules {
  /** Adds a rule after the existing ones. @returns the stored rule (watch `hits`). */
  add(rule: FaultRule): ActiveRule
  /** Removes one rule. */
  remove(rule: ActiveRule): void
  /** Removes all rules. */
  clear(): void
  /** The rules in order. */
  list(): readonly ActiveRule[]
}

/** A running fake registry. */
export interface FakeRegistry {
  /** `127.0.0.1:PORT`. */
  host: string
  /** `http://127.0.0.1:PORT`. */
  url: string
  port: number
  /** Every request, in arrival order (a live array; see {@link FakeRegistry.clearLog}). */
  log: RequestLogEntry[]
  rules: FaultRules
  /** Serves `built` under `ref` (`repo:tag` or `repo`). */
  addImage(ref: string, built: Built): void
  /** Adds a loose blob to a repository. @returns its digest. */
  addBlob(name: string, data: Buffer): string
  /** @returns `/v2/<name>/blobs/<digest>`. */
  blobPath(name: string, digest: string): string
  /** @returns `/v2/<name>/manifests/<reference>`. */
  manifestPath(name: string, reference: string): string
  /** Empties the log in place. */
  clearLog(): void
  /** Invalidates every bearer token issued so far (as if they expired). */
  revokeTokens(): void
  /** Does repository `name` hold blob `digest` (pushed, mounted or served)? */
  hasBlob(name: string, digest: string): boolean
  /** A manifest of repository `name` by tag or digest, or undefined. */
  manifest(name: string, reference: string): {bytes: Buffer; mediaType: string; digest: string} | undefined
  /** Number of tokens issued by `/token`. */
  tokensIssued(): number
  /** Closes the server and all connections. Idempotent. */
  stop(): Promise<void>
}

interface Repo {
  tags: Map<string, string>
  manifests: Map<string, {bytes: Buffer; mediaType: string}>
  blobs: Map<string, Buffer>
}

/** An upload session: the bytes received so far. */
interface Upload {
  name: string
  chunks: Buffer[]
  size: number
}

const BODY_FAULTS = new Set<FaultSpec['kind']>(['corrupt', 'truncate', 'slow', 'drop', 'oversize'])
const CHUNK = 64 * 1024

/**
 * Starts the fake registry on 127.0.0.1 with an ephemeral port.
 * @returns the handle; call `stop()` in an `after` hook.
 */
export async function startFakeRegistry(options: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const repos = new Map<string, Repo>()
  const log: RequestLogEntry[] = []
  const rules: ActiveRule[] = []
  const tokens = new Map<string, {scopes: string[]; expiresAt: number}>()
  const uploads = new Map<string, Upload>()
  let issued = 0
  let nextRuleId = 1
  const started = Date.now()
  const auth = options.auth
  let url = ''

  const repo = (name: string): Repo => {
    let r = repos.get(name)
    if (!r) repos.set(name, (r = {tags: new Map(), manifests: new Map(), blobs: new Map()}))
    return r
  }
  const addImage = (ref: string, built: Built): void => {
    const {name, tag} = splitRef(ref)
    const r = repo(name)
    for (const m of manifestsOf(built)) r.manifests.set(m.digest, {bytes: m.bytes, mediaType: m.mediaType})
    for (const [d, b] of built.blobs) r.blobs.set(d, b)
    if (tag) r.tags.set(tag, built.manifestDigest)
  }
  for (const [ref, built] of Object.entries(options.images ?? {})) addImage(ref, built)

  const challenge = (name?: string, actions = 'pull'): string => {
    if (auth?.mode === 'bearer') {
      const scope = name ? `,scope="repository:${name}:${actions}"` : ''
      return `Bearer realm="${url}/token",service="${auth.service ?? 'fake'}"${scope}`
    }
    return 'Basic realm="fake"'
  }

  const findRule = (method: string, path: string): ActiveRule | undefined => {
    for (const rule of rules) {
      if (rule.times !== undefined && rule.hits >= rule.times) continue
      if (rule.method && rule.method.toUpperCase() !== method) continue
      if (BODY_FAULTS.has(rule.kind) && method !== 'GET') continue
      const p = rule.path
      const hit = typeof p === 'string' ? path.includes(p) : p instanceof RegExp ? p.test(path) : p({method, path})
      if (hit) return rule
    }
    return undefined
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase()
    const parsed = new URL(req.url ?? '/', 'http://fake')
    const path = decodeURIComponent(parsed.pathname)
    const authz = req.headers.authorization
    const entry: RequestLogEntry = {
      method,
      path,
      query: parsed.search,
      status: 0,
      bytesSent: 0,
      bytesReceived: 0,
      at: Date.now() - started,
      ...(req.headers.range ? {range: req.headers.range} : {}),
      ...(req.headers.accept ? {accept: req.headers.accept} : {}),
      ...(authz ? {authorization: /^basic /i.test(authz) ? ('basic' as const) : /^bearer /i.test(authz) ? ('bearer' as const) : ('other' as const)} : {}),
    }
    log.push(entry)
    res.once('finish', () => {
      entry.doneAt = Date.now() - started
    })
    const ctx: Ctx = {req, res, entry, method}

    const m =
      /^\/v2\/(.+)\/blobs\/(uploads)\/([^/]*)$/.exec(path) ?? /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path) ?? /^\/v2\/(.+)\/(tags)\/list$/.exec(path)
    const name = m?.[1]
    const writing = method !== 'GET' && method !== 'HEAD'

    if (path === '/token') {
      const rule = applyRule(ctx, findRule(method, path))
      if (rule && (await preServeFault(ctx, rule, name))) return
      return serveToken(ctx, parsed)
    }
    if (!path.startsWith('/v2/') && path !== '/v2') return sendError(ctx, 404, 'NOT_FOUND', 'not found')
    if (auth && !authorized(authz, name, writing ? 'push' : 'pull')) {
      await drain(req, entry)
      return sendError(ctx, 401, 'UNAUTHORIZED', 'authentication required', {'www-authenticate': challenge(name, writing ? 'pull,push' : 'pull')})
    }
    const rule = applyRule(ctx, findRule(method, path))
    if (rule && (await preServeFault(ctx, rule, name))) {
      await drain(req, entry)
      return
    }
    if (writing) {
      if (options.readOnly) {
        await drain(req, entry)
        return sendError(ctx, 405, 'UNSUPPORTED', 'the fake registry is read-only')
      }
      if (!m || !name) return sendError(ctx, 404, 'NOT_FOUND', 'not found')
      return handleWrite(ctx, name, m[2], m[3], parsed, authz)
    }

    if (path === '/v2/' || path === '/v2') return send(ctx, 200, {'content-type': 'application/json'}, Buffer.from('{}'), rule)
    if (!m || !name) return sendError(ctx, 404, 'NOT_FOUND', 'not found')
    const r = repos.get(name)
    if (!r) return sendError(ctx, 404, 'NAME_UNKNOWN', `repository name not known to registry: ${name}`)
    const kind = m[2]
    if (kind === 'tags') {
      return send(ctx, 200, {'content-type': 'application/json'}, Buffer.from(JSON.stringify({name, tags: [...r.tags.keys()].sort()})), rule)
    }
    const reference = m[3]
    if (kind === 'uploads') {
      const upload = uploads.get(reference)
      if (!upload) return sendError(ctx, 404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry')
      return send(
        ctx,
        204,
        {location: uploadLocation(name, reference), range: `0-${Math.max(0, upload.size - 1)}`, 'docker-upload-uuid': reference},
        Buffer.alloc(0),
        undefined,
      )
    }
    if (kind === 'manifests') {
      const digest = reference.includes(':') ? reference : r.tags.get(reference)
      const doc = digest ? r.manifests.get(digest) : undefined
      if (!digest || !doc) return sendError(ctx, 404, 'MANIFEST_UNKNOWN', `manifest unknown: ${reference}`)
      let body = doc.bytes
      let digestHeader = digest
      if (rule?.kind === 'oversize' && rule.bytes > body.length) {
        body = Buffer.concat([body, Buffer.alloc(rule.bytes - body.length, 0x20)])
        digestHeader = sha256(body)
      }
      const contentType = rule?.kind === 'contentType' ? rule.contentType : doc.mediaType
      return send(ctx, 200, {'content-type': contentType, 'docker-content-digest': digestHeader}, body, rule)
    }
    const blob = r.blobs.get(reference)
    if (!blob) return sendError(ctx, 404, 'BLOB_UNKNOWN', `blob unknown to registry: ${reference}`)
    const headers: Record<string, string> = {
      'content-type': rule?.kind === 'contentType' ? rule.contentType : 'application/octet-stream',
      'docker-content-digest': reference,
      'accept-ranges': 'bytes',
    }
    const range = parseRange(req.headers.range, blob.length)
    if (range === 'unsatisfiable') {
      return send(ctx, 416, {'content-range': `bytes */${blob.length}`}, Buffer.alloc(0), undefined)
    }
    if (range) {
      headers['content-range'] = `bytes ${range.start}-${range.end}/${blob.length}`
      return send(ctx, 206, headers, blob.subarray(range.start, range.end + 1), rule)
    }
    return send(ctx, 200, headers, blob, rule)
  }

  const uploadLocation = (name: string, id: string): string => {
    const rel = `/v2/${name}/blobs/uploads/${id}?_state=${encodeURIComponent(randomBytes(6).toString('base64'))}`
    return options.uploadLocation === 'absolute' ? url + rel : rel
  }

  /** Blob uploads, mounts and manifest pushes. */
  const handleWrite = async (ctx: Ctx, name: string, kind: string, reference: string, parsed: URL, authz: string | undefined): Promise<void> => {
    const {req, method, entry} = ctx
    if (kind === 'uploads' && method === 'POST' && reference === '') {
      await drain(req, entry)
      const mount = parsed.searchParams.get('mount')
      const from = parsed.searchParams.get('from')
      if (mount && from) {
        const source = repos.get(from)?.blobs.get(mount)
        // A mount needs read access to the source repository too; without it the registry starts an upload instead.
        if (source && (!auth || authorized(authz, from, 'pull'))) {
          repo(name).blobs.set(mount, source)
          return send(ctx, 201, {location: `/v2/${name}/blobs/${mount}`, 'docker-content-digest': mount}, Buffer.alloc(0), undefined)
        }
      }
      const id = randomBytes(12).toString('hex')
      uploads.set(id, {name, chunks: [], size: 0})
      return send(ctx, 202, {location: uploadLocation(name, id), range: '0-0', 'docker-upload-uuid': id}, Buffer.alloc(0), undefined)
    }
    if (kind === 'uploads' && (method === 'PATCH' || method === 'PUT')) {
      const upload = uploads.get(reference)
      if (!upload || upload.name !== name) {
        await drain(req, entry)
        return sendError(ctx, 404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry')
      }
      const declared = Number(req.headers['content-length'] ?? NaN)
      if (options.maxBodyBytes !== undefined && Number.isFinite(declared) && declared > options.maxBodyBytes) {
        await drain(req, entry)
        return sendError(ctx, 413, 'SIZE_INVALID', `request body of ${declared} bytes is larger than ${options.maxBodyBytes}`)
      }
      const range = req.headers['content-range']
      if (method === 'PATCH' && typeof range === 'string') {
        const r = /^(\d+)-(\d+)$/.exec(range)
        if (!r || Number(r[1]) !== upload.size) {
          await drain(req, entry)
          return send(ctx, 416, {location: uploadLocation(name, reference), range: `0-${Math.max(0, upload.size - 1)}`}, Buffer.alloc(0), undefined)
        }
      }
      const body = await readAll(req, entry)
      upload.chunks.push(body)
      upload.size += body.length
      if (method === 'PATCH') {
        return send(
          ctx,
          202,
          {location: uploadLocation(name, reference), range: `0-${Math.max(0, upload.size - 1)}`, 'docker-upload-uuid': reference},
          Buffer.alloc(0),
          undefined,
        )
      }
      const digest = parsed.searchParams.get('digest') ?? ''
      const data = Buffer.concat(upload.chunks)
      uploads.delete(reference)
      if (sha256(data) !== digest) return sendError(ctx, 400, 'DIGEST_INVALID', `provided digest did not match uploaded content: ${digest} != ${sha256(data)}`)
      repo(name).blobs.set(digest, data)
      return send(ctx, 201, {location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest}, Buffer.alloc(0), undefined)
    }
    if (kind === 'manifests' && method === 'PUT') {
      const bytes = await readAll(req, entry)
      const mediaType = String(req.headers['content-type'] ?? '')
      const digest = sha256(bytes)
      if (reference.includes(':') && reference !== digest) return sendError(ctx, 400, 'DIGEST_INVALID', `manifest digest ${digest} does not match ${reference}`)
      let doc: {manifests?: {digest: string}[]; config?: {digest: string}; layers?: {digest: string}[]}
      try {
        doc = JSON.parse(bytes.toString('utf8'))
      } catch {
        return sendError(ctx, 400, 'MANIFEST_INVALID', 'manifest invalid')
      }
      const r = repo(name)
      // As distribution does: a manifest's blobs and an index's manifests must be in the repository already.
      const missing = [
        ...(doc.manifests ?? []).filter((c) => !r.manifests.has(c.digest)),
        ...[doc.config, ...(doc.layers ?? [])].filter((c): c is {digest: string} => c !== undefined && !r.blobs.has(c.digest)),
      ]
      if (missing.length > 0) {
        const code = doc.manifests ? 'MANIFEST_UNKNOWN' : 'MANIFEST_BLOB_UNKNOWN'
        return sendError(ctx, 400, code, `unknown reference ${missing[0].digest}`)
      }
      r.manifests.set(digest, {bytes, mediaType})
      if (!reference.includes(':')) r.tags.set(reference, digest)
      return send(ctx, 201, {location: `/v2/${name}/manifests/${digest}`, 'docker-content-digest': digest}, Buffer.alloc(0), undefined)
    }
    await drain(req, entry)
    return sendError(ctx, 405, 'UNSUPPORTED', `${method} is not supported here`)
  }

  const applyRule = (ctx: Ctx, rule: ActiveRule | undefined): ActiveRule | undefined => {
    if (!rule) return undefined
    rule.hits++
    ctx.entry.fault = rule.kind
    return rule
  }

  /** Faults that replace or delay the normal answer. @returns true when the response is done. */
  const preServeFault = async (ctx: Ctx, rule: ActiveRule, name: string | undefined): Promise<boolean> => {
    if (rule.kind === 'delay') {
      await new Promise((r) => setTimeout(r, rule.ms))
      return false
    }
    if (rule.kind !== 'status') return false
    const headers: Record<string, string> = {...(rule.headers ?? {})}
    if (rule.retryAfter !== undefined) headers['retry-after'] = String(rule.retryAfter)
    if (rule.status === 401 && !Object.keys(headers).some((h) => h.toLowerCase() === 'www-authenticate')) headers['www-authenticate'] = challenge(name)
    if (rule.body !== undefined) {
      const body = typeof rule.body === 'string' ? Buffer.from(rule.body) : Buffer.from(JSON.stringify(rule.body))
      send(ctx, rule.status, {'content-type': typeof rule.body === 'string' ? 'text/plain' : 'application/json', ...headers}, body, undefined)
      return true
    }
    const [code, message] = errorFor(rule.status, ctx.entry.path)
    sendError(ctx, rule.status, code, message, headers)
    return true
  }

  const authorized = (header: string | undefined, name: string | undefined, action: 'pull' | 'push' = 'pull'): boolean => {
    if (!auth || !header) return !auth
    if (auth.mode === 'basic') return checkBasic(header, auth)
    const match = /^bearer\s+(.+)$/i.exec(header)
    const token = match ? tokens.get(match[1].trim()) : undefined
    if (!token || Date.now() > token.expiresAt) return false
    if (!name) return true
    // Scopes may come as several `scope` parameters or space-separated in one.
    return token.scopes
      .flatMap((s) => s.split(' '))
      .some((s) => {
        const [type, repoName, actions] = splitScope(s)
        return type === 'repository' && repoName === name && actions.split(',').some((a) => a === action || a === '*')
      })
  }

  const serveToken = (ctx: Ctx, parsed: URL): void => {
    if (auth?.mode !== 'bearer') return sendError(ctx, 404, 'NOT_FOUND', 'no token service in this mode')
    if (auth.credentials) {
      const h = ctx.req.headers.authorization
      if (!h || !checkBasic(h, auth.credentials)) {
        return sendError(ctx, 401, 'UNAUTHORIZED', 'bad credentials for token', {'www-authenticate': 'Basic realm="fake-token"'})
      }
    }
    const token = 'fake-' + randomBytes(18).toString('base64url')
    const expiresIn = auth.expiresIn ?? 300
    tokens.set(token, {scopes: parsed.searchParams.getAll('scope'), expiresAt: Date.now() + expiresIn * 1000})
    issued++
    const body = {token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString()}
    send(ctx, 200, {'content-type': 'application/json'}, Buffer.from(JSON.stringify(body)), undefined)
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (res.headersSent) return void res.destroy()
      res.writeHead(500, {'content-type': 'text/plain'})
      res.end(String(e))
    })
  })
  server.keepAliveTimeout = 2000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  url = `http://127.0.0.1:${port}`

  let stopped: Promise<void> | undefined
  return {
    host: `127.0.0.1:${port}`,
    url,
    port,
    log,
    rules: {
      add(rule) {
        const active = Object.assign({}, rule, {id: nextRuleId++, hits: 0}) as ActiveRule
        rules.push(active)
        return active
      },
      remove(rule) {
        const i = rules.findIndex((r) => r.id === rule.id)
        if (i >= 0) rules.splice(i, 1)
      },
      clear() {
        rules.length = 0
      },
      list() {
        return rules
      },
    },
    addImage,
    addBlob(name, data) {
      const digest = sha256(data)
      repo(name).blobs.set(digest, data)
      return digest
    },
    blobPath: (name, digest) => `/v2/${name}/blobs/${digest}`,
    manifestPath: (name, reference) => `/v2/${name}/manifests/${reference}`,
    clearLog() {
      log.length = 0
    },
    revokeTokens() {
      tokens.clear()
    },
    hasBlob: (name, digest) => repos.get(name)?.blobs.has(digest) ?? false,
    manifest(name, reference) {
      const r = repos.get(name)
      const digest = reference.includes(':') ? reference : r?.tags.get(reference)
      const doc = digest ? r?.manifests.get(digest) : undefined
      return doc && digest ? {...doc, digest} : undefined
    },
    tokensIssued: () => issued,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
      return stopped
    },
  }
}

interface Ctx {
  req: IncomingMessage
  res: ServerResponse
  entry: RequestLogEntry
  method: string
}

/** Reads a request body, counting it into the log entry. */
async function readAll(req: IncomingMessage, entry: RequestLogEntry): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req as AsyncIterable<Buffer>) {
    chunks.push(chunk)
    entry.bytesReceived += chunk.length
  }
  return Buffer.concat(chunks)
}

/** Reads and drops a request body (so that the connection can be reused). */
async function drain(req: IncomingMessage, entry: RequestLogEntry): Promise<void> {
  await readAll(req, entry).catch(() => undefined)
}

function sendError(ctx: Ctx, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify({errors: [{code, message, detail: null}]}))
  send(ctx, status, {'content-type': 'application/json', ...headers}, body, undefined)
}

function errorFor(status: number, path: string): [string, string] {
  switch (status) {
    case 401:
      return ['UNAUTHORIZED', 'authentication required']
    case 403:
      return ['DENIED', 'requested access to the resource is denied']
    case 404:
      return path.includes('/blobs/')
        ? ['BLOB_UNKNOWN', 'blob unknown to registry']
        : path.includes('/manifests/')
          ? ['MANIFEST_UNKNOWN', 'manifest unknown']
          : ['NAME_UNKNOWN', 'repository name not known to registry']
    case 429:
      return ['TOOMANYREQUESTS', 'too many requests']
    default:
      return ['UNKNOWN', `injected HTTP ${status}`]
  }
}

/** Writes status, headers and (for GET) the body, applying a body fault when given. */
function send(ctx: Ctx, status: number, headers: Record<string, string>, body: Buffer, rule: ActiveRule | undefined): void {
  const {res, entry} = ctx
  const isHead = ctx.method === 'HEAD'
  let data = body
  let declared = body.length
  let cutAt: number | undefined
  let bytesPerSecond: number | undefined
  if (rule && !isHead) {
    switch (rule.kind) {
      case 'corrupt': {
        if (data.length > 0) {
          const at = Math.min(Math.max(rule.offset ?? Math.floor(data.length / 2), 0), data.length - 1)
          data = Buffer.from(data)
          data[at] = data[at] ^ 0xff
        }
        break
      }
      case 'truncate':
        if ((rule.declare ?? 'full') === 'actual') {
          data = data.subarray(0, Math.min(rule.bytes, data.length))
          declared = data.length
        } else {
          cutAt = Math.min(rule.bytes, data.length)
        }
        break
      case 'drop':
        cutAt = Math.min(rule.afterBytes, data.length)
        break
      case 'slow':
        bytesPerSecond = Math.max(1, rule.bytesPerSecond)
        break
      default:
        break
    }
  }
  entry.status = status
  res.writeHead(status, {'docker-distribution-api-version': 'registry/2.0', 'content-length': String(declared), ...headers})
  if (isHead) {
    res.end()
    return
  }
  const payload = cutAt !== undefined ? data.subarray(0, cutAt) : data
  const finish = (): void => {
    if (cutAt !== undefined)
      res.destroy() // the client sees a connection reset mid-body
    else res.end()
  }
  writeBody(res, entry, payload, bytesPerSecond, finish)
}

/** Streams `data` honouring backpressure (and a rate limit), counting bytes into the log entry. */
function writeBody(res: ServerResponse, entry: RequestLogEntry, data: Buffer, bytesPerSecond: number | undefined, done: () => void): void {
  let pos = 0
  let closed = false
  res.once('close', () => {
    closed = true
  })
  const tickMs = 50
  const chunkSize = bytesPerSecond ? Math.max(1, Math.floor((bytesPerSecond * tickMs) / 1000)) : CHUNK
  const step = (): void => {
    while (!closed && pos < data.length) {
      const chunk = data.subarray(pos, Math.min(pos + chunkSize, data.length))
      pos += chunk.length
      entry.bytesSent += chunk.length
      const last = pos >= data.length
      // The last write's callback runs once its bytes are flushed: only then end or destroy.
      const ok = res.write(chunk, last ? () => finish() : undefined)
      if (last) return
      if (bytesPerSecond) {
        setTimeout(step, tickMs)
        return
      }
      if (!ok) {
        res.once('drain', step)
        return
      }
    }
    if (data.length === 0) finish()
  }
  const finish = (): void => {
    if (!closed) done()
  }
  step()
}

function parseRange(header: string | undefined, size: number): {start: number; end: number} | 'unsatisfiable' | undefined {
  if (!header) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m) return undefined // ignore what we do not understand, like many servers: full body
  let start: number
  let end: number
  if (m[1] === '') {
    if (m[2] === '') return undefined
    const suffix = Number(m[2])
    start = Math.max(0, size - suffix)
    end = size - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  }
  if (start >= size || start > end) return 'unsatisfiable'
  return {start, end}
}

function checkBasic(header: string, creds: FakeCredentials): boolean {
  const m = /^basic\s+(.+)$/i.exec(header)
  if (!m) return false
  const decoded = Buffer.from(m[1].trim(), 'base64').toString('utf8')
  return decoded === `${creds.user}:${creds.password}`
}

/** `repository:name/with/slashes:pull,push` -> type, name, actions. */
function splitScope(scope: string): [string, string, string] {
  const first = scope.indexOf(':')
  const last = scope.lastIndexOf(':')
  if (first < 0 || last === first) return [scope, '', '']
  return [scope.slice(0, first), scope.slice(first + 1, last), scope.slice(last + 1)]
}

function splitRef(ref: string): {name: string; tag?: string} {
  const at = ref.indexOf('@')
  const rest = at >= 0 ? ref.slice(0, at) : ref
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) return {name: rest.slice(0, colon), tag: rest.slice(colon + 1)}
  return {name: rest}
}
