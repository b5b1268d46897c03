// Reading images back out of the content store: size and platforms for `images ls`, completeness
// for `images check`, the descriptor tree for `images inspect`. Walks are memoized by digest
// (content is immutable), so listing 10,000 tags of a few images reads each manifest once.
import {isNotFound, NotFound} from '../errors/index.js'
import {
  chainIds,
  configPlatform,
  type Descriptor,
  formatPlatform,
  isConfig,
  isIndex,
  isManifest,
  parseImageConfig,
  parseIndex,
  parseManifest,
  parseReference,
  platformFromOci,
  type PlatformMatcher,
  platformMatcher,
  sortByPreference,
} from '../oci/index.js'
import {type Adaptor, type Filter, mentionsMapKey, objectAdaptor} from '../filters/index.js'
import type {ImageRecord, Store} from '../store/index.js'

export interface ImageSummary {
  /** Bytes of everything the host platform needs (index, manifest, config, layers), as ctr's SIZE. */
  readonly size: number
  /** Distinct `os/arch[/variant]` found by walking the target, sorted. */
  readonly platforms: readonly string[]
}

export interface ImageCheck {
  readonly complete: boolean
  /** Blobs present / required for the host platform. */
  readonly present: number
  readonly required: number
  readonly presentBytes: number
  readonly requiredBytes: number
  /** The target itself is missing: nothing can be said (`unavailable`). */
  readonly unavailable: boolean
}

export interface DescriptorNode {
  readonly mediaType: string
  readonly digest: string
  readonly size: number
  readonly platform?: string
  readonly present: boolean
  readonly children?: readonly DescriptorNode[]
}

/** A per-command reader over one namespace's content, caching parsed blobs by digest. */
/** One platform's image: what unpack and mount need. */
export interface PlatformImage {
  manifest: Descriptor
  config: Descriptor
  layers: Descriptor[]
  diffIds: string[]
  /** `os/arch[/variant]` from the config. */
  platform: string
  /** The top layer's chain ID; undefined for an image without layers. */
  chainId: string | undefined
}

export class ImageReader {
  private readonly json = new Map<string, unknown>()
  private readonly summaries = new Map<string, ImageSummary>()
  private readonly checks = new Map<string, ImageCheck>()
  private readonly matcher: PlatformMatcher

  constructor(
    private readonly store: Store,
    private readonly namespace: string,
    matcher?: PlatformMatcher,
  ) {
    this.matcher = matcher ?? platformMatcher()
  }

  /** Size and platforms; missing content counts as zero size. */
  summary(target: Descriptor): ImageSummary {
    const cached = this.summaries.get(target.digest)
    if (cached) return cached
    const platforms = new Set<string>()
    const addConfigPlatform = (m: Descriptor) => {
      const manifest = this.read(m, parseManifest)
      const config = manifest && this.read(manifest.config, parseImageConfig)
      if (config) platforms.add(formatPlatform(configPlatform(config)))
    }
    if (isIndex(target.mediaType)) {
      for (const m of this.read(target, parseIndex)?.manifests ?? []) {
        if (m.platform) platforms.add(formatPlatform(platformFromOci(m.platform)))
        else if (isManifest(m.mediaType)) addConfigPlatform(m)
      }
    } else if (isManifest(target.mediaType)) addConfigPlatform(target)
    const size = this.hostBlobs(target).required.reduce((n, d) => n + d.size, 0)
    const summary = {size, platforms: [...platforms].sort()}
    this.summaries.set(target.digest, summary)
    return summary
  }

  /** Which of the blobs the host platform needs are present here. */
  check(target: Descriptor): ImageCheck {
    const cached = this.checks.get(target.digest)
    if (cached) return cached
    const {required, unavailable} = this.hostBlobs(target)
    const present = required.filter((d) => this.has(d.digest))
    const check = {
      complete: !unavailable && present.length === required.length,
      present: present.length,
      required: required.length,
      presentBytes: present.reduce((n, d) => n + d.size, 0),
      requiredBytes: required.reduce((n, d) => n + d.size, 0),
      unavailable,
    }
    this.checks.set(target.digest, check)
    return check
  }

  /**
   * The blobs the host platform needs: the target, the best-matching manifest of an index, its
   * config and layers. `unavailable` when the target itself cannot be read.
   */
  private hostBlobs(target: Descriptor): {required: Descriptor[]; unavailable: boolean} {
    const required: Descriptor[] = []
    let unavailable = false
    const visit = (d: Descriptor): void => {
      required.push(d)
      if (isIndex(d.mediaType)) {
        const index = this.read(d, parseIndex)
        if (!index) {
          if (d === target) unavailable = true
          return
        }
        const best = sortByPreference(index.manifests, this.matcher)[0]
        if (best) visit(best)
      } else if (isManifest(d.mediaType)) {
        const manifest = this.read(d, parseManifest)
        if (!manifest) {
          if (d === target) unavailable = true
          return
        }
        required.push(manifest.config, ...manifest.layers)
      }
    }
    visit(target)
    return {required, unavailable}
  }

