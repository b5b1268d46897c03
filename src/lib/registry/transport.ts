// One HTTP exchange with a registry over node:http / node:https (redirects followed, Authorization dropped when a
// redirect leaves the host, a redirect loop an error), on keep-alive agents shared per TLS setting; every exchange is
// counted, and nothing here retries except the https->http fallback for localhost.
//
// Why node:http(s) and not the global fetch: Node 20's fetch is undici, and per-host TLS settings (extra CAs,
// skip-verify, client certificates from hosts.toml) need an undici `Agent`, which is not importable in Node 20
// without installing undici. node:https takes them per Agent with no dependency, and an IncomingMessage is an
// async iterable of the socket's own chunks (up to 64 KiB each), with no web-stream layer or extra copy in between.
import {readFile} from 'node:fs/promises'
import http, {type IncomingHttpHeaders, type IncomingMessage} from 'node:http'
import https from 'node:https'
import type {Readable} from 'node:stream'
import {rootCertificates} from 'node:tls'
import {InvalidArgument, Unavailable} from '../errors/index.js'

/** TLS settings of one endpoint, by file name (the files are read once per process). */
export interface TlsSettings {
  caFiles: readonly string[]
  rejectUnauthorized: boolean
  clientPairs: readonly (readonly [string, string])[]
}

/**
 * A request body: bytes, or a function opening a fresh stream of them (called again for each redirect or fallback, so
 * an upload can be sent twice without buffering it). The caller sets `content-length`.
 */
export type RequestBody = string | Buffer | (() => Readable)

/** A request to send. */
export interface ExchangeRequest {
  method: string
  url: URL
  headers: Record<string, string>
  body?: RequestBody
  tls: TlsSettings
  /** https first, then plain http if the server answers the TLS handshake with HTTP (remembered per host). */
  httpFallback?: boolean
  signal?: AbortSignal
}

/** A response whose body has not been read yet: read it, `discard()` it, or destroy it. */
export interface Exchange {
  status: number
  statusText: string
  headers: IncomingHttpHeaders
  body: IncomingMessage
  /** The URL that answered (after redirects). */
  url: URL
  method: string
}

/** Counters shared with the registry client. */
export interface TransportStats {
  blobBytes: number
  requests: number
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 10

/** Sends single HTTP exchanges; owns the agents. */
export class Transport {
  private readonly agents = new Map<string, Promise<http.Agent>>()
  private readonly files = new Map<string, Promise<Buffer>>()
  /** Hosts that answered TLS with plain HTTP. */
  private readonly plainHosts = new Set<string>()

  /**
   * @param extraCaFile a CA bundle to trust besides the system roots on every https agent: the NODE_EXTRA_CA_CERTS
   *   file that bin/run.js keeps node from loading at start-up (see there). Unreadable, it is ignored with a warning, as
   *   node does.
   */
  constructor(
    readonly stats: TransportStats,
    private readonly timeoutMs: number,
    private readonly extraCaFile?: string,
  ) {}

  /**
   * Send `req`, following up to 10 redirects (303 turns into GET without a body; Authorization is not sent to another
   * host); a loop or an 11th redirect is an Unavailable error that says so.
   * @returns the final response with its body unread.
   * @throws InvalidArgument when a CA or client certificate file cannot be read; Unavailable for a redirect loop;
   *   otherwise Node's network and TLS errors as they come (the caller classifies them), and the abort reason when
   *   `signal` fires.
   */
  async exchange(req: ExchangeRequest): Promise<Exchange> {
    let url = req.url
    let method = req.method
    let body = req.body
    const headers = {...req.headers}
    const visited = new Set<string>()
    for (let hops = 0; ; hops++) {
      const res = await this.sendOnce(method, url, headers, body, req)
      const status = res.statusCode ?? 0
      const location = res.headers.location
      if (REDIRECTS.has(status) && location !== undefined) {
        discard(res, method === 'HEAD')
        visited.add(`${method} ${url.href}`)
        const next = new URL(location, url)
        // A loop or an endless chain is the server's fault, not an "unexpected status 307".
        if (visited.has(`${status === 303 && method !== 'HEAD' ? 'GET' : method} ${next.href}`)) {
          throw new Unavailable(`registry redirect loop: ${url.href} redirects back to ${next.href}`)
        }
        if (hops >= MAX_REDIRECTS) throw new Unavailable(`registry redirected more than ${MAX_REDIRECTS} times, last to ${next.href} (from ${req.url.href})`)
        if (next.host !== url.host) delete headers['authorization']
        if (status === 303 && method !== 'HEAD') {
          method = 'GET'
          body = undefined
          delete headers['content-length']
          delete headers['content-type']
        }
        url = next
        continue
      }
      return {status, statusText: res.statusMessage ?? '', headers: res.headers, body: res, url, method}
    }
  }

