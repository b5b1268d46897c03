// The registry client: resolves references and fetches manifests and blobs over the distribution API, trying each
// endpoint (mirrors, then upstream) in order, retrying transient failures with bounded jittered backoff, and never
// handing out a manifest whose size or digest is wrong.
import type {IncomingMessage} from 'node:http'
import {createHash} from 'node:crypto'
import {posix} from 'node:path'
import type {Readable} from 'node:stream'
import {
  DataLoss,
  FailedPrecondition,
  Internal,
  InvalidArgument,
  NotFound,
  PermissionDenied,
  Unavailable,
  errorKind,
  isBerthError,
  type BerthError,
} from '../errors/index.js'
import {
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  detectManifestMediaType,
  digestAlgorithm,
  isDigest,
  isIndex,
  isManifest,
  isSchema1,
  normalizeMediaType,
  type Descriptor,
  type ImageReference,
} from '../oci/index.js'
import {ACCESS_DENIED_PREFIX, Authorizer, PUSH_ACCESS_DENIED_PREFIX, serverMessage, type AuthUse, type TokenResponse} from './auth.js'
import {CredentialStore} from './credentials.js'
import {isMirrorOf, loadEndpoints, type Capability, type Endpoint} from './hosts.js'
import {
  Transport,
  discard,
  isAbortError,
  isCertificateError,
  isRetryableNetworkError,
  readBody,
  readErrorBody,
  type Exchange,
  type RequestBody,
  type TlsSettings,
} from './transport.js'
import type {BlobSource, PushBlobOptions, PushBlobOutcome, PushManifestOptions, Registry, RegistryOptions, Resolved} from './types.js'

/** `User-Agent` sent when none is given. */
export const DEFAULT_USER_AGENT = 'berth/0.1.0'
const DEFAULT_RETRIES = 4
const DEFAULT_RETRY_BASE_MS = 200
const MAX_BACKOFF_MS = 10_000
/** A `Retry-After` longer than this is not waited for: the request fails with the server's answer instead. */
const MAX_RETRY_AFTER_MS = 60_000
const DEFAULT_TIMEOUT_MS = 30_000
/** A resumed blob attempt that delivered at least this much resets the failure count (a long download may drop often). */
const RESUME_PROGRESS_RESET = 1024 * 1024
/** Chunk size of a chunked upload when the registry names no minimum (used after a monolithic PUT met 413). */
const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
/** Chunks are never made smaller than this after 413 answers. */
const MIN_CHUNK_BYTES = 64 * 1024
/** Upload progress is reported at most this often per blob. */
const PROGRESS_EVERY_MS = 100

/** Upload errors after which the blob may be sent again in a fresh upload session. */
const RESTARTABLE = new WeakSet<object>()

/** A monolithic upload (or a chunk) the registry refused as too large (413): send it again in (smaller) chunks. */
class ChunksRequired extends Error {
  constructor(
    readonly url: URL,
    readonly minChunk: number,
  ) {
    super('payload too large')
  }
}

/** Errors after which a blob download may continue from where it stopped. */
const RESUMABLE = new WeakSet<object>()
function resumable<E extends object>(err: E): E {
  RESUMABLE.add(err)
  return err
}

/** True for a blob stream error (dropped connection, short body) after which asking again with Range can continue. Never throws. */
export function isResumableError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && RESUMABLE.has(err)
}

/** One logical request of `send`. */
interface SendInit {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH'
  /** Under the repository: `<kind>/<object>` (e.g. `blobs`, `uploads/`), with `query`; or `url` (an upload Location). */
  kind?: string
  object?: string
  query?: Record<string, string>
  url?: URL
  headers: Record<string, string>
  body?: RequestBody
  lastHost: boolean
  /** Token scopes; default `repository:<path>:pull`. */
  scopes?: readonly string[]
  /** Start of PermissionDenied messages; default containerd's `pull access denied, …`. */
  deniedPrefix?: string
  /** Retry dropped connections and 429/5xx answers (default true). Off for uploads into a session, which cannot be resent. */
  retry?: boolean
}

/** An error from one endpoint, with how far it got (containerd's priorities: the furthest-along error wins). */
interface HostFailure {
  error: BerthError
  priority: number
}

const goMethod = (m: string): string => m.charAt(0) + m.slice(1).toLowerCase()

