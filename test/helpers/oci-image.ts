// Builds fixture images (layers, config, manifest, multi-platform index) in memory and writes them as OCI image
// layouts, with digests and diff_ids computed the way a registry client checks them.
//
// Invariants: every digest is sha256 over exactly the bytes stored; a layer's diffId is sha256 of
// its uncompressed tar and the config's rootfs.diff_ids lists them in order (unless a test
// overrides rootfs on purpose); output is deterministic for the same input.

import {spawn} from 'node:child_process'
import {createCipheriv, createHash} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {gunzip as gunzipCb, gzip as gzipCb} from 'node:zlib'
import {writeTar, type TarEntry} from './tar-writer.js'

const gzip = promisify(gzipCb)
const gunzip = promisify(gunzipCb)

/** Layer compression. `zstd` spawns the `zstd` binary (Debian package `zstd`): Node 20 has no zstd in zlib. */
export type Compression = 'gzip' | 'zstd' | 'none'

/** Which family of media types manifests, configs and layers use. */
export type MediaTypeFamily = 'oci' | 'docker'

/** An OCI platform as it appears in an index and in the image config. */
export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  'os.features'?: string[]
}

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  platform?: Platform
  annotations?: Record<string, string>
  urls?: string[]
}

/** The subset of the OCI image config that fixtures set; unknown keys pass through. */
export interface ImageConfig {
  created?: string
  author?: string
  architecture: string
  os: string
  variant?: string
  config?: {
    User?: string
    Env?: string[]
    Entrypoint?: string[]
    Cmd?: string[]
    WorkingDir?: string
    Labels?: Record<string, string>
    ExposedPorts?: Record<string, object>
    Volumes?: Record<string, object>
    StopSignal?: string
    [key: string]: unknown
  }
  rootfs: {type: 'layers'; diff_ids: string[]}
  history?: {created?: string; created_by?: string; empty_layer?: boolean; comment?: string}[]
  [key: string]: unknown
}

/** One built layer blob. */
export interface BuiltLayer {
  /** sha256 of `bytes` (the blob as stored and transferred). */
  digest: string
  /** sha256 of the uncompressed tar. */
  diffId: string
  /** The blob: compressed (or not) tar. */
  bytes: Buffer
  mediaType: string
  size: number
}

/** A single-platform image: manifest, config and layer blobs. */
export interface BuiltImage {
  kind: 'image'
  mediaTypes: MediaTypeFamily
  /** Media type of the manifest itself. */
  mediaType: string
  platform: Platform
  manifest: Record<string, unknown>
  manifestBytes: Buffer
  manifestDigest: string
  config: ImageConfig
  configBytes: Buffer
  configDigest: string
  layers: BuiltLayer[]
  /** Config and layer blobs by digest (manifests are not in here; see {@link manifestsOf}). */
  blobs: Map<string, Buffer>
  /** Descriptor of the manifest (with platform), as an index or `index.json` refers to it. */
  descriptor: Descriptor
}

/** A multi-platform index (OCI image index or Docker manifest list). */
export interface BuiltIndex {
  kind: 'index'
  mediaTypes: MediaTypeFamily
  /** Media type of the index itself. */
  mediaType: string
  index: Record<string, unknown>
  /** The index JSON (named like an image's so pushers and servers treat both alike). */
  manifestBytes: Buffer
  manifestDigest: string
  /** The children, in index order. */
  manifests: (BuiltImage | BuiltIndex)[]
  /** All config and layer blobs of all children by digest. */
  blobs: Map<string, Buffer>
  descriptor: Descriptor
}

/** Either kind of built artifact. */
export type Built = BuiltImage | BuiltIndex

/** A manifest or index document to be stored or pushed. */
export interface ManifestBlob {
  digest: string
  mediaType: string
  bytes: Buffer
}

/** Options for {@link buildImage}. */
export interface BuildImageOptions {
  /** Entry lists (written with {@link writeTar}) or uncompressed tar archives. */
  layers: TarEntry[][] | Buffer[]
  /** One compression for all layers or one per layer; default `gzip`. */
  compression?: Compression | Compression[]
  /** gzip level (1 fast .. 9 small); default 6. */
  gzipLevel?: number
  /** Merged over the defaults; `config` is merged one level deep. A given `rootfs` is used verbatim. */
  config?: Partial<ImageConfig>
  /** Default: the host platform ({@link hostPlatform}). */
  platform?: Platform
  /** Default `oci`. Docker schema 2 has no zstd layer type: asking for it throws. */
  mediaTypes?: MediaTypeFamily
  /** Per-layer media type overrides (for unknown-media-type fixtures); `undefined` keeps the default. */
  layerMediaTypes?: (string | undefined)[]
  /** Manifest annotations (OCI only). */
  annotations?: Record<string, string>
}