  /** Destroy idle keep-alive sockets. The client stays usable (new sockets are opened on demand). */
  close(): void {
    for (const p of this.agents.values())
      void p.then(
        (a) => a.destroy(),
        () => {},
      )
    this.agents.clear()
  }

  private async sendOnce(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: RequestBody | undefined,
    req: ExchangeRequest,
  ): Promise<IncomingMessage> {
    const plain = url.protocol === 'http:' || (req.httpFallback === true && this.plainHosts.has(url.host))
    try {
      return await this.request(plain ? 'http:' : 'https:', method, url, headers, body, req)
    } catch (err) {
      if (plain || req.httpFallback !== true || !isPlainHttpAnswer(err)) throw err
      this.plainHosts.add(url.host)
      return this.request('http:', method, url, headers, body, req)
    }
  }

  private async request(
    protocol: 'http:' | 'https:',
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: RequestBody | undefined,
    req: ExchangeRequest,
  ): Promise<IncomingMessage> {
    const agent = await this.agent(protocol, req.tls)
    req.signal?.throwIfAborted()
    this.stats.requests++
    const mod = protocol === 'https:' ? https : http
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname
    const port = url.port === '' ? (protocol === 'https:' ? 443 : 80) : Number(url.port)
    const hostHeader = url.port === '' || (protocol === 'https:' && url.port === '443') || (protocol === 'http:' && url.port === '80') ? url.hostname : url.host
    return new Promise<IncomingMessage>((resolve, reject) => {
      const r = mod.request(
        {
          protocol,
          hostname,
          port,
          path: url.pathname + url.search,
          method,
          headers: {host: hostHeader, ...headers},
          agent,
          ...(req.signal === undefined ? {} : {signal: req.signal}),
          timeout: this.timeoutMs,
        },
        resolve,
      )
      // Stays attached after the response: later socket errors reach the body stream, and must not crash the process.
      r.on('error', reject)
      r.on('timeout', () => r.destroy(Object.assign(new Error(`no data from ${url.host} for ${this.timeoutMs} ms`), {code: 'ETIMEDOUT'})))
      if (typeof body === 'function') {
        const source = body()
        // A failing source (a blob file that cannot be read) fails the request with its own error; a request that
        // ends early (reset, time-out, early answer) lets go of the source.
        source.on('error', (err: Error) => r.destroy(Object.assign(err, {bodySource: true})))
        r.on('close', () => source.destroy())
        source.pipe(r)
      } else {
        r.end(body)
      }
    })
  }

  private agent(protocol: 'http:' | 'https:', tls: TlsSettings): Promise<http.Agent> {
    const key = protocol === 'http:' ? 'http' : JSON.stringify(['https', tls.caFiles, tls.rejectUnauthorized, tls.clientPairs])
    let p = this.agents.get(key)
    if (p === undefined) {
      p = this.makeAgent(protocol, tls)
      this.agents.set(key, p)
      p.catch(() => this.agents.delete(key))
    }
    return p
  }

  private async makeAgent(protocol: 'http:' | 'https:', tls: TlsSettings): Promise<http.Agent> {
    const common = {keepAlive: true, scheduling: 'lifo' as const}
    if (protocol === 'http:') return new http.Agent(common)
    const options: https.AgentOptions = {...common, rejectUnauthorized: tls.rejectUnauthorized}
    const deferred = await this.deferredCa()
    if (tls.caFiles.length > 0 || deferred !== undefined) {
      const extra = await Promise.all(tls.caFiles.map((f) => this.readFileOnce(f, 'CA cert')))
      // `ca` replaces Node's roots, so keep them: the extra files add to the trust store, as Go's AppendCertsFromPEM does.
      options.ca = [...rootCertificates, ...(deferred === undefined ? [] : [deferred]), ...extra.map((b) => b.toString('utf8'))]
    }
    if (tls.clientPairs.length > 0) {
      const certs: Buffer[] = []
      const keys: Buffer[] = []
      for (const [certFile, keyFile] of tls.clientPairs) {
        const cert = await this.readFileOnce(certFile, 'client certificate')
        certs.push(cert)
        keys.push(keyFile === '' ? cert : await this.readFileOnce(keyFile, 'client key'))
      }
      options.cert = certs
      options.key = keys
    }
    return new https.Agent(options)
  }