/** A URL for messages: no credentials, no query. */
function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`
}

/**
 * Create a registry client (see `Registry` in index.ts). Nothing is read or contacted until the first call.
 */
export function createRegistryClient(options: RegistryOptions = {}): Registry {
  return new RegistryClient(options)
}

class RegistryClient implements Registry {
  readonly stats = {blobBytes: 0, requests: 0, uploadedBytes: 0}
  private readonly transport: Transport
  private readonly auth: Authorizer<Endpoint>
  private readonly endpointCache = new Map<string, Promise<Endpoint[]>>()
  private readonly retries: number
  private readonly retryBaseMs: number
  private readonly userAgent: string
  private readonly signal: AbortSignal | undefined

  constructor(private readonly options: RegistryOptions) {
    this.retries = Math.max(0, Math.floor(options.retries ?? DEFAULT_RETRIES))
    this.retryBaseMs = Math.max(0, options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS)
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT
    this.signal = options.signal
    const extraCaFile = options.extraCaFile ?? (options.env ?? process.env).BERTH_NODE_EXTRA_CA_CERTS
    this.transport = new Transport(this.stats, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, extraCaFile)
    const credentials = new CredentialStore({
      ...(options.user === undefined ? {} : {user: options.user}),
      ...(options.dockerConfigPath === undefined ? {} : {dockerConfigPath: options.dockerConfigPath}),
      ...(options.authJsonPath === undefined ? {} : {authJsonPath: options.authJsonPath}),
      ...(options.env === undefined ? {} : {env: options.env}),
    })
    this.auth = new Authorizer<Endpoint>(credentials, (ep, method, url, headers, body) => this.tokenRequest(ep, method, url, headers, body))
  }

  close(): void {
    this.transport.close()
  }

  // ---- resolve ---------------------------------------------------------------------------------------------------

  async resolve(ref: ImageReference): Promise<Resolved> {
    const name = ref.toString()
    const digest = ref.digest
    const hosts = await this.hostsFor(ref, digest === undefined ? 'resolve' : 'pull')
    if (hosts.length === 0) throw new NotFound('no resolve hosts', {suffixKind: true})
    const paths: ['manifests' | 'blobs', string][] =
      digest === undefined
        ? [['manifests', ref.tag ?? 'latest']]
        : [
            ['manifests', digest],
            ['blobs', digest],
          ]
    let best: HostFailure | undefined
    for (const [kind, object] of paths) {
      for (const [i, ep] of hosts.entries()) {
        const outcome = await this.attempt(() => this.resolveAt(ep, ref, kind, object, i === hosts.length - 1))
        if ('descriptor' in outcome) return outcome
        if (best === undefined || outcome.priority > best.priority) best = outcome
      }
    }
    throw best?.error ?? new NotFound(name, {suffixKind: true})
  }

  private async resolveAt(ep: Endpoint, ref: ImageReference, kind: 'manifests' | 'blobs', object: string, lastHost: boolean): Promise<Resolved | HostFailure> {
    const name = ref.toString()
    const headers = {accept: MANIFEST_ACCEPT.join(', ')}
    let ex = await this.send(ep, ref, {method: 'HEAD', kind, object, headers, lastHost})
    // 405: registries without HEAD on manifests; 403: a HEAD has no body, and the GET's body says why (containerd).
    if (ex.status === 405 || ex.status === 403) {
      discard(ex.body, ex.method === 'HEAD')
      ex = await this.send(ep, ref, {method: 'GET', kind, object, headers, lastHost})
    }
    const failed = await this.failure(ex, ref, `${name}`)
    if (failed !== undefined) return failed

    const digest = ref.digest
    const contentType = header(ex, 'content-type')
    if (ex.method === 'HEAD') {
      discard(ex.body, ex.method === 'HEAD')
      const size = contentLength(ex)
      const headerDigest = header(ex, 'docker-content-digest')
      const dgst = digest ?? (headerDigest !== undefined && isDigest(headerDigest) ? headerDigest : undefined)
      if (size !== undefined && size > MAX_MANIFEST_BYTES) return {error: tooBig(size, name), priority: 4}
      if (dgst !== undefined && size !== undefined && contentType !== undefined && isTelling(contentType)) {
        // A telling Content-Type needs no body (schema 1 is refused right here).
        const mediaType = detectManifestMediaType(Buffer.alloc(0), contentType)
        return {ref, name, descriptor: {mediaType, digest: dgst, size}}
      }
    }
    const got = await this.getManifest(ep, ref, {kind, object, headers, lastHost}, name, ex.method === 'GET' ? ex : undefined)
    if ('error' in got) return got
    const body = got.body
    if (!Buffer.isBuffer(body)) return {error: tooBig(body.tooBig, name), priority: 4}
    const mediaType = detectManifestMediaType(body, header(got.ex, 'content-type'))
    const actual = hashOf(body, digest === undefined ? 'sha256' : digestAlgorithm(digest))
    if (digest !== undefined && actual !== digest) {
      throw new DataLoss(`manifest for ${name} from ${ep.host} has digest ${actual}, expected ${digest}`)
    }
    return {ref, name, descriptor: {mediaType, digest: digest ?? actual, size: body.length}}
  }

  // ---- manifests -------------------------------------------------------------------------------------------------

  async fetchManifest(ref: ImageReference, desc: Descriptor): Promise<Buffer> {
    const where = `${ref.name}@${desc.digest}`
    checkDescriptor(desc)
    if (desc.size > MAX_MANIFEST_BYTES) throw tooBig(desc.size, where)
    const hosts = await this.hostsFor(ref, 'pull')
    if (hosts.length === 0) throw new NotFound('no pull hosts', {suffixKind: true})
    const headers = {accept: `${desc.mediaType}, */*`}
    let best: HostFailure | undefined
    // The manifests endpoint first, then blobs (some registries serve manifests only as blobs when asked by digest).
    for (const kind of ['manifests', 'blobs'] as const) {
      for (const [i, ep] of hosts.entries()) {
        const outcome = await this.attempt(async (): Promise<Buffer | HostFailure> => {
          const got = await this.getManifest(ep, ref, {kind, object: desc.digest, headers, lastHost: i === hosts.length - 1}, where)
          if ('error' in got) return got
          const body = got.body
          if (!Buffer.isBuffer(body)) throw tooBig(body.tooBig, where)
          verifyContent(body, desc, `manifest ${where} from ${ep.host}`)
          return body
        })
        if (Buffer.isBuffer(outcome)) return outcome
        if (best === undefined || outcome.priority > best.priority) best = outcome
      }
      if (best !== undefined && best.priority !== 2) break
    }
    throw best?.error ?? new NotFound(where, {suffixKind: true})
  }

  /**
   * GET a manifest-sized body (at most MAX_MANIFEST_BYTES, refused early when larger), retrying a body cut short like a
   * dropped connection. `first` is an answer already received for the first try.
   */
  private async getManifest(
    ep: Endpoint,
    ref: ImageReference,
    init: {kind: string; object: string; headers: Record<string, string>; lastHost: boolean},
    what: string,
    first?: Exchange,
  ): Promise<{ex: Exchange; body: Buffer | {tooBig: number}} | HostFailure> {
    for (let attempt = 0; ; attempt++) {
      const ex = attempt === 0 && first !== undefined ? first : await this.send(ep, ref, {...init, method: 'GET'})
      const failed = await this.failure(ex, ref, what)
      if (failed !== undefined) return failed
      try {
        return {ex, body: await readBody(ex.body, MAX_MANIFEST_BYTES)}
      } catch (err) {
        this.signal?.throwIfAborted()
        if (!init.lastHost || attempt >= this.retries || !isRetryableNetworkError(err)) {
          throw new Unavailable(`error reading ${shownUrl(ex.url)} from ${ep.host}: ${(err as Error).message}`, {cause: err})
        }
        await this.sleep(this.backoff(attempt + 1))
      }
    }
  }

  // ---- blobs -----------------------------------------------------------------------------------------------------

  async fetchBlob(ref: ImageReference, desc: Descriptor, offset = 0): Promise<{stream: AsyncIterable<Uint8Array>; offset: number}> {
    checkDescriptor(desc)
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > desc.size) {
      throw new InvalidArgument(`offset ${offset} is outside blob ${desc.digest} of ${desc.size} bytes`)
    }
    if (offset === desc.size) return {stream: emptyStream(), offset}
    const {ex, skip, ep} = await this.openBlob(ref, desc, offset)
    const stream = this.blobStream(ex.body, skip, desc.size - offset, desc, ep)
    // A generator closed before its first next() never runs its finally: let go of the response here too.
    const close = stream.return.bind(stream)
    stream.return = (value) => {
      ex.body.destroy()
      return close(value)
    }
    return {stream, offset}
  }

  async fetchBlobResumable(ref: ImageReference, desc: Descriptor, offset: number, onChunk: (chunk: Uint8Array) => Promise<void> | void): Promise<void> {
    checkDescriptor(desc)
    let pos = offset
    let failures = 0
    if (pos === desc.size) {
      await this.fetchBlob(ref, desc, pos) // validates the offset
      return
    }
    while (pos < desc.size) {
      const {stream} = await this.fetchBlob(ref, desc, pos)
      const start = pos
      try {
        for await (const chunk of stream) {
          pos += chunk.length
          const pending = onChunk(chunk)
          if (pending !== undefined) await pending
        }
      } catch (err) {
        if (!isResumableError(err)) throw err
        if (pos - start >= RESUME_PROGRESS_RESET) failures = 0
        if (failures >= this.retries) throw err
        failures++
        await this.sleep(this.backoff(failures))
      }
    }
  }

  private async openBlob(ref: ImageReference, desc: Descriptor, offset: number): Promise<{ex: Exchange; skip: number; ep: Endpoint}> {
    const where = `${ref.name}@${desc.digest}`
    const hosts = await this.hostsFor(ref, 'pull')
    if (hosts.length === 0) throw new NotFound('no pull hosts', {suffixKind: true})
    const headers: Record<string, string> = {accept: `${desc.mediaType}, */*`}
    if (offset > 0) headers['range'] = `bytes=${offset}-`
    let best: HostFailure | undefined
    for (const [i, ep] of hosts.entries()) {
      const outcome = await this.attempt(async (): Promise<{ex: Exchange; skip: number; ep: Endpoint} | HostFailure> => {
        const ex = await this.send(ep, ref, {method: 'GET', kind: 'blobs', object: desc.digest, headers, lastHost: i === hosts.length - 1})
        if (ex.status === 416 && offset > 0) {
          discard(ex.body, ex.method === 'HEAD')
          return {error: new DataLoss(`${where} at ${ep.host} is shorter than ${offset} bytes (range not satisfiable), expected ${desc.size}`), priority: 3}
        }
        const failed = await this.failure(ex, ref, where)
        if (failed !== undefined) return failed
        let skip = 0
        let expected = desc.size
        if (ex.status === 206) {
          const range = header(ex, 'content-range')
          if (range !== undefined && !range.startsWith(`bytes ${offset}-`)) {
            ex.body.destroy()
            throw new Internal(`unhandled content range in response from ${ep.host}: ${range}`)
          }
          expected = desc.size - offset
        } else {
          skip = offset // the server ignored Range: skip what we already have
        }
        const length = contentLength(ex)
        if (length !== undefined && length > expected) {
          ex.body.destroy()
          throw new DataLoss(`${where} from ${ep.host} is ${length} bytes, more than the ${expected} expected`)
        }
        return {ex, skip, ep}
      })
      if ('ex' in outcome) return outcome
      if (best === undefined || outcome.priority > best.priority) best = outcome
    }
    throw best?.error ?? new NotFound(where, {suffixKind: true})
  }

  private async *blobStream(res: IncomingMessage, skip: number, expected: number, desc: Descriptor, ep: Endpoint): AsyncGenerator<Uint8Array> {
    let toSkip = skip
    let got = 0
    let finished = false
    try {
      for await (const raw of res as AsyncIterable<Buffer>) {
        this.stats.blobBytes += raw.length
        let chunk = raw
        if (toSkip > 0) {
          if (chunk.length <= toSkip) {
            toSkip -= chunk.length
            continue
          }
          chunk = chunk.subarray(toSkip)
          toSkip = 0
        }
        got += chunk.length
        if (got > expected) throw new DataLoss(`blob ${desc.digest} from ${ep.host} is longer than its descriptor says (${desc.size} bytes)`)
        yield chunk
      }
      finished = true
    } catch (err) {
      if (isBerthError(err)) throw err
      this.signal?.throwIfAborted()
      throw resumable(new Unavailable(`error reading blob ${desc.digest} from ${ep.host}: ${(err as Error).message}`, {cause: err}))
    } finally {
      if (!finished) res.destroy()
    }
    if (!res.complete || got < expected) {
      this.signal?.throwIfAborted()
      throw resumable(new Unavailable(`short read of blob ${desc.digest} from ${ep.host}: expected ${expected} bytes but got ${got}: unexpected EOF`))
    }
  }

  // ---- push ------------------------------------------------------------------------------------------------------

  async pushBlob(ref: ImageReference, desc: Descriptor, source: BlobSource, options: PushBlobOptions = {}): Promise<PushBlobOutcome> {
    checkPushDescriptor(desc)
    const ep = await this.pushHost(ref)
    const push = this.pushInit(ref)
    const head = await this.send(ep, ref, {...push, method: 'HEAD', kind: 'blobs', object: desc.digest, headers: {accept: `${desc.mediaType}, */*`}})
    discard(head.body, true)
    if (head.status === 200) return 'exists'
    // 405: a registry without HEAD on blobs; the upload tells.
    if (head.status !== 404 && head.status !== 405) throw pushStatusError(head, '', `blob ${desc.digest}`)
    let mountFrom = options.mountFrom !== undefined && options.mountFrom !== ref.path ? options.mountFrom : undefined
    let chunkSize = this.options.uploadChunkSize
    let failures = 0
    for (;;) {
      try {
        return await this.uploadOnce(ep, ref, desc, source, {mountFrom, chunkSize, onProgress: options.onProgress})
      } catch (err) {
        if (err instanceof ChunksRequired) {
          // Too large in one PUT: chunks (of the registry's minimum, else up to 8 MiB); a chunk too large: halve it.
          const floor = Math.max(err.minChunk, MIN_CHUNK_BYTES)
          const next = chunkSize === undefined ? Math.max(err.minChunk, Math.min(DEFAULT_CHUNK_BYTES, Math.ceil(desc.size / 2))) : Math.floor(chunkSize / 2)
          if (next < floor || (chunkSize !== undefined && next >= chunkSize)) {
            throw new Unavailable(
              `${shownUrl(err.url)} refused ${chunkSize === undefined ? 'the blob' : `a chunk of ${chunkSize} bytes`} as too large (413 Payload Too Large)`,
            )
          }
          chunkSize = next
          options.onProgress?.(0)
          continue
        }
        if (!RESTARTABLE.has(err as object) || failures >= this.retries) throw err
        failures++
        options.onProgress?.(0)
        await this.sleep(this.backoff(failures))
      } finally {
        mountFrom = undefined // a mount that did not happen the first time will not happen on a retry either
      }
    }
  }

  /**
   * One upload session: the mount request or a plain POST, then the bytes (one PUT, or PATCHes and a closing PUT).
   * @returns how the blob got there.
   * @throws ChunksRequired on a 413 to a monolithic PUT; errors of the PUT/PATCH stage are marked RESTARTABLE when
   *   they are transient (a new session may succeed).
   */
  private async uploadOnce(
    ep: Endpoint,
    ref: ImageReference,
    desc: Descriptor,
    source: BlobSource,
    opts: {mountFrom: string | undefined; chunkSize: number | undefined; onProgress: ((sent: number) => void) | undefined},
  ): Promise<PushBlobOutcome> {
    const push = this.pushInit(ref)
    const start = {...push, method: 'POST' as const, kind: 'blobs', object: 'uploads/', headers: {'content-length': '0'}}
    let started: Exchange | undefined
    if (opts.mountFrom !== undefined) {
      try {
        const ex = await this.send(ep, ref, {
          ...start,
          query: {mount: desc.digest, from: opts.mountFrom},
          scopes: [...push.scopes, `repository:${opts.mountFrom}:pull`],
        })
        if (ex.status === 201) {
          discard(ex.body)
          return 'mounted'
        }
        // 202: no mount, but an upload session to use; anything else: start one without asking to mount.
        if (ex.status === 202) started = ex
        else discard(ex.body)
      } catch (err) {
        // The source may be a repository these credentials cannot read: then upload as if no source were known.
        if (errorKind(err) !== 'permission denied') throw err
      }
    }
    started ??= await this.send(ep, ref, start)
    if (started.status === 201) {
      discard(started.body)
      return 'exists'
    }
    if (started.status !== 202 && started.status !== 200 && started.status !== 204) {
      throw pushStatusError(started, await readErrorBody(started.body), `upload of blob ${desc.digest}`)
    }
    discard(started.body)
    let location = uploadLocation(started, ep)
    const minChunk = Number(header(started, 'oci-chunk-min-length') ?? 0) || 0
    const counter = new SentCounter(opts.onProgress)
    try {
      const digestUrl = (at: URL): URL => withQuery(at, 'digest', desc.digest)
      let ex: Exchange
      if (opts.chunkSize === undefined) {
        ex = await this.send(ep, ref, {
          ...push,
          method: 'PUT',
          url: digestUrl(location),
          headers: {'content-type': 'application/octet-stream', 'content-length': String(desc.size)},
          body: counter.wrap(source, 0, desc.size),
          retry: false,
        })
        if (ex.status === 413) {
          discard(ex.body)
          throw new ChunksRequired(ex.url, minChunk)
        }
      } else {
        const size = Math.max(opts.chunkSize, minChunk)
        for (let offset = 0; offset < desc.size; ) {
          const end = Math.min(desc.size, offset + size)
          const patch = await this.send(ep, ref, {
            ...push,
            method: 'PATCH',
            url: location,
            headers: {'content-type': 'application/octet-stream', 'content-length': String(end - offset), 'content-range': `${offset}-${end - 1}`},
            body: counter.wrap(source, offset, end),
            retry: false,
          })
          if (patch.status === 413) {
            discard(patch.body)
            throw new ChunksRequired(patch.url, minChunk)
          }
          if (patch.status !== 202 && patch.status !== 204) throw pushStatusError(patch, await readErrorBody(patch.body), `blob ${desc.digest}`)
          discard(patch.body)
          location = uploadLocation(patch, ep, location)
          offset = end
        }
        ex = await this.send(ep, ref, {...push, method: 'PUT', url: digestUrl(location), headers: {'content-length': '0'}, body: Buffer.alloc(0), retry: false})
      }
      if (ex.status < 200 || ex.status >= 300) throw pushStatusError(ex, await readErrorBody(ex.body), `blob ${desc.digest}`)
      discard(ex.body)
      const said = header(ex, 'docker-content-digest')
      if (said !== undefined && said !== '' && said !== desc.digest) {
        throw new DataLoss(`${shownUrl(ex.url)} stored blob ${said}, expected ${desc.digest}`)
      }
      this.stats.uploadedBytes += desc.size
      return 'uploaded'
    } catch (err) {
      if (!(err instanceof ChunksRequired) && errorKind(err) === 'unavailable' && isBerthError(err)) RESTARTABLE.add(err)
      throw err
    }
  }

  async pushManifest(ref: ImageReference, desc: Descriptor, bytes: Buffer, options: PushManifestOptions = {}): Promise<'exists' | 'uploaded'> {
    checkPushDescriptor(desc)
    verifyContent(bytes, desc, `manifest ${desc.digest}`)
    const ep = await this.pushHost(ref)
    const push = this.pushInit(ref)
    const object = options.tag ?? desc.digest
    const head = await this.send(ep, ref, {...push, method: 'HEAD', kind: 'manifests', object, headers: {accept: `${desc.mediaType}, */*`}})
    discard(head.body, true)
    // Under a tag, the registry has it only when the tag already points at this very digest.
    if (head.status === 200 && (object === desc.digest || header(head, 'docker-content-digest') === desc.digest)) return 'exists'
    if (head.status !== 200 && head.status !== 404 && head.status !== 405) throw pushStatusError(head, '', `manifest ${ref.name}:${object}`)
    const ex = await this.send(ep, ref, {
      ...push,
      method: 'PUT',
      kind: 'manifests',
      object,
      headers: {'content-type': desc.mediaType, 'content-length': String(bytes.length)},
      body: bytes,
    })
    if (ex.status < 200 || ex.status >= 300) {
      const body = await readErrorBody(ex.body)
      const error = pushStatusError(ex, body, `manifest ${ref.name}:${object}`)
      if (ex.status === 400 && isIndex(desc.mediaType)) {
        throw new FailedPrecondition(`manifest list/index references to blobs and/or manifests are missing in your target registry: ${error.message}`, {
          cause: error,
        })
      }
      throw error
    }
    discard(ex.body)
    const said = header(ex, 'docker-content-digest')
    if (said !== undefined && said !== '' && said !== desc.digest) throw new DataLoss(`${shownUrl(ex.url)} stored manifest ${said}, expected ${desc.digest}`)
    this.stats.uploadedBytes += bytes.length
    return 'uploaded'
  }

  /** The endpoint pushes go to: the first host with the push capability (containerd uses only that one). */
  private async pushHost(ref: ImageReference): Promise<Endpoint> {
    const hosts = await this.hostsFor(ref, 'push')
    if (hosts.length === 0) throw new NotFound('no push hosts', {suffixKind: true})
    return hosts[0]
  }

  private pushInit(ref: ImageReference): {lastHost: true; scopes: string[]; deniedPrefix: string} {
    return {lastHost: true, scopes: [`repository:${ref.path}:pull,push`], deniedPrefix: PUSH_ACCESS_DENIED_PREFIX}
  }

  // ---- requests --------------------------------------------------------------------------------------------------

  /** Run one endpoint's try; expected per-host failures come back as values, fatal ones are thrown. */
  private async attempt<T>(fn: () => Promise<T | HostFailure>): Promise<T | HostFailure> {
    try {
      return await fn()
    } catch (err) {
      if (isAbortError(err) || this.signal?.aborted) throw err
      if (!isBerthError(err)) throw err
      switch (errorKind(err)) {
        case 'unavailable':
          return {error: err, priority: 1}
        case 'permission denied':
          return {error: err, priority: 1}
        default:
          throw err // invalid argument (config), not implemented (schema 1), data loss, internal
      }
    }
  }

  /** Map a non-2xx answer to a host failure (body read for the message), or undefined for a 2xx. */
  private async failure(ex: Exchange, ref: ImageReference, what: string): Promise<HostFailure | undefined> {
    if (ex.status >= 200 && ex.status < 300) return undefined
    if (ex.status === 404) {
      discard(ex.body, ex.method === 'HEAD')
      return {error: new NotFound(what, {suffixKind: true}), priority: 2}
    }
    const body = ex.method === 'HEAD' ? '' : await readErrorBody(ex.body)
    if (ex.method === 'HEAD') discard(ex.body, true)
    return {error: statusError(ex, body, ref), priority: 3}
  }

  private async hostsFor(ref: ImageReference, capability: Capability): Promise<Endpoint[]> {
    let p = this.endpointCache.get(ref.domain)
    if (p === undefined) {
      p = loadEndpoints(ref.domain, {
        ...(this.options.hostsDir === undefined ? {} : {hostsDir: this.options.hostsDir}),
        plainHttp: this.options.plainHttp === true,
        tlsConfigured: this.options.skipVerify === true || (this.options.tlsCaCert?.length ?? 0) > 0,
      })
      this.endpointCache.set(ref.domain, p)
      p.catch(() => this.endpointCache.delete(ref.domain))
    }
    return (await p).filter((ep) => ep.capabilities.has(capability))
  }

  private tls(ep: Endpoint | undefined): TlsSettings {
    const skip = ep?.skipVerify ?? this.options.skipVerify ?? false
    return {
      caFiles: [...(this.options.tlsCaCert ?? []), ...(ep?.caFiles ?? [])],
      rejectUnauthorized: !skip,
      clientPairs: ep?.clientPairs ?? [],
    }
  }

  private url(ep: Endpoint, ref: ImageReference, kind: string, object: string, query?: Record<string, string>): URL {
    // posix.join keeps a trailing slash: `blobs/uploads/` is the distribution spec's spelling.
    const path = posix.join('/', ep.path, ref.path, kind, object)
    const url = new URL(`${ep.scheme}://${ep.host}${path}`)
    if (isMirrorOf(ep, ref.domain)) url.searchParams.set('ns', ref.domain)
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v)
    return url
  }

  private baseHeaders(ep: Endpoint | undefined): Record<string, string> {
    const headers: Record<string, string> = {'user-agent': this.userAgent}
    for (const [k, v] of Object.entries(ep?.headers ?? {})) headers[k] = v.join(', ')
    return headers
  }

  /**
   * One logical request to one endpoint: authorization (learning from 401s), retries of dropped connections on the
   * last host and of 429/5xx answers (honouring Retry-After), and error mapping for connection failures.
   * @returns the answer, whatever its status (except 401, which ends in PermissionDenied).
   * @throws Unavailable for connection failures after retries (the URL and host named), or a redirect loop;
   *   PermissionDenied on refused authorization; the abort reason when the signal fires.
   */
  private async send(ep: Endpoint, ref: ImageReference, init: SendInit): Promise<Exchange> {
    const url = init.url ?? this.url(ep, ref, init.kind ?? '', init.object ?? '', init.query)
    const scopes = init.scopes ?? [`repository:${ref.path}:pull`]
    const deniedPrefix = init.deniedPrefix ?? ACCESS_DENIED_PREFIX
    // An upload Location on another host gets no credentials of this one (containerd drops the authorizer too).
    const authHost = url.host
    const retry = init.retry ?? true
    let attempt = 0
    let authRounds = 0
    for (;;) {
      this.signal?.throwIfAborted()
      const headers = {...this.baseHeaders(ep), ...init.headers}
      const used: AuthUse = await this.auth.authorize(authHost, scopes, ref.name, headers, deniedPrefix)
      let ex: Exchange
      try {
        ex = await this.transport.exchange({
          method: init.method,
          url,
          headers,
          ...(init.body === undefined ? {} : {body: init.body}),
          tls: this.tls(ep),
          httpFallback: ep.httpFallback,
          ...(this.signal === undefined ? {} : {signal: this.signal}),
        })
      } catch (err) {
        if (isAbortError(err) || this.signal?.aborted) throw this.signal?.reason ?? err
        if (isBerthError(err)) throw err
        // The upload's own source failed (a blob file gone or unreadable): not the network's doing.
        if ((err as {bodySource?: unknown}).bodySource === true)
          throw new Internal(`reading what ${goMethod(init.method)} "${shownUrl(url)}" sends: ${(err as Error).message}`, {cause: err})
        // Mirrors are not retried: the next host is the retry (containerd does the same).
        if (retry && init.lastHost && !isCertificateError(err) && isRetryableNetworkError(err) && attempt < this.retries) {
          attempt++
          await this.sleep(this.backoff(attempt))
          continue
        }
        throw connectionError(init.method, url, err)
      }
      if (ex.status === 401) {
        const message = serverMessage(ex.method === 'HEAD' ? '' : await readErrorBody(ex.body))
        if (ex.method === 'HEAD') discard(ex.body, true)
        if (authRounds >= 3) throw new PermissionDenied(`${deniedPrefix}: ${message || '401 Unauthorized'}`)
        authRounds++
        await this.auth.unauthorized(authHost, ref.name, ex.headers['www-authenticate'], used, message, ep, deniedPrefix)
        continue
      }
      const retryable = ex.status === 429 || ex.status === 408 || (init.lastHost && [500, 502, 503, 504].includes(ex.status))
      if (retry && retryable && attempt < this.retries && (await this.waitToRetry(ex, attempt))) {
        attempt++
        continue
      }
      return ex
    }
  }

  /** A token endpoint request, with the same retries; TLS settings of the registry when the realm is on that host. */
  private async tokenRequest(ep: Endpoint, method: 'GET' | 'POST', url: URL, extra: Record<string, string>, body?: string): Promise<TokenResponse> {
    const sameHost = url.host === ep.host
    let attempt = 0
    for (;;) {
      this.signal?.throwIfAborted()
      const headers = {...this.baseHeaders(ep), ...extra}
      let ex: Exchange
      try {
        ex = await this.transport.exchange({
          method,
          url,
          headers,
          ...(body === undefined ? {} : {body}),
          tls: this.tls(sameHost ? ep : undefined),
          httpFallback: sameHost && ep.httpFallback,
          ...(this.signal === undefined ? {} : {signal: this.signal}),
        })
      } catch (err) {
        if (isAbortError(err) || this.signal?.aborted) throw this.signal?.reason ?? err
        if (isBerthError(err)) throw err
        if (!isCertificateError(err) && isRetryableNetworkError(err) && attempt < this.retries) {
          attempt++
          await this.sleep(this.backoff(attempt))
          continue
        }
        throw connectionError(method, url, err)
      }
      if ((ex.status === 429 || ex.status >= 500) && attempt < this.retries && (await this.waitToRetry(ex, attempt))) {
        attempt++
        continue
      }
      const text = await readErrorBody(ex.body)
      return {status: ex.status, statusText: ex.statusText, headers: ex.headers, body: text}
    }
  }

  /**
   * Before retry number `attempt + 1` of a refused exchange: wait as its Retry-After says, or back
   * off. @returns false, having waited for nothing, when the server asks for longer than we wait.
   */
  private async waitToRetry(ex: Exchange, attempt: number): Promise<boolean> {
    const wait = retryAfterMs(ex) ?? this.backoff(attempt + 1)
    if (wait > MAX_RETRY_AFTER_MS) return false
    discard(ex.body, ex.method === 'HEAD')
    await this.sleep(wait)
    return true
  }

  /** Exponential backoff with jitter: base·2^(n-1) scaled by [0.5, 1.5), at most 10 s. */
  private backoff(attempt: number): number {
    return Math.min(MAX_BACKOFF_MS, this.retryBaseMs * 2 ** (attempt - 1) * (0.5 + Math.random()))
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.signal
    signal?.throwIfAborted()
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer)
        reject(signal!.reason)
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal?.addEventListener('abort', onAbort, {once: true})
    })
  }
}

