// Image manifests, indexes and configs: spec types and validators that accept only well-formed schema-2 documents of the expected kind and refuse schema 1.
import {NotImplemented} from '../errors/index.js'
import {checkDescriptor, checkDescriptors, type Descriptor} from './descriptor.js'
import {digestProblem, type Digest} from './digest.js'
import {
  child,
  describeType,
  expectArray,
  expectObject,
  expectString,
  expectStringArray,
  expectStringMap,
  optionalField,
  parseJsonObject,
  shapeError,
  type At,
  type JsonObject,
} from './json-shape.js'
import {MediaType, isIndex, isManifest, isSchema1, normalizeMediaType} from './media-types.js'
import {platformFromOci, type Platform} from './platform.js'

/** The largest manifest or index accepted, in bytes. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/** An image manifest (image-spec `manifest.md`; Docker schema2 has the same shape). */
export interface Manifest {
  schemaVersion: 2
  mediaType?: string
  artifactType?: string
  config: Descriptor
  layers: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

/** An image index (image-spec `image-index.md`; a Docker manifest list has the same shape). */
export interface Index {
  schemaVersion: 2
  mediaType?: string
  artifactType?: string
  manifests: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

/** The execution defaults inside an image config (`config` field; Docker writes `null` for empty fields). */
export interface ImageExecConfig {
  User?: string
  ExposedPorts?: Record<string, object> | null
  Env?: string[] | null
  Entrypoint?: string[] | null
  Cmd?: string[] | null
  Volumes?: Record<string, object> | null
  WorkingDir?: string
  Labels?: Record<string, string> | null
  StopSignal?: string
  /** Docker/Windows extension kept by the OCI spec for compatibility. */
  ArgsEscaped?: boolean
  /** Docker extensions, passed through unchecked. */
  Healthcheck?: unknown
  Shell?: string[] | null
  OnBuild?: string[] | null
}

/** One history entry of an image config. */
export interface ImageHistory {
  created?: string
  created_by?: string
  author?: string
  comment?: string
  empty_layer?: boolean
}

/** An image config (image-spec `config.md`), OCI or Docker. Unknown Docker fields are kept as they are. */
export interface ImageConfig {
  created?: string
  author?: string
  architecture: string
  os: string
  'os.version'?: string
  'os.features'?: string[]
  variant?: string
  config?: ImageExecConfig | null
  rootfs: {type: 'layers'; diff_ids: Digest[]}
  history?: ImageHistory[] | null
}

/** A manifest or index with the media type it was read as. */
export type ManifestDocument = {kind: 'manifest'; mediaType: string; manifest: Manifest} | {kind: 'index'; mediaType: string; index: Index}

function schema1Refusal(mediaType: string): NotImplemented {
  return new NotImplemented(
    `media type ${JSON.stringify(mediaType)} is no longer supported since containerd v2.0, please rebuild the image as ` +
      `${JSON.stringify(MediaType.dockerManifest)} or ${JSON.stringify(MediaType.ociManifest)}`,
    {suffixKind: true},
  )
}

function isSchema1Body(obj: JsonObject): boolean {
  return obj['schemaVersion'] === 1 || Object.hasOwn(obj, 'fsLayers') || (typeof obj['mediaType'] === 'string' && isSchema1(obj['mediaType']))
}

function readDocument(bytes: Uint8Array | string, doc: string): JsonObject {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength
  if (size > MAX_MANIFEST_BYTES) {
    shapeError({doc, path: ''}, `${size} bytes is more than the limit of ${MAX_MANIFEST_BYTES} bytes`)
  }
  const obj = parseJsonObject(bytes, doc)
  if (isSchema1Body(obj)) {
    throw schema1Refusal(typeof obj['mediaType'] === 'string' ? obj['mediaType'] : MediaType.dockerSchema1SignedManifest)
  }
  return obj
}

function checkCommon(obj: JsonObject, at: At): void {
  if (obj['schemaVersion'] !== 2) shapeError(child(at, 'schemaVersion'), `expected 2, got ${JSON.stringify(obj['schemaVersion'])}`)
  optionalField(obj, 'mediaType', at, expectString)
  optionalField(obj, 'artifactType', at, expectString)
  optionalField(obj, 'subject', at, checkDescriptor)
  optionalField(obj, 'annotations', at, expectStringMap)
}

/** A hint that names a manifest, an index or schema 1; generic Content-Types (`application/json`, …) say nothing. */
function meaningfulHint(hint: string | undefined): string | undefined {
  if (hint === undefined) return undefined
  const mt = normalizeMediaType(hint)
  if (isSchema1(mt)) throw schema1Refusal(mt)
  return isManifest(mt) || isIndex(mt) ? mt : undefined
}

/**
 * Parse and validate an image manifest (OCI or Docker schema2), as containerd's media-type validation does plus a
 * structural check: schemaVersion 2, a `config` descriptor, a `layers` array of descriptors.
 * `mediaTypeHint` is the media type the caller was told (descriptor or Content-Type); an index hint or an index body
 * is refused, generic hints are ignored.
 * @throws InvalidArgument for oversized, non-JSON, malformed or index documents.
 * @throws NotImplemented for Docker schema 1.
 */
export function parseManifest(bytes: Uint8Array | string, mediaTypeHint?: string): Manifest {
  const at: At = {doc: 'manifest', path: ''}
  const hint = meaningfulHint(mediaTypeHint)
  const obj = readDocument(bytes, 'manifest')
  const bodyType = typeof obj['mediaType'] === 'string' ? obj['mediaType'] : undefined
  if ((hint !== undefined && isIndex(hint)) || Object.hasOwn(obj, 'manifests') || (bodyType !== undefined && isIndex(bodyType))) {
    shapeError(at, `media-type: expected manifest but found index (${hint ?? bodyType ?? 'no media type'})`)
  }
  if (bodyType !== undefined && !isManifest(bodyType)) shapeError(child(at, 'mediaType'), `unsupported media type ${JSON.stringify(bodyType)}`)
  checkCommon(obj, at)
  if (!Object.hasOwn(obj, 'config')) shapeError(child(at, 'config'), 'missing')
  checkDescriptor(obj['config'], child(at, 'config'))
  if (!Object.hasOwn(obj, 'layers')) shapeError(child(at, 'layers'), 'missing')
  checkDescriptors(obj['layers'], child(at, 'layers'))
  return obj as unknown as Manifest
}

/**
 * Parse and validate an image index or Docker manifest list: schemaVersion 2 and a `manifests` array of descriptors.
 * A manifest hint or a body with `config`/`layers` is refused; generic hints are ignored.
 * @throws InvalidArgument for oversized, non-JSON, malformed or manifest documents.
 * @throws NotImplemented for Docker schema 1.
 */
export function parseIndex(bytes: Uint8Array | string, mediaTypeHint?: string): Index {
  const at: At = {doc: 'index', path: ''}
  const hint = meaningfulHint(mediaTypeHint)
  const obj = readDocument(bytes, 'index')
  const bodyType = typeof obj['mediaType'] === 'string' ? obj['mediaType'] : undefined
  if (
    (hint !== undefined && isManifest(hint)) ||
    Object.hasOwn(obj, 'config') ||
    Object.hasOwn(obj, 'layers') ||
    (bodyType !== undefined && isManifest(bodyType))
  ) {
    shapeError(at, `media-type: expected index but found manifest (${hint ?? bodyType ?? 'no media type'})`)
  }
  if (bodyType !== undefined && !isIndex(bodyType)) shapeError(child(at, 'mediaType'), `unsupported media type ${JSON.stringify(bodyType)}`)
  checkCommon(obj, at)
  if (!Object.hasOwn(obj, 'manifests')) shapeError(child(at, 'manifests'), 'missing')
  checkDescriptors(obj['manifests'], child(at, 'manifests'))
  return obj as unknown as Index
}

/**
 * The media type of a manifest body: the Content-Type when it names a manifest or index, else the body's
 * `mediaType` field, else OCI index when it has `manifests` and OCI manifest when it has `config` or `layers`
 * (Docker bodies always carry `mediaType`).
 * @throws NotImplemented for Docker schema 1 (by Content-Type, `mediaType`, `schemaVersion: 1` or `fsLayers`).
 * @throws InvalidArgument for oversized or non-JSON bodies, an unsupported `mediaType`, or a body that is neither.
 */
export function detectManifestMediaType(bytes: Uint8Array | string, contentType?: string): string {
  const hint = meaningfulHint(contentType)
  if (hint !== undefined) return hint
  const obj = readDocument(bytes, 'manifest')
  const at: At = {doc: 'manifest', path: ''}
  const bodyType = obj['mediaType']
  if (bodyType !== undefined) {
    if (typeof bodyType === 'string' && (isManifest(bodyType) || isIndex(bodyType))) return normalizeMediaType(bodyType)
    shapeError(child(at, 'mediaType'), `unsupported media type ${JSON.stringify(bodyType)}`)
  }
  if (Object.hasOwn(obj, 'manifests')) return MediaType.ociIndex
  if (Object.hasOwn(obj, 'config') || Object.hasOwn(obj, 'layers')) return MediaType.ociManifest
  return shapeError(at, 'cannot tell a manifest from an index: no mediaType, manifests, config or layers')
}

/**
 * Detect the media type (see `detectManifestMediaType`) and parse the body as a manifest or an index accordingly.
 * @throws InvalidArgument / NotImplemented as the functions it calls.
 */
export function parseManifestDocument(bytes: Uint8Array | string, contentType?: string): ManifestDocument {
  const mediaType = detectManifestMediaType(bytes, contentType)
  return isIndex(mediaType)
    ? {kind: 'index', mediaType, index: parseIndex(bytes, mediaType)}
    : {kind: 'manifest', mediaType, manifest: parseManifest(bytes, mediaType)}
}

function checkDigestList(v: unknown, at: At): Digest[] {
  const list = expectArray(v, at)
  list.forEach((d, i) => {
    const s = expectString(d, child(at, i))
    const problem = digestProblem(s)
    if (problem !== undefined) shapeError(child(at, i), `${JSON.stringify(s)}: ${problem}`)
  })
  return list as Digest[]
}

function checkExecConfig(v: unknown, at: At): void {
  const c = expectObject(v, at)
  for (const key of ['User', 'WorkingDir', 'StopSignal']) optionalField(c, key, at, expectString)
  for (const key of ['Env', 'Entrypoint', 'Cmd', 'Shell', 'OnBuild']) optionalField(c, key, at, expectStringArray, true)
  for (const key of ['ExposedPorts', 'Volumes']) optionalField(c, key, at, expectObject, true)
  optionalField(c, 'Labels', at, expectStringMap, true)
  optionalField(c, 'ArgsEscaped', at, (x, a) => {
    if (typeof x !== 'boolean') shapeError(a, `expected a boolean, got ${describeType(x)}`)
  })
}

function checkHistory(v: unknown, at: At): void {
  expectArray(v, at).forEach((entry, i) => {
    const h = expectObject(entry, child(at, i))
    for (const key of ['created', 'created_by', 'author', 'comment']) optionalField(h, key, child(at, i), expectString)
    optionalField(h, 'empty_layer', child(at, i), (x, a) => {
      if (typeof x !== 'boolean') shapeError(a, `expected a boolean, got ${describeType(x)}`)
    })
  })
}

/**
 * Parse and validate an image config (OCI or Docker): `architecture` and `os` strings, `rootfs` of type `layers`
 * with valid `diff_ids`, and well-typed optional fields (`null` accepted where Docker writes it).
 * @throws InvalidArgument for non-JSON or malformed configs.
 */
export function parseImageConfig(bytes: Uint8Array | string): ImageConfig {
  const at: At = {doc: 'image config', path: ''}
  const obj = parseJsonObject(bytes, 'image config')
  expectString(obj['architecture'], child(at, 'architecture'))
  expectString(obj['os'], child(at, 'os'))
  for (const key of ['created', 'author', 'variant', 'os.version']) optionalField(obj, key, at, expectString)
  optionalField(obj, 'os.features', at, expectStringArray)
  optionalField(obj, 'config', at, checkExecConfig, true)
  optionalField(obj, 'history', at, checkHistory, true)
  const rootfs = expectObject(obj['rootfs'], child(at, 'rootfs'))
  if (rootfs['type'] !== 'layers') shapeError(child(child(at, 'rootfs'), 'type'), `expected "layers", got ${JSON.stringify(rootfs['type'])}`)
  checkDigestList(rootfs['diff_ids'], child(child(at, 'rootfs'), 'diff_ids'))
  return obj as unknown as ImageConfig
}

/** The platform an image config declares (containerd's ConfigPlatform, before normalization). Never throws. */
export function configPlatform(config: Pick<ImageConfig, 'os' | 'architecture' | 'variant' | 'os.version' | 'os.features'>): Platform {
  return platformFromOci(config)
}