/** Media type strings by family. */
export const MEDIA_TYPES = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: {
      none: 'application/vnd.oci.image.layer.v1.tar',
      gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
      zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
    },
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: {
      none: 'application/vnd.docker.image.rootfs.diff.tar',
      gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
      zstd: undefined,
    },
  },
} as const

const FIXED_CREATED = '2024-01-01T00:00:00Z'
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** @returns `sha256:<hex>` of `data`. */
export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex')
}

/** @returns the platform of this machine in OCI terms (`x64` -> `amd64`, ...), os `linux`. */
export function hostPlatform(): Platform {
  const map: Record<string, Platform> = {
    x64: {architecture: 'amd64', os: 'linux'},
    arm64: {architecture: 'arm64', os: 'linux', variant: 'v8'},
    arm: {architecture: 'arm', os: 'linux', variant: 'v7'},
    ia32: {architecture: '386', os: 'linux'},
    ppc64: {architecture: 'ppc64le', os: 'linux'},
    s390x: {architecture: 's390x', os: 'linux'},
    riscv64: {architecture: 'riscv64', os: 'linux'},
  }
  return {...(map[process.arch] ?? {architecture: process.arch, os: 'linux'})}
}

/**
 * Compresses `data` with the given algorithm.
 * @returns the compressed bytes (or `data` itself for `none`).
 * @throws Error when the `zstd` binary is missing or fails.
 */
export async function compress(data: Buffer, compression: Compression, gzipLevel = 6): Promise<Buffer> {
  if (compression === 'none') return data
  if (compression === 'gzip') return gzip(data, {level: gzipLevel})
  return runFilter('zstd', ['-q', '-c', '-3', '-T0'], data)
}

/**
 * Reverses {@link compress}.
 * @returns the uncompressed bytes.
 * @throws Error when the data is corrupt or `zstd` is missing.
 */
export async function decompress(data: Buffer, compression: Compression): Promise<Buffer> {
  if (compression === 'none') return data
  if (compression === 'gzip') return gunzip(data)
  return runFilter('zstd', ['-q', '-d', '-c'], data)
}