function header(ex: Exchange, name: string): string | undefined {
  const v = ex.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function contentLength(ex: Exchange): number | undefined {
  const v = header(ex, 'content-length')
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined
  return Number(v)
}

/** A Content-Type that names a manifest, an index or schema 1 (so the body need not be read to know the type). */
function isTelling(contentType: string): boolean {
  const mt = normalizeMediaType(contentType)
  return isManifest(mt) || isIndex(mt) || isSchema1(mt)
}

function hashOf(data: Uint8Array, algorithm: string): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`
}

function tooBig(size: number, what: string): NotFound {
  return new NotFound(`rejecting ${size} byte manifest for ${what}`, {suffixKind: true})
}

function checkDescriptor(desc: Descriptor): void {
  if (!isDigest(desc.digest)) throw new InvalidArgument(`invalid digest ${JSON.stringify(desc.digest)} in descriptor`)
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw new InvalidArgument(`invalid size ${desc.size} in descriptor for ${desc.digest}`)
  if (desc.size === 0) {
    throw new InvalidArgument(`unable to fetch descriptor (${desc.digest}) which reports content size of zero`, {suffixKind: true})
  }
}

function verifyContent(body: Buffer, desc: Descriptor, what: string): void {
  if (body.length !== desc.size) throw new DataLoss(`${what} is ${body.length} bytes, expected ${desc.size}`)
  const actual = hashOf(body, digestAlgorithm(desc.digest))
  if (actual !== desc.digest) throw new DataLoss(`${what} has digest ${actual}, expected ${desc.digest}`)
}

/** Counts the bytes an upload sends and reports them (throttled), across the streams of one upload session. */
class SentCounter {
  private sent = 0
  private last = 0

  constructor(private readonly onProgress: ((sent: number) => void) | undefined) {}

  /** A body factory for bytes [start, end) of the source; a resend (redirect) counts from `start` again. */
  wrap(source: BlobSource, start: number, end: number): RequestBody {
    if (end <= start) return Buffer.alloc(0)
    const base = this.sent
    return (): Readable => {
      this.sent = base
      const stream = source(start, end)
      stream.on('data', (chunk: Buffer) => {
        this.sent += chunk.length
        const now = Date.now()
        if (this.onProgress !== undefined && (now - this.last >= PROGRESS_EVERY_MS || this.sent === base + (end - start))) {
          this.last = now
          this.onProgress(this.sent)
        }
      })
      return stream
    }
  }
}

/**
 * The upload session URL from a Location header: absolute, host-relative (`/v2/…`), or — as containerd reads it — a
 * `host/path` without a scheme. @throws Internal when the header is missing or unreadable.
 */
function uploadLocation(ex: Exchange, ep: Endpoint, previous?: URL): URL {
  const location = header(ex, 'location')
  if (location === undefined || location === '') {
    if (previous !== undefined) return previous
    throw new Internal(`${ex.method} ${shownUrl(ex.url)} answered ${ex.status} without a Location for the upload`)
  }
  try {
    if (location.startsWith('/')) return new URL(location, ex.url)
    if (!location.includes('://')) return new URL(`${ep.scheme}://${location}`)
    return new URL(location)
  } catch (err) {
    throw new Internal(`unable to parse upload location ${JSON.stringify(location)}: ${(err as Error).message}`, {cause: err})
  }
}

