// Registry authorization as containerd's docker authorizer does it: learn a host's scheme from its 401 challenge,
// then authorize every later request up front; Bearer tokens are cached per host and scope set until they expire, and
// concurrent requests share one in-flight token fetch.
import type {IncomingHttpHeaders} from 'node:http'
import {Internal, PermissionDenied, Unavailable, isBerthError} from '../errors/index.js'
import type {CredentialStore, Credentials} from './credentials.js'

/** One challenge of a `WWW-Authenticate` header: the scheme (lowercased) and its parameters (names lowercased). */
export interface Challenge {
  scheme: string
  params: Record<string, string>
}

/** What `authorize()` put on a request, so a 401 can tell "not asked yet" from "denied". */
export type AuthUse = {kind: 'none'} | {kind: 'basic'} | {kind: 'bearer'; key: string; fresh: boolean}

/** An HTTP answer from the token endpoint, body read. */
export interface TokenResponse {
  status: number
  statusText: string
  headers: IncomingHttpHeaders
  body: string
}

/** Sends a token request (with the client's retries and TLS); `context` is the opaque value given to `unauthorized()`. */
export type TokenFetcher<C> = (context: C, method: 'GET' | 'POST', url: URL, headers: Record<string, string>, body?: string) => Promise<TokenResponse>

/** The prefix containerd puts on authorization failures while resolving. */
export const ACCESS_DENIED_PREFIX = 'pull access denied, repository does not exist or may require authorization'

/** The prefix containerd puts on authorization failures while pushing. */
export const PUSH_ACCESS_DENIED_PREFIX = 'push access denied, repository does not exist or may require authorization'

/** The default lifetime of a token whose response has no `expires_in`, in seconds. */
export const DEFAULT_TOKEN_SECONDS = 60

/**
 * Parse `WWW-Authenticate` values: `Bearer realm="…",service="…",scope="…"`, `Basic realm="…"`, several challenges in
 * one value or several values. Quoted strings may contain commas and backslash escapes. Never throws.
 */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return []
  const out: Challenge[] = []
  for (const value of Array.isArray(header) ? header : [header]) {
    let i = 0
    let current: Challenge | undefined
    const n = value.length
    const skip = (chars: string): void => {
      while (i < n && chars.includes(value[i])) i++
    }
    const token = (): string => {
      const start = i
      while (i < n && !' \t,='.includes(value[i])) i++
      return value.slice(start, i)
    }
    while (i < n) {
      skip(' \t,')
      if (i >= n) break
      const word = token()
      skip(' \t')
      if (value[i] === '=' && current !== undefined && word !== '') {
        i++
        skip(' \t')
        let v = ''
        if (value[i] === '"') {
          i++
          while (i < n && value[i] !== '"') {
            if (value[i] === '\\' && i + 1 < n) i++
            v += value[i]
            i++
          }
          i++
        } else {
          const start = i
          while (i < n && value[i] !== ',') i++
          v = value.slice(start, i).trim()
        }
        current.params[word.toLowerCase()] = v
      } else if (word !== '') {
        if (value[i] === '=') {
          // token68 (e.g. `Basic abc==`) after a scheme with no current challenge: skip it.
          while (i < n && value[i] !== ',') i++
          continue
        }
        current = {scheme: word.toLowerCase(), params: {}}
        out.push(current)
      } else {
        i++
      }
    }
  }
  return out
}

interface BearerHandler<C> {
  scheme: 'bearer'
  realm: string
  service: string
  scopes: string[]
  context: C
}

interface BasicHandler {
  scheme: 'basic'
  header: string
}

interface Token {
  token: string
  expiresAt: number
}

function basicHeader(creds: Credentials): string {
  return 'Basic ' + Buffer.from(`${creds.username}:${creds.secret}`).toString('base64')
}