/** Pipes `input` through a child process and collects its stdout. */
function runFilter(cmd: string, args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {stdio: ['pipe', 'pipe', 'pipe']})
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', (e) => reject(new Error(`${cmd}: ${e.message} (Debian package ${cmd})`, {cause: e})))
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out))
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString().trim()}`))
    })
    child.stdin.on('error', () => {
      /* reported through 'close' */
    })
    child.stdin.end(input)
  })
}

/**
 * Builds a single-platform image in memory.
 * @returns manifest, config and layers with their bytes and digests, and a blob map.
 * @throws Error for Docker media types with zstd, or when compression fails.
 */
export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  const family = options.mediaTypes ?? 'oci'
  const types = MEDIA_TYPES[family]
  const platform = options.platform ?? hostPlatform()
  const tars = (options.layers as (TarEntry[] | Buffer)[]).map((l) => (Buffer.isBuffer(l) ? l : writeTar(l)))
  const layers = await Promise.all(
    tars.map(async (tar, i): Promise<BuiltLayer> => {
      const compression = Array.isArray(options.compression) ? (options.compression[i] ?? 'gzip') : (options.compression ?? 'gzip')
      const defaultType = types.layer[compression]
      const mediaType = options.layerMediaTypes?.[i] ?? defaultType
      if (mediaType === undefined) throw new Error(`docker media types have no ${compression} layer type; use mediaTypes: 'oci'`)
      const bytes = await compress(tar, compression, options.gzipLevel)
      return {digest: sha256(bytes), diffId: sha256(tar), bytes, mediaType, size: bytes.length}
    }),
  )

  const given = options.config ?? {}
  const config: ImageConfig = {
    created: FIXED_CREATED,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? {variant: platform.variant} : {}),
    ...given,
    config: {Env: [DEFAULT_PATH], Cmd: ['/bin/sh'], ...(given.config ?? {})},
    rootfs: given.rootfs ?? {type: 'layers', diff_ids: layers.map((l) => l.diffId)},
    history: given.history ?? layers.map((_, i) => ({created: FIXED_CREATED, created_by: `berth test layer ${i}`})),
  }
  const configBytes = Buffer.from(JSON.stringify(config))
  const configDigest = sha256(configBytes)
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: {mediaType: types.config, digest: configDigest, size: configBytes.length},
    layers: layers.map((l) => ({mediaType: l.mediaType, digest: l.digest, size: l.size})),
    ...(options.annotations && family === 'oci' ? {annotations: options.annotations} : {}),
  }
  const manifestBytes = Buffer.from(JSON.stringify(manifest))
  const manifestDigest = sha256(manifestBytes)
  const blobs = new Map<string, Buffer>([[configDigest, configBytes]])
  for (const l of layers) blobs.set(l.digest, l.bytes)
  return {
    kind: 'image',
    mediaTypes: family,
    mediaType: types.manifest,
    platform,
    manifest,
    manifestBytes,
    manifestDigest,
    config,
    configBytes,
    configDigest,
    layers,
    blobs,
    descriptor: {mediaType: types.manifest, digest: manifestDigest, size: manifestBytes.length, platform},
  }
}

/** Options for {@link buildIndex}. */
export interface BuildIndexOptions {
  /** Default: the family of the first child. */
  mediaTypes?: MediaTypeFamily
  /** Index annotations (OCI only). */
  annotations?: Record<string, string>
}

/**
 * Builds a multi-platform index (OCI index, or Docker manifest list for `docker`).
 * @param platforms per-child platform overrides; by default each image's own platform (a nested
 *   index gets none).
 * @returns the index with all children's blobs merged into `blobs`.
 */
export function buildIndex(children: Built[], platforms?: (Platform | undefined)[], options: BuildIndexOptions = {}): BuiltIndex {
  const family = options.mediaTypes ?? children[0]?.mediaTypes ?? 'oci'
  const types = MEDIA_TYPES[family]
  const manifests = children.map((child, i) => {
    const platform = platforms?.[i] ?? (child.kind === 'image' ? child.platform : undefined)
    return {mediaType: child.mediaType, digest: child.manifestDigest, size: child.manifestBytes.length, ...(platform ? {platform} : {})}
  })
  const index: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: types.index,
    manifests,
    ...(options.annotations && family === 'oci' ? {annotations: options.annotations} : {}),
  }
  const manifestBytes = Buffer.from(JSON.stringify(index))
  const manifestDigest = sha256(manifestBytes)
  const blobs = new Map<string, Buffer>()
  for (const child of children) for (const [d, b] of child.blobs) blobs.set(d, b)
  return {
    kind: 'index',
    mediaTypes: family,
    mediaType: types.index,
    index,
    manifestBytes,
    manifestDigest,
    manifests: children,
    blobs,
    descriptor: {mediaType: types.index, digest: manifestDigest, size: manifestBytes.length},
  }
}

/**
 * Lists the manifest documents of `built`, children before parents (the order a registry accepts
 * them in), without duplicates.
 * @returns manifests and indexes with their digests and media types.
 */
export function manifestsOf(built: Built): ManifestBlob[] {
  const out: ManifestBlob[] = []
  const seen = new Set<string>()
  const visit = (b: Built): void => {
    if (b.kind === 'index') for (const child of b.manifests) visit(child)
    if (seen.has(b.manifestDigest)) return
    seen.add(b.manifestDigest)
    out.push({digest: b.manifestDigest, mediaType: b.mediaType, bytes: b.manifestBytes})
  }
  visit(built)
  return out
}

/** What {@link writeOciLayout} writes: one image or index, optionally named. */
export interface OciLayoutSpec {
  image?: Built
  index?: Built
  /** Written as the `org.opencontainers.image.ref.name` annotation in `index.json` (e.g. `latest`). */
  refName?: string
}

/**
 * Writes an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`) into `dir`,
 * creating it if needed, so that `umoci`, `skopeo` (`oci:<dir>:<refName>`) and our importer can read it.
 * Docker-typed manifests are written faithfully, but skopeo 1.9 and umoci only look at OCI-typed
 * entries of `index.json`, and umoci 0.4.7 cannot unpack zstd layers.
 * @returns the descriptor recorded in `index.json`.
 * @throws Error when neither `image` nor `index` is given.
 */