  private deferredCaText: Promise<string | undefined> | undefined

  private deferredCa(): Promise<string | undefined> {
    const file = this.extraCaFile
    if (file === undefined || file === '') return Promise.resolve(undefined)
    this.deferredCaText ??= readFile(file, 'utf8').catch((err: unknown) => {
      process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(err as Error).message}`)
      return undefined
    })
    return this.deferredCaText
  }

  private readFileOnce(path: string, what: string): Promise<Buffer> {
    let p = this.files.get(path)
    if (p === undefined) {
      p = readFile(path).catch((err: unknown) => {
        throw new InvalidArgument(`unable to read ${what} ${JSON.stringify(path)}: ${(err as Error).message}`, {cause: err})
      })
      this.files.set(path, p)
    }
    return p
  }
}

/** Let a response body go: drained when there is none (HEAD) or it is small (so the socket is reused), destroyed otherwise. Never throws. */
export function discard(res: IncomingMessage, head = false): void {
  const length = Number(res.headers['content-length'] ?? NaN)
  // Even a complete body must be read to its end: the socket goes back to the pool on 'end', not before.
  if (head || res.complete || (Number.isFinite(length) && length <= 64 * 1024)) {
    res.on('error', () => {})
    res.resume()
  } else {
    res.destroy()
  }
}

/**
 * Read a whole body, refusing more than `limit` bytes: the Content-Length is checked first, and the count while reading.
 * @returns the bytes, or `{tooBig: n}` (n = the declared length, or the count when it went past the limit).
 * @throws Node's stream errors when the connection fails mid-body.
 */
export async function readBody(res: IncomingMessage, limit: number): Promise<Buffer | {tooBig: number}> {
  const declared = Number(res.headers['content-length'] ?? NaN)
  if (Number.isFinite(declared) && declared > limit) {
    res.destroy()
    return {tooBig: declared}
  }
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of res as AsyncIterable<Buffer>) {
    total += chunk.length
    if (total > limit) {
      res.destroy()
      return {tooBig: total}
    }
    chunks.push(chunk)
  }
  if (!res.complete) throw Object.assign(new Error('connection closed before the body was complete'), {code: 'ECONNRESET'})
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total)
}

/** Read a small body for an error message (up to 64 KiB); failures give an empty string. Never throws. */
export async function readErrorBody(res: IncomingMessage): Promise<string> {
  try {
    const body = await readBody(res, 64 * 1024)
    return Buffer.isBuffer(body) ? body.toString('utf8') : ''
  } catch {
    return ''
  }
}

/** The node error code of `err` or of its cause, if any. */
export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, i = 0; e !== undefined && e !== null && i < 5; e = (e as {cause?: unknown}).cause, i++) {
    const code = (e as {code?: unknown}).code
    if (typeof code === 'string') return code
  }
  return undefined
}

const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
])

/** True for errors worth another try: resets, broken pipes, time-outs, refused connections, transient DNS. */
export function isRetryableNetworkError(err: unknown): boolean {
  const code = errorCode(err)
  if (code !== undefined && RETRYABLE_CODES.has(code)) return true
  return err instanceof Error && /socket hang up|aborted/i.test(err.message) && !isAbortError(err)
}

/** True when a certificate could not be verified (unknown CA, self-signed, expired, wrong name). */
export function isCertificateError(err: unknown): boolean {
  const code = errorCode(err) ?? ''
  return /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|ERR_TLS_/.test(code)
}

/** True when a TLS handshake met a plain HTTP server (OpenSSL: wrong version number / packet length too long / http request). */
export function isPlainHttpAnswer(err: unknown): boolean {
  const code = errorCode(err) ?? ''
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' || code === 'ERR_SSL_HTTP_REQUEST') return true
  return err instanceof Error && /wrong version number|packet length too long|http request/i.test(err.message)
}

/** True for an abort through an AbortSignal. */
export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as {code?: unknown}).code === 'ABORT_ERR')
}