/** The server's words from a registry error body (`{"errors":[{"code","message"}]}`), or its text. Never throws. */
export function serverMessage(body: string): string {
  const text = body.trim()
  if (text === '') return ''
  try {
    const doc = JSON.parse(text) as {errors?: {code?: unknown; message?: unknown}[]; details?: unknown; error?: unknown; message?: unknown}
    if (Array.isArray(doc.errors) && doc.errors.length > 0) {
      return doc.errors
        .map((e) => {
          const code = typeof e?.code === 'string' ? e.code.toLowerCase() : ''
          const message = typeof e?.message === 'string' ? e.message : ''
          return code !== '' && message !== '' ? `${code}: ${message}` : code || message
        })
        .filter((s) => s !== '')
        .join('; ')
    }
    for (const key of ['details', 'message', 'error'] as const) if (typeof doc[key] === 'string') return doc[key]
  } catch {
    // not JSON: fall through to the text
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

/** Authorizes requests per registry host; `C` is what the token fetcher needs to reach the realm (TLS, headers). */
export class Authorizer<C> {
  private readonly handlers = new Map<string, BearerHandler<C> | BasicHandler>()
  private readonly tokens = new Map<string, Token>()
  private readonly inflight = new Map<string, Promise<Token>>()

  constructor(
    private readonly credentials: CredentialStore,
    private readonly fetchToken: TokenFetcher<C>,
    private readonly clientId = 'berth',
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Put an `authorization` header on `headers` when `host` has challenged before (fetching or reusing a token).
   * @returns what was used, to hand back to `unauthorized()` if the request still gets a 401.
   * @throws PermissionDenied when the token endpoint refuses the credentials; Unavailable when it cannot be reached.
   */
  async authorize(
    host: string,
    scope: string | readonly string[],
    repository: string,
    headers: Record<string, string>,
    deniedPrefix: string = ACCESS_DENIED_PREFIX,
  ): Promise<AuthUse> {
    const handler = this.handlers.get(host)
    if (handler === undefined) return {kind: 'none'}
    if (handler.scheme === 'basic') {
      headers['authorization'] = handler.header
      return {kind: 'basic'}
    }
    const scopes = [...new Set([...handler.scopes, ...(typeof scope === 'string' ? [scope] : scope)])].sort()
    const key = `${host}\n${handler.realm}\n${handler.service}\n${scopes.join(' ')}`
    const cached = this.tokens.get(key)
    if (cached !== undefined && cached.expiresAt > this.now()) {
      headers['authorization'] = `Bearer ${cached.token}`
      return {kind: 'bearer', key, fresh: false}
    }
    let pending = this.inflight.get(key)
    if (pending === undefined) {
      pending = this.obtainToken(host, repository, handler, scopes, deniedPrefix)
      this.inflight.set(key, pending)
      const settle = (): void => {
        if (this.inflight.get(key) === pending) this.inflight.delete(key)
      }
      pending.then((t) => {
        this.tokens.set(key, t)
        settle()
      }, settle)
    }
    const token = await pending
    headers['authorization'] = `Bearer ${token.token}`
    return {kind: 'bearer', key, fresh: true}
  }

  /**
   * Learn from a 401 answer. Returns normally when the request should be sent again (now or with a new token).
   * @param used what `authorize()` returned for the request that got the 401.
   * @param message the server's message from the 401 body.
   * @param deniedPrefix what denials start with: containerd's `pull access denied, …` or `push access denied, …`.
   * @throws PermissionDenied `pull access denied, …: <server message>` when credentials or a fresh token were refused,
   *   or `…: no basic auth credentials` for a Basic challenge without credentials, or `…: failed to find supported
   *   auth scheme "<scheme>" from <host>` for other schemes (containerd treats those as a plain 401 as well).
   */
  async unauthorized(
    host: string,
    repository: string,
    wwwAuthenticate: string | string[] | undefined,
    used: AuthUse,
    message: string,
    context: C,
    deniedPrefix: string = ACCESS_DENIED_PREFIX,
  ): Promise<void> {
    const challenges = parseChallenges(wwwAuthenticate)
    const denied = (detail: string): PermissionDenied => new PermissionDenied(`${deniedPrefix}: ${detail}`)
    const bearer = challenges.find((c) => c.scheme === 'bearer')
    if (bearer !== undefined) {
      if (used.kind === 'bearer') {
        this.tokens.delete(used.key)
        if (used.fresh) {
          const error = bearer.params['error']
          const described =
            error === undefined
              ? ''
              : `server message: ${error}${bearer.params['error_description'] ? ` (${bearer.params['error_description']})` : ''}: authorization failed`
          throw denied(described || message || '401 Unauthorized')
        }
        // A cached token the server no longer takes (expired or revoked early): fetch a new one.
      }
      const realm = bearer.params['realm']
      if (realm === undefined || realm === '') throw denied(`invalid bearer challenge from ${host}: no realm`)
      const existing = this.handlers.get(host)
      const scopes = (bearer.params['scope'] ?? '').split(' ').filter((s) => s !== '')
      if (existing?.scheme !== 'bearer' || existing.realm !== realm || existing.service !== (bearer.params['service'] ?? '')) {
        this.handlers.set(host, {scheme: 'bearer', realm, service: bearer.params['service'] ?? '', scopes, context})
      }
      return
    }
    const basic = challenges.find((c) => c.scheme === 'basic')
    if (basic !== undefined) {
      if (used.kind === 'basic') throw denied(message || '401 Unauthorized')
      const creds = await this.credentials.get(host, repository)
      if (creds === undefined || creds.username === '' || creds.secret === '') throw denied('no basic auth credentials')
      this.handlers.set(host, {scheme: 'basic', header: basicHeader(creds)})
      return
    }
    if (challenges.length === 0) throw denied(message || '401 Unauthorized')
    throw denied(`failed to find supported auth scheme ${JSON.stringify(challenges[0].scheme)} from ${host}`)
  }

  private async obtainToken(host: string, repository: string, handler: BearerHandler<C>, scopes: string[], deniedPrefix: string): Promise<Token> {
    const creds = await this.credentials.get(host, repository)
    if (creds !== undefined && creds.secret !== '') {
      // With a secret: OAuth2 POST (password or refresh_token grant), falling back to GET + Basic on the statuses
      // registries without POST support answer with (containerd's list).
      const form = new URLSearchParams()
      if (creds.username === '') {
        form.set('grant_type', 'refresh_token')
        form.set('refresh_token', creds.secret)
      } else {
        form.set('grant_type', 'password')
        form.set('username', creds.username)
        form.set('password', creds.secret)
      }
      form.set('client_id', this.clientId)
      if (handler.service !== '') form.set('service', handler.service)
      if (scopes.length > 0) form.set('scope', scopes.join(' '))
      const res = await this.send(
        handler,
        'POST',
        new URL(handler.realm),
        {'content-type': 'application/x-www-form-urlencoded; charset=utf-8'},
        form.toString(),
      )
      if (res.status >= 200 && res.status < 300) return this.parseToken(res, handler.realm)
      const fallback = res.status === 404 || res.status === 401 || res.status === 400 || (res.status === 405 && creds.username !== '')
      if (!fallback) throw this.tokenError('POST', handler.realm, res, deniedPrefix)
      return this.getToken(handler, scopes, creds, deniedPrefix)
    }
    return this.getToken(handler, scopes, undefined, deniedPrefix)
  }

  private async getToken(handler: BearerHandler<C>, scopes: string[], creds: Credentials | undefined, deniedPrefix: string): Promise<Token> {
    const url = new URL(handler.realm)
    if (handler.service !== '') url.searchParams.set('service', handler.service)
    for (const s of scopes) url.searchParams.append('scope', s)
    const headers: Record<string, string> = {}
    if (creds !== undefined && creds.secret !== '') headers['authorization'] = basicHeader(creds)
    const res = await this.send(handler, 'GET', url, headers)
    if (res.status >= 200 && res.status < 300) return this.parseToken(res, handler.realm)
    throw this.tokenError('GET', handler.realm, res, deniedPrefix, creds === undefined)
  }

  private async send(handler: BearerHandler<C>, method: 'GET' | 'POST', url: URL, headers: Record<string, string>, body?: string): Promise<TokenResponse> {
    try {
      return await this.fetchToken(handler.context, method, url, headers, body)
    } catch (err) {
      if (isBerthError(err)) throw err
      throw new Unavailable(`failed to fetch token from ${url.origin}: ${(err as Error).message}`, {cause: err})
    }
  }

  private parseToken(res: TokenResponse, realm: string): Token {
    let doc: {token?: unknown; access_token?: unknown; expires_in?: unknown}
    try {
      doc = JSON.parse(res.body) as typeof doc
    } catch (err) {
      throw new Internal(`failed to decode token response from ${realm}: ${(err as Error).message}`, {cause: err})
    }
    const token = typeof doc.token === 'string' && doc.token !== '' ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : ''
    if (token === '') throw new Internal(`no token in the response from ${realm}`)
    const seconds = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_SECONDS
    // Renew a little early so a token does not expire between the check and the request.
    const margin = Math.min(5, seconds * 0.1)
    return {token, expiresAt: this.now() + (seconds - margin) * 1000}
  }

  private tokenError(method: string, realm: string, res: TokenResponse, deniedPrefix: string, anonymous = false): Error {
    const server = serverMessage(res.body)
    const detail =
      `failed to fetch ${anonymous ? 'anonymous' : 'oauth'} token: unexpected status from ${method} request to ${realm}: ` +
      `${res.status} ${res.statusText}${server === '' ? '' : `: ${server}`}`
    if (res.status === 401 || res.status === 403) return new PermissionDenied(`${deniedPrefix}: ${detail}`)
    if (res.status === 429 || res.status >= 500) return new Unavailable(detail)
    return new Internal(detail)
  }
}