export async function writeOciLayout(dir: string, spec: OciLayoutSpec): Promise<Descriptor> {
  const built = spec.index ?? spec.image
  if (!built) throw new Error('writeOciLayout: give an image or an index')
  const blobDir = join(dir, 'blobs', 'sha256')
  await mkdir(blobDir, {recursive: true})
  const writes: Promise<void>[] = []
  for (const [digest, bytes] of built.blobs) writes.push(writeFile(join(blobDir, digest.slice('sha256:'.length)), bytes))
  for (const m of manifestsOf(built)) writes.push(writeFile(join(blobDir, m.digest.slice('sha256:'.length)), m.bytes))
  await Promise.all(writes)
  const descriptor: Descriptor = {
    ...built.descriptor,
    ...(spec.refName !== undefined ? {annotations: {'org.opencontainers.image.ref.name': spec.refName}} : {}),
  }
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.oci.index,
      manifests: [descriptor],
    }),
  )
  return descriptor
}

/** Busybox applets linked into `/bin` by {@link busyboxLayerEntries}. */
export const BUSYBOX_APPLETS = [
  'sh',
  'ash',
  'ls',
  'true',
  'false',
  'echo',
  'cat',
  'sleep',
  'env',
  'id',
  'whoami',
  'mkdir',
  'rm',
  'rmdir',
  'touch',
  'cp',
  'mv',
  'ln',
  'chmod',
  'chown',
  'stat',
  'ps',
  'kill',
  'pwd',
  'printf',
  'test',
  '[',
  'uname',
  'hostname',
  'date',
  'wc',
  'head',
  'tail',
  'grep',
  'sed',
  'find',
  'mount',
  'df',
  'du',
  'sync',
  'readlink',
  'dd',
  'yes',
  'seq',
  'sha256sum',
  'top',
  'free',
  'nproc',
  'getopt',
  'tee',
  'xargs',
  'vi',
  'wget',
  'nc',
  'ip',
]

/** Where Debian's `busybox-static` installs its binary. */
export const BUSYBOX_PATH = '/bin/busybox'

/**
 * Entries of a small runnable root filesystem: `/bin/busybox` (from Debian's `busybox-static`) with
 * applet symlinks, `/etc/passwd` and `/etc/group` (root 0, app 1000, nobody 65534), `/tmp` 1777,
 * `/root`, `/home/app` owned by 1000, and empty `/proc`, `/sys`, `/dev` mountpoints.
 * @throws Error when `/bin/busybox` is missing.
 */
export function busyboxLayerEntries(): TarEntry[] {
  if (!existsSync(BUSYBOX_PATH)) throw new Error(`${BUSYBOX_PATH} not found: install the Debian package busybox-static`)
  const dir = (path: string, mode = 0o755, uid = 0): TarEntry => ({path, type: 'dir', mode, uid, gid: uid})
  return [
    dir('bin/'),
    {path: 'bin/busybox', type: 'file', mode: 0o755, content: readFileSync(BUSYBOX_PATH)},
    ...BUSYBOX_APPLETS.map((a): TarEntry => ({path: `bin/${a}`, type: 'symlink', linkname: 'busybox'})),
    dir('dev/'),
    dir('proc/'),
    dir('sys/'),
    dir('etc/'),
    {
      path: 'etc/passwd',
      type: 'file',
      content: 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    },
    {path: 'etc/group', type: 'file', content: 'root:x:0:\napp:x:1000:\nnogroup:x:65534:\n'},
    {path: 'etc/hostname', type: 'file', content: 'berth-test\n'},
    dir('home/'),
    dir('home/app/', 0o755, 1000),
    dir('root/', 0o700),
    dir('tmp/', 0o1777),
    dir('var/'),
    dir('var/tmp/', 0o1777),
  ]
}

/** Options for {@link busyboxImage}. */
export interface BusyboxImageOptions {
  compression?: Compression
  mediaTypes?: MediaTypeFamily
  config?: Partial<ImageConfig>
  /** Layers stacked on top of the busybox layer. */
  extraLayers?: TarEntry[][]
  platform?: Platform
}

/**
 * Builds a small runnable image from the host's static busybox (`Cmd: ["/bin/sh"]`).
 * @returns the built image (host platform unless told otherwise).
 * @throws Error when `/bin/busybox` is missing.
 */
