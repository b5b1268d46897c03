// The registry client's public types: options, the resolved descriptor and the `Registry` role interface the pull and push pipelines code against.
import type {Readable} from 'node:stream'
import type {Descriptor, ImageReference} from '../oci/index.js'

/** Options of {@link Registry} clients; all optional. */
export interface RegistryOptions {
  /** Force http for the reference's own registry (docker.io stays https); http is automatic for localhost, 127.0.0.0/8 and ::1. */
  plainHttp?: boolean
  /** `-k`: do not verify registry certificates. */
  skipVerify?: boolean
  /** `--tlscacert` files, added to the system roots. */
  tlsCaCert?: string[]
  /** `--user user[:password]`; the CLI prompts for a missing password and passes the full value. */
  user?: string
  /** containerd hosts.toml directory; default `/etc/containerd/certs.d`; a missing directory is fine. */
  hostsDir?: string
  /** Default `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  dockerConfigPath?: string
  /** Default `$REGISTRY_AUTH_FILE`, else `${XDG_RUNTIME_DIR}/containers/auth.json`. */
  authJsonPath?: string
  /** Retries of a request (429 honouring Retry-After, 500/502/503/504, dropped connections), and of mid-body failures in `fetchBlobResumable`. Default 4. */
  retries?: number
  /** First backoff step in ms (doubled each retry, jittered ×[0.5, 1.5), capped at 10 s). Default 200. */
  retryBaseMs?: number
  userAgent?: string
  signal?: AbortSignal
  /** A connection silent this long (connect, headers or body) counts as dropped. Default 30 000 ms. */
  timeoutMs?: number
  /** A CA bundle trusted besides the system roots. Default `BERTH_NODE_EXTRA_CA_CERTS` from `env` (NODE_EXTRA_CA_CERTS, deferred by bin/run.js). */
  extraCaFile?: string
  /**
   * Upload blobs in chunks of this many bytes (PATCH …, then PUT `?digest=`) instead of one PUT. Unset, a blob goes in
   * one PUT, and in chunks only when the registry refuses that PUT as too large (413), of its `OCI-Chunk-Min-Length`
   * or 8 MiB.
   */
  uploadChunkSize?: number
  /**
   * Environment for the credential defaults and credential helpers (`HOME`, `DOCKER_CONFIG`, `XDG_RUNTIME_DIR`,
   * `REGISTRY_AUTH_FILE`, `PATH`). Default `process.env`.
   */
  env?: NodeJS.ProcessEnv
}

/** A resolved reference. */
export interface Resolved {
  ref: ImageReference
  /** The canonical reference string (`ref.toString()`). */
  name: string
  /** Media type, digest and size of the top manifest or index. */
  descriptor: Descriptor
}

/** Where a pushed blob's bytes come from: a fresh stream of bytes [start, end) at each call (a retry calls again). */
export type BlobSource = (start: number, end: number) => Readable

/** Options of `Registry.pushBlob`. */
export interface PushBlobOptions {
  /** Another repository of the same registry said to hold the blob (its distribution-source label): mount from there. */
  mountFrom?: string
  /** Bytes of this blob sent so far (back to 0 when an upload starts over). */
  onProgress?: (sent: number) => void
}

/** How a pushed blob got to the registry: it had it (HEAD), it was mounted from another repository, or it was sent. */
export type PushBlobOutcome = 'exists' | 'mounted' | 'uploaded'

/** Options of `Registry.pushManifest`. */
export interface PushManifestOptions {
  /** Put the manifest under this tag; without it, under its digest. */
  tag?: string
}

