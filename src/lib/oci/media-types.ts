// OCI and Docker media type strings and the classifiers that decide what a descriptor points at; schema1 is named only to be refused.

/** Media types for image components (opencontainers/image-spec `media-types.md`, containerd `core/images/mediatypes.go`). */
export const MediaType = Object.freeze({
  // OCI
  ociDescriptor: 'application/vnd.oci.descriptor.v1+json',
  ociLayoutHeader: 'application/vnd.oci.layout.header.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerEncrypted: 'application/vnd.oci.image.layer.v1.tar+encrypted',
  ociLayerGzipEncrypted: 'application/vnd.oci.image.layer.v1.tar+gzip+encrypted',
  ociLayerNondistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociLayerNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  // Docker image manifest v2, schema 2
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerLayerForeign: 'application/vnd.docker.image.rootfs.foreign.diff.tar',
  dockerLayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  // Docker schema 1: recognised only so that it can be refused with a clear message.
  dockerSchema1Manifest: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1SignedManifest: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  // Others met in real indexes and manifests.
  inToto: 'application/vnd.in-toto+json',
  erofsLayer: 'application/vnd.erofs.layer.v1',
} as const)

/** Any of the named media types (descriptors may carry others; those are plain strings). */
export type KnownMediaType = (typeof MediaType)[keyof typeof MediaType]

/** The `Accept` list sent when resolving a manifest, in containerd's order. */
export const MANIFEST_ACCEPT: readonly string[] = Object.freeze([
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.ociIndex,
  '*/*',
])

/** The media type without parameters and lowercased (`Application/JSON; charset=utf-8` -> `application/json`). */
export function normalizeMediaType(mediaType: string): string {
  return (mediaType.split(';', 1)[0] ?? '').trim().toLowerCase()
}

/** Split a normalized `base+ext1+ext2` into the base and its suffixes. */
function splitMediaType(mediaType: string): {base: string; suffixes: string[]} {
  const [base = '', ...suffixes] = normalizeMediaType(mediaType).split('+')
  return {base, suffixes}
}

/** True for an OCI image index or a Docker manifest list. */
export function isIndex(mediaType: string): boolean {
  const mt = normalizeMediaType(mediaType)
  return mt === MediaType.ociIndex || mt === MediaType.dockerManifestList
}

/** True for an OCI image manifest or a Docker schema2 manifest (never schema1). */
export function isManifest(mediaType: string): boolean {
  const mt = normalizeMediaType(mediaType)
  return mt === MediaType.ociManifest || mt === MediaType.dockerManifest
}

/** True for a Docker schema1 manifest, signed or not; callers refuse these. */
export function isSchema1(mediaType: string): boolean {
  const mt = normalizeMediaType(mediaType)
  return mt === MediaType.dockerSchema1Manifest || mt === MediaType.dockerSchema1SignedManifest
}

/** True for an OCI or Docker image config. */
export function isConfig(mediaType: string): boolean {
  const mt = normalizeMediaType(mediaType)
  return mt === MediaType.ociConfig || mt === MediaType.dockerConfig
}

/** True for any layer type containerd recognises (OCI layer family, Docker rootfs diffs, EROFS), compressed or not. */
export function isLayer(mediaType: string): boolean {
  const mt = normalizeMediaType(mediaType)
  if (mt.startsWith('application/vnd.oci.image.layer.')) return true
  switch (splitMediaType(mt).base) {
    case MediaType.dockerLayer:
    case MediaType.dockerLayerGzip:
    case MediaType.dockerLayerZstd:
    case MediaType.dockerLayerForeign:
    case MediaType.dockerLayerForeignGzip:
    case MediaType.erofsLayer:
      return true
    default:
      return false
  }
}

/** True for layers marked non-distributable (OCI `nondistributable`, Docker `foreign`). */
export function isNonDistributable(mediaType: string): boolean {
  const mt = normalizeMediaType(mediaType)
  return mt.startsWith('application/vnd.oci.image.layer.nondistributable.') || mt.startsWith('application/vnd.docker.image.rootfs.foreign.')
}

/** Compression of a layer, as declared by its media type. */
export type LayerCompression = 'gzip' | 'zstd' | 'none'

/**
 * The compression a layer media type declares, or undefined when Berth cannot apply it (not a tar layer, encrypted,
 * EROFS, unknown suffix): the caller refuses those. Docker's `…diff.tar` types report `'none'`, but containerd treats
 * them as "unknown" because some tools gzip them anyway, so run `sniffCompression` on the first bytes of every layer.
 */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  const {base, suffixes} = splitMediaType(mediaType)
  switch (base) {
    case MediaType.dockerLayer:
    case MediaType.dockerLayerForeign:
      return suffixes.length === 0 ? 'none' : undefined
    case MediaType.dockerLayerGzip:
    case MediaType.dockerLayerForeignGzip:
      return suffixes.length === 0 ? 'gzip' : undefined
    case MediaType.dockerLayerZstd:
      return suffixes.length === 0 ? 'zstd' : undefined
    case MediaType.ociLayer:
    case MediaType.ociLayerNondistributable:
      if (suffixes.length === 0) return 'none'
      if (suffixes.length === 1 && suffixes[0] === 'gzip') return 'gzip'
      if (suffixes.length === 1 && suffixes[0] === 'zstd') return 'zstd'
      return undefined
    default:
      return undefined
  }
}

/** The compression the first bytes of a stream show (gzip `1f 8b`, zstd `28 b5 2f fd`), else `'none'`. Never throws. */
export function sniffCompression(head: Uint8Array): LayerCompression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd'
  return 'none'
}

/** The kind word ctr's progress display uses for a descriptor (`index`, `manifest`, `layer`, `config`, `attestation`, `unknown`). */
export function descriptorKind(mediaType: string): 'index' | 'manifest' | 'layer' | 'config' | 'attestation' | 'unknown' {
  if (isIndex(mediaType)) return 'index'
  if (isManifest(mediaType)) return 'manifest'
  if (isLayer(mediaType)) return 'layer'
  if (isConfig(mediaType)) return 'config'
  if (normalizeMediaType(mediaType) === MediaType.inToto) return 'attestation'
  return 'unknown'
}