/** `url` with `name=value` appended to its query, leaving what is there (an opaque `_state=`) byte for byte. */
function withQuery(url: URL, name: string, value: string): URL {
  const next = new URL(url.href)
  const pair = `${encodeURIComponent(name)}=${encodeURIComponent(value)}`
  next.search = next.search === '' || next.search === '?' ? `?${pair}` : `${next.search}&${pair}`
  return next
}

function checkPushDescriptor(desc: Descriptor): void {
  if (!isDigest(desc.digest)) throw new InvalidArgument(`invalid digest ${JSON.stringify(desc.digest)} in descriptor`)
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) throw new InvalidArgument(`invalid size ${desc.size} in descriptor for ${desc.digest}`)
}

/** A non-2xx answer while pushing, as containerd words it (`unexpected status from PUT request to <url>: 400 Bad Request: …`). */
function pushStatusError(ex: Exchange, body: string, what: string): BerthError {
  const server = serverMessage(body)
  const message = `unexpected status from ${ex.method} request to ${shownUrl(ex.url)}: ${ex.status} ${ex.statusText}${server === '' ? '' : `: ${server}`}`
  if (ex.status === 401 || ex.status === 403) return new PermissionDenied(`${PUSH_ACCESS_DENIED_PREFIX}: ${message}`)
  if (ex.status === 404) return new NotFound(`${what}: ${message}`)
  if (ex.status === 400) return new FailedPrecondition(`${what}: ${message}`)
  if (ex.status === 429 || ex.status === 408 || ex.status >= 500) return new Unavailable(message)
  return new Internal(message)
}