/** A distribution-API client for pulling and pushing. Each instance has its own token cache, agents and statistics. */
export interface Registry {
  /**
   * HEAD (GET fallback) the manifest for a tag or digest; the digest comes from Docker-Content-Digest or by hashing
   * the GET body; the media type from a telling Content-Type or else the body (lib/oci `detectManifestMediaType`).
   * Mirrors with the `resolve` capability are tried first for tags (`pull` for digests).
   * @throws NotFound `<ref>: not found`, or `rejecting <n> byte manifest for <ref>: not found` (over MAX_MANIFEST_BYTES).
   * @throws PermissionDenied `pull access denied, repository does not exist or may require authorization: …` on 401
   *   after authorizing, or with the registry's error message on 403.
   * @throws Unavailable when no host can be reached after retries (the URL and host named), or on 429/5xx after retries.
   * @throws NotImplemented for Docker schema 1. DataLoss when a digest reference's body hashes differently.
   * @throws InvalidArgument for a malformed hosts.toml, credentials file, unreadable CA file or an unparseable body.
   */
  resolve(ref: ImageReference): Promise<Resolved>
  /**
   * GET a manifest or index by digest (the manifests endpoint, then blobs on 404). Refuses more than
   * MAX_MANIFEST_BYTES before reading it all (descriptor size, Content-Length, then counting), and checks size and digest.
   * @returns the raw bytes.
   * @throws NotFound (also for oversize), DataLoss (size or digest mismatch), PermissionDenied, Unavailable, InvalidArgument (size 0).
   */
  fetchManifest(ref: ImageReference, desc: Descriptor): Promise<Buffer>
  /**
   * GET a blob as a stream of the bytes from `offset` on (`Range: bytes=<offset>-`; a server that ignores Range is
   * handled by skipping). The request is retried internally; the stream itself is not: it fails with Unavailable on a
   * dropped connection or short body, and with DataLoss when the server sends more than `desc.size`. The caller
   * hashes: the digest is not checked here.
   * @returns the stream and the offset it starts at (always `offset`).
   * @throws NotFound, PermissionDenied, Unavailable, DataLoss (416 for an offset inside the declared size),
   *   InvalidArgument (offset outside [0, size], size 0).
   */
  fetchBlob(ref: ImageReference, desc: Descriptor, offset?: number): Promise<{stream: AsyncIterable<Uint8Array>; offset: number}>
  /**
   * Deliver the bytes of a blob from `offset` to `desc.size` to `onChunk` (awaited when it returns a promise),
   * re-requesting from the current offset with Range after a mid-body failure (up to `retries` failures in a row;
   * an attempt that delivered 1 MiB or more resets the count). Errors thrown by `onChunk` end the download as they are.
   * @throws as `fetchBlob`; DataLoss when the server sends more than `desc.size` bytes.
   */
  fetchBlobResumable(ref: ImageReference, desc: Descriptor, offset: number, onChunk: (chunk: Uint8Array) => Promise<void> | void): Promise<void>
  /**
   * Push one blob to `ref`'s repository: HEAD it (present: `exists`); with `mountFrom`, ask to mount it from that
   * repository (201: `mounted`; 202: upload into the session the registry opened); else POST an upload session and
   * PUT the bytes with `?digest=` (relative and absolute Locations, existing query kept), or PATCH them in chunks when
   * the registry refuses a single PUT (413) or `uploadChunkSize` asks for it. An upload that fails on the way
   * (connection dropped, 5xx) starts over in a new session, up to `retries` times. Token scope
   * `repository:<path>:pull,push`, plus `repository:<from>:pull` for the mount.
   * @throws PermissionDenied `push access denied, repository does not exist or may require authorization: …` (401
   *   after authorizing, 403); Unavailable (unreachable, redirect loop, 5xx/429 after retries); NotFound (no push
   *   host, 404); FailedPrecondition (400); DataLoss (the registry stored another digest); Internal (no Location).
   */
  pushBlob(ref: ImageReference, desc: Descriptor, source: BlobSource, options?: PushBlobOptions): Promise<PushBlobOutcome>
  /**
   * Push a manifest or index (`bytes` must match `desc`) under `options.tag` or its digest, with `desc.mediaType` as
   * Content-Type; skipped (`exists`) when a HEAD shows the registry has it there already (under a tag: the tag's
   * Docker-Content-Digest is this digest). Push children first: registries check references.
   * @throws as `pushBlob`; FailedPrecondition `manifest list/index references to blobs and/or manifests are missing
   *   in your target registry: …` for an index the registry refuses (400).
   */
  pushManifest(ref: ImageReference, desc: Descriptor, bytes: Buffer, options?: PushManifestOptions): Promise<'exists' | 'uploaded'>
  /**
   * Statistics for tests and the bench: bytes of blob bodies received (skipped bytes included), HTTP requests made
   * (token requests and redirects included), bytes of blobs and manifests the registry accepted from pushes.
   */
  readonly stats: {blobBytes: number; requests: number; uploadedBytes: number}
  /** Close idle keep-alive connections (they do not keep the process alive anyway). The client stays usable. */
  close(): void
}
