// Public API of the pure OCI module: digests, media types, descriptors, manifests, references and platforms; no I/O.
export {DIGEST_ALGORITHMS, chainIds, digestAlgorithm, digestHex, isDigest, parseDigest, sha256Digest, type Digest} from './digest.js'
export {
  MANIFEST_ACCEPT,
  MediaType,
  descriptorKind,
  isConfig,
  isIndex,
  isLayer,
  isManifest,
  isNonDistributable,
  isSchema1,
  layerCompression,
  normalizeMediaType,
  sniffCompression,
  type KnownMediaType,
  type LayerCompression,
} from './media-types.js'
export {ANNOTATION_REF_NAME, parseDescriptor, type Descriptor} from './descriptor.js'
export {
  MAX_MANIFEST_BYTES,
  configPlatform,
  detectManifestMediaType,
  parseImageConfig,
  parseIndex,
  parseManifest,
  parseManifestDocument,
  type ImageConfig,
  type ImageExecConfig,
  type ImageHistory,
  type Index,
  type Manifest,
  type ManifestDocument,
} from './manifest.js'
export {
  DEFAULT_DOMAIN,
  DEFAULT_TAG,
  NAME_TOTAL_LENGTH_MAX,
  isValidTag,
  parseReference,
  registryHost,
  type ImageReference,
  storedImageName,
} from './reference.js'
export {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  platformFromOci,
  platformMatcher,
  platformToOci,
  sortByPreference,
  type HostFacts,
  type OciPlatform,
  type Platform,
  type PlatformMatcher,
} from './platform.js'