/** `Retry-After` as milliseconds (delta-seconds or an HTTP-date), or undefined when absent or unreadable. */
export function retryAfterMs(ex: {headers: Exchange['headers']}, now = Date.now()): number | undefined {
  const raw = ex.headers['retry-after']
  const v = (Array.isArray(raw) ? raw[0] : raw)?.trim()
  if (v === undefined || v === '') return undefined
  if (/^\d+$/.test(v)) return Number(v) * 1000
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

function statusError(ex: Exchange, body: string, ref: ImageReference): BerthError {
  const server = serverMessage(body)
  const message = `unexpected status from ${ex.method} request to ${shownUrl(ex.url)}: ${ex.status} ${ex.statusText}${server === '' ? '' : `: ${server}`}`
  if (ex.status === 403) return new PermissionDenied(`pull access denied for ${ref.toString()}: ${message}`)
  if (ex.status === 429 || ex.status === 408 || ex.status >= 500) return new Unavailable(message)
  return new Internal(message)
}

function connectionError(method: string, url: URL, err: unknown): Unavailable {
  const e = err as Error & {code?: string}
  const detail = isCertificateError(err) ? `tls: ${e.message}` : e.message || e.code || String(err)
  return new Unavailable(`failed to do request: ${goMethod(method)} "${shownUrl(url)}" (host ${url.host}): ${detail}`, {cause: err})
}

async function* emptyStream(): AsyncGenerator<Uint8Array> {
  // nothing left to fetch
}
