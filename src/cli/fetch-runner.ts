// The shared body of `images pull` and `content fetch`: progress rendering around fetchImage.
import {fetchImage, type FetchResult} from '../lib/pull/index.js'
import type {Store} from '../lib/store/index.js'
import {InvalidArgument} from '../lib/errors/index.js'
import {parseLabelArgs} from '../lib/oci/labels.js'
import {createProgress} from './progress.js'
import {registryOptions} from './registry-options.js'

export interface FetchFlagValues {
  platform?: string[]
  'all-platforms'?: boolean
  label?: string[]
  'max-concurrent-downloads'?: number
  'all-metadata'?: boolean
  'skip-metadata'?: boolean
  quiet?: boolean
  'plain-http'?: boolean
  'skip-verify'?: boolean
  tlscacert?: string[]
  user?: string
  'hosts-dir'?: string
}

/** Unpacking, for `images pull` (absent: fetch only). */
export interface UnpackFlagValues {
  snapshotter: string
  syncFs?: boolean
}

/** Fetch `ref` into `namespace` with progress on stderr; returns what fetchImage returns. */
export async function runFetch(store: Store, namespace: string, ref: string, flags: FetchFlagValues, unpack?: UnpackFlagValues): Promise<FetchResult> {
  if (flags['all-metadata'] && flags['skip-metadata']) throw new InvalidArgument('cannot specify both --all-metadata and --skip-metadata', {suffixKind: true})
  const progress = await createProgress({quiet: flags.quiet})
  let result: FetchResult | undefined
  try {
    result = await fetchImage(store, {
      namespace,
      ref,
      platforms: flags.platform ?? [],
      allPlatforms: flags['all-platforms'] ?? false,
      allMetadata: flags['all-metadata'] ?? false,
      labels: parseLabelArgs(flags.label ?? []),
      maxConcurrentDownloads: flags['max-concurrent-downloads'] ?? 3,
      registry: await registryOptions(flags),
      onProgress: progress.listener,
      ...(unpack ? {unpack: {snapshotter: unpack.snapshotter, syncFs: unpack.syncFs}} : {}),
    })
    return result
  } finally {
    progress.finish(result?.bytesTransferred ?? 0)
  }
}