export function busyboxImage(options: BusyboxImageOptions = {}): Promise<BuiltImage> {
  return buildImage({
    layers: [busyboxLayerEntries(), ...(options.extraLayers ?? [])],
    compression: options.compression ?? 'gzip',
    mediaTypes: options.mediaTypes ?? 'oci',
    ...(options.config ? {config: options.config} : {}),
    ...(options.platform ? {platform: options.platform} : {}),
  })
}

/** Options for {@link generatedLayers}. */
export interface GeneratedLayersOptions {
  count: number
  /** Approximate content bytes per layer (file data, excluding tar headers). */
  bytesPerLayer: number
  seed: number | string
  /** Share of bytes that are compressible text rather than random data; default 0.25. */
  textFraction?: number
}

/**
 * Generates `count` deterministic layers of mixed random and text files (for benchmarks: 8 x 25 MB
 * in well under a second). Same options, same bytes.
 * @returns one entry list per layer, files under `data/layer-<i>/`.
 */
export function generatedLayers(options: GeneratedLayersOptions): TarEntry[][] {
  const {count, bytesPerLayer, seed} = options
  const textFraction = options.textFraction ?? 0.25
  const rng = new Prng(seed)
  const corpus = makeCorpus(rng, 1 << 20)
  const stream = new RandomStream(seed)
  const layers: TarEntry[][] = []
  for (let i = 0; i < count; i++) {
    const entries: TarEntry[] = [
      {path: 'data/', type: 'dir'},
      {path: `data/layer-${i}/`, type: 'dir'},
    ]
    let remaining = bytesPerLayer
    let n = 0
    const maxFile = Math.max(4096, Math.floor(bytesPerLayer / 6))
    while (remaining > 0) {
      // Mostly small files, with a few large ones carrying most of the bytes.
      const size = Math.min(remaining, rng.next() < 0.7 ? 512 + Math.floor(rng.next() * 16384) : Math.floor(maxFile * (0.3 + 0.7 * rng.next())))
      const text = rng.next() < textFraction
      const content = text ? textBytes(rng, corpus, size) : stream.take(size)
      entries.push({path: `data/layer-${i}/file-${String(n).padStart(5, '0')}.${text ? 'txt' : 'bin'}`, type: 'file', content, mode: 0o644})
      remaining -= size
      n++
    }
    layers.push(entries)
  }
  return layers
}

/** xorshift32-based PRNG for decisions (sizes, kinds, offsets); not for bulk bytes. */
class Prng {
  private state: number
  constructor(seed: number | string) {
    const h = createHash('sha256').update(String(seed)).digest()
    this.state = h.readUInt32LE(0) || 0x9e3779b9
  }
  /** @returns a float in [0, 1). */
  next(): number {
    let x = this.state
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.state = x >>> 0
    return this.state / 4294967296
  }
}

/** Bulk pseudo-random bytes: AES-256-CTR keystream keyed by the seed (GB/s, deterministic). */
class RandomStream {
  private readonly cipher: ReturnType<typeof createCipheriv>
  constructor(seed: number | string) {
    const key = createHash('sha256').update(`berth-generated-layers:${seed}`).digest()
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  }
  take(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n))
  }
}

const WORDS = (
  'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et ' +
  'dolore magna aliqua container image layer snapshot namespace registry manifest digest content blob index ' +
  'platform runtime task process mount overlay whiteout config rootfs history label annotation'
).split(' ')

/** A block of word-salad text built once per call; text files are slices of it. */
function makeCorpus(rng: Prng, size: number): Buffer {
  const words: string[] = []
  let len = 0
  while (len < size) {
    const w = WORDS[Math.floor(rng.next() * WORDS.length)]
    const sep = rng.next() < 0.08 ? '\n' : ' '
    words.push(w, sep)
    len += w.length + 1
  }
  return Buffer.from(words.join('')).subarray(0, size)
}

function textBytes(rng: Prng, corpus: Buffer, size: number): Buffer {
  const out = Buffer.allocUnsafe(size)
  let pos = 0
  while (pos < size) {
    const chunk = Math.min(size - pos, 4096 + Math.floor(rng.next() * 28672))
    const start = Math.floor(rng.next() * (corpus.length - chunk))
    corpus.copy(out, pos, start, start + chunk)
    pos += chunk
  }
  return out
}
