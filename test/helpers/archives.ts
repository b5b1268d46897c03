// Builds image archives in memory for import tests: OCI layout archives (as skopeo's oci-archive:,
// buildx and ctr export lay them out) and Docker archives (`docker save`: manifest.json, config
// `<hex>.json`, legacy `<id>/layer.tar` with symlinks for shared layers, `repositories`), plus the
// raw entry lists so hostile variants can be made by editing them.
import {manifestsOf, sha256, type Built, type BuiltImage} from './oci-image.js'
import {writeTar, type TarEntry, type TarWriteOptions} from './tar-writer.js'

/** Options for {@link ociArchiveEntries}. */
export interface OciArchiveOptions {
  /** Annotations of the single `index.json` entry (e.g. a ref name). */
  annotations?: Record<string, string>
  /** Several named entries instead: each `built` with its annotations. */
  entries?: Array<{built: Built; annotations?: Record<string, string>}>
  /** Where index.json goes: before the blobs, or after them (ctr export, docker save). Default `last`. */
  indexFirst?: boolean
  /** Leave these digests' blobs out. */
  omit?: string[]
}

/** The entries of an OCI layout archive of `built` (or of `options.entries`). */
export function ociArchiveEntries(built: Built | undefined, options: OciArchiveOptions = {}): TarEntry[] {
  const list = options.entries ?? [{built: built!, annotations: options.annotations}]
  const blobs = new Map<string, Buffer>()
  for (const {built: b} of list) {
    for (const [d, bytes] of b.blobs) blobs.set(d, bytes)
    for (const m of manifestsOf(b)) blobs.set(m.digest, m.bytes)
  }
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: list.map(({built: b, annotations}) => ({
      mediaType: b.mediaType,
      digest: b.manifestDigest,
      size: b.manifestBytes.length,
      ...(annotations ? {annotations} : {}),
    })),
  }
  const head: TarEntry[] = [{path: 'oci-layout', type: 'file', content: '{"imageLayoutVersion":"1.0.0"}'}]
  const indexEntry: TarEntry = {path: 'index.json', type: 'file', content: JSON.stringify(index)}
  const blobEntries: TarEntry[] = [
    {path: 'blobs/', type: 'dir'},
    {path: 'blobs/sha256/', type: 'dir'},
    ...[...blobs]
      .filter(([d]) => !options.omit?.includes(d))
      .map(([d, bytes]): TarEntry => ({path: `blobs/sha256/${d.slice(7)}`, type: 'file', content: bytes, mode: 0o444})),
  ]
  return options.indexFirst ? [...head, indexEntry, ...blobEntries] : [...head, ...blobEntries, indexEntry]
}

/** An OCI layout archive of `built`. */
export function ociArchive(built: Built | undefined, options: OciArchiveOptions = {}, tar: TarWriteOptions = {}): Buffer {
  return writeTar(ociArchiveEntries(built, options), tar)
}

/** Options for {@link dockerArchiveEntries}. */
export interface DockerArchiveOptions {
  /** Legacy layout (`<id>/layer.tar`, shared layers as symlinks), as docker save before 25 and skopeo write. Default true. */
  legacy?: boolean
}

/**
 * The entries of a Docker archive of `images` (their layers must be uncompressed, as docker save
 * writes them), each with its RepoTags.
 */
export function dockerArchiveEntries(images: Array<{image: BuiltImage; repoTags?: string[]}>, options: DockerArchiveOptions = {}): TarEntry[] {
  const legacy = options.legacy ?? true
  const entries: TarEntry[] = []
  const layerPaths = new Map<string, string>()
  const manifest: Array<{Config: string; RepoTags: string[] | null; Layers: string[]}> = []
  const repositories: Record<string, Record<string, string>> = {}
  for (const {image, repoTags} of images) {
    const configPath = `${image.configDigest.slice(7)}.json`
    if (!entries.some((e) => e.path === configPath)) entries.push({path: configPath, type: 'file', content: image.configBytes})
    const layers: string[] = []
    for (const [i, layer] of image.layers.entries()) {
      const first = layerPaths.get(layer.digest)
      if (!legacy) {
        const path = `${layer.digest.slice(7)}.tar`
        if (first === undefined) {
          entries.push({path, type: 'file', content: layer.bytes})
          layerPaths.set(layer.digest, path)
        }
        layers.push(path)
        continue
      }
      const id = sha256(`${image.configDigest} ${i}`).slice(7)
      const path = `${id}/layer.tar`
      entries.push(
        {path: `${id}/`, type: 'dir'},
        {path: `${id}/VERSION`, type: 'file', content: '1.0'},
        {path: `${id}/json`, type: 'file', content: JSON.stringify({id})},
      )
      if (first === undefined) {
        entries.push({path, type: 'file', content: layer.bytes})
        layerPaths.set(layer.digest, path)
      } else entries.push({path, type: 'symlink', linkname: `../${first}`})
      layers.push(path)
    }
    manifest.push({Config: configPath, RepoTags: repoTags ?? null, Layers: layers})
    for (const tag of repoTags ?? []) {
      const colon = tag.lastIndexOf(':')
      ;(repositories[tag.slice(0, colon)] ??= {})[tag.slice(colon + 1)] = sha256(`${image.configDigest} ${image.layers.length - 1}`).slice(7)
    }
  }
  entries.push({path: 'manifest.json', type: 'file', content: JSON.stringify(manifest)})
  entries.push({path: 'repositories', type: 'file', content: JSON.stringify(repositories)})
  return entries
}

/** A Docker archive. */
export function dockerArchive(images: Array<{image: BuiltImage; repoTags?: string[]}>, options: DockerArchiveOptions = {}, tar: TarWriteOptions = {}): Buffer {
  return writeTar(dockerArchiveEntries(images, options), tar)
}

/**
 * The Docker schema 2 manifest containerd's importer makes for an image of a Docker archive whose
 * layers are uncompressed: written out here by hand, to check Berth's digests against.
 */
export function containerdDockerManifest(image: BuiltImage): Buffer {
  const layers = image.layers.map((l) => `{"mediaType":"application/vnd.docker.image.rootfs.diff.tar","digest":"${l.digest}","size":${l.size}}`)
  return Buffer.from(
    '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",' +
      `"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"${image.configDigest}","size":${image.configBytes.length}},` +
      `"layers":[${layers.join(',')}]}`,
  )
}