  /**
   * The host platform's image under `target`: the best-matching manifest of an index (or the
   * target itself), its config and its layers. Undefined when a needed blob is missing here.
   */
  platformImage(target: Descriptor): PlatformImage | undefined {
    let d: Descriptor | undefined = target
    for (let depth = 0; d && isIndex(d.mediaType) && depth < 8; depth++) {
      const index: ReturnType<typeof parseIndex> | undefined = this.read(d, parseIndex)
      d = index && sortByPreference(index.manifests, this.matcher)[0]
    }
    if (!d || !isManifest(d.mediaType)) return undefined
    const manifest = this.read(d, parseManifest)
    const config = manifest && this.read(manifest.config, parseImageConfig)
    if (!manifest || !config) return undefined
    const diffIds = config.rootfs.diff_ids
    return {
      manifest: d,
      config: manifest.config,
      layers: manifest.layers,
      diffIds,
      platform: formatPlatform(configPlatform(config)),
      chainId: diffIds.length > 0 ? chainIds(diffIds).at(-1) : undefined,
    }
  }

  /** Is the host platform's image unpacked in `snapshotter` (its top chain ID committed here)? */
  unpacked(target: Descriptor, snapshotter: string): boolean {
    const image = this.platformImage(target)
    if (!image?.chainId) return false
    return this.store.snapshots.find(this.namespace, snapshotter, image.chainId)?.kind === 'committed'
  }

  /** The whole descriptor tree under `target` (every platform), with presence. */
  tree(target: Descriptor): DescriptorNode {
    const node = (d: Descriptor): DescriptorNode => {
      const base = {
        mediaType: d.mediaType,
        digest: d.digest,
        size: d.size,
        ...(d.platform ? {platform: formatPlatform(platformFromOci(d.platform))} : {}),
        present: this.has(d.digest),
      }
      if (isIndex(d.mediaType)) {
        const index = this.read(d, parseIndex)
        return index ? {...base, children: index.manifests.map(node)} : base
      }
      if (isManifest(d.mediaType)) {
        const manifest = this.read(d, parseManifest)
        return manifest ? {...base, children: [manifest.config, ...manifest.layers].map(node)} : base
      }
      return base
    }
    return node(target)
  }

  private has(digest: string): boolean {
    return this.store.content.has(this.namespace, digest)
  }

  private read<T>(d: Descriptor, parse: (bytes: Buffer, hint?: string) => T): T | undefined {
    if (this.json.has(d.digest)) return this.json.get(d.digest) as T
    let value: T | undefined
    try {
      const bytes = this.store.content.readBytes(this.namespace, d.digest)
      value = isConfig(d.mediaType) ? parse(bytes) : parse(bytes, d.mediaType)
    } catch (err) {
      if (!isNotFound(err)) throw err
      value = undefined
    }
    this.json.set(d.digest, value)
    return value
  }
}

/** The filter view of an image: name, target.digest, target.mediatype, labels.*, annotations.*. */
export function imageAdaptor(image: ImageRecord): Adaptor {
  return objectAdaptor(
    {
      name: image.name,
      target: {digest: image.target.digest, mediatype: image.target.mediaType},
      labels: image.labels,
      annotations: image.target.annotations ?? {},
    },
    ['labels', 'annotations'],
  )
}

/**
 * The image named `name` in `ns`: as written, else under its normalized form (pull and tag record normalized names,
 * so `redis` finds `docker.io/library/redis:latest`).
 * @throws NotFound `image "<name>": not found`; InvalidArgument never (an unparseable name is simply not found).
 */
export function findImage(store: Store, ns: string, name: string): ImageRecord {
  try {
    return store.images.get(ns, name)
  } catch (err) {
    if (!isNotFound(err)) throw err
    let normalized: string
    try {
      normalized = parseReference(name).toString()
    } catch {
      throw err
    }
    if (normalized === name) throw err
    try {
      return store.images.get(ns, normalized)
    } catch (again) {
      if (isNotFound(again)) throw new NotFound(`image ${JSON.stringify(name)}`, {suffixKind: true, cause: again})
      throw again
    }
  }
}

/** The label every checkpoint image carries (seed 002). */
export const CHECKPOINT_LABEL = 'containerd.io/checkpoint'

/**
 * The images `ctr images ls` shows: those `filter` matches, without checkpoint images (labelled
 * `containerd.io/checkpoint=true`, seed 002) unless `all` or the filter itself tests that label.
 */
export function selectImages(images: readonly ImageRecord[], filter: Filter, options: {all?: boolean} = {}): ImageRecord[] {
  const showCheckpoints = options.all === true || mentionsMapKey(filter, 'labels', CHECKPOINT_LABEL)
  return images.filter((img) => (showCheckpoints || img.labels[CHECKPOINT_LABEL] !== 'true') && filter.match(imageAdaptor(img)))
}
