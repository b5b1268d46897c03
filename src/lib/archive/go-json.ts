// JSON exactly as Go's encoding/json writes containerd's OCI structs: field order of the Go
// types, map keys sorted, `omitempty` fields left out, HTML-sensitive characters escaped. The
// documents containerd makes during import and export are content-addressed, so matching its
// bytes is what makes Berth's digests match containerd's. Pure: no I/O.
import type {Descriptor, OciPlatform} from '../oci/index.js'

/** A Go JSON string: like JSON.stringify, plus Go's escapes of <, >, &, U+2028/9, \b and \f. */
export function goString(s: string): string {
  return JSON.stringify(s).replace(/[<>&\u2028\u2029]|\\[bf]/g, (c) => {
    if (c === '\\b') return '\\u0008'
    if (c === '\\f') return '\\u000c'
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  })
}

/** A map[string]string: keys sorted (by UTF-8 bytes, as Go sorts strings). */
export function goStringMap(m: Readonly<Record<string, string>>): string {
  const keys = Object.keys(m).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  return `{${keys.map((k) => `${goString(k)}:${goString(m[k])}`).join(',')}}`
}

/** ocispec.Platform: architecture, os, os.version, os.features, variant. */
export function goPlatform(p: OciPlatform): string {
  const parts = [`"architecture":${goString(p.architecture)}`, `"os":${goString(p.os)}`]
  if (p['os.version']) parts.push(`"os.version":${goString(p['os.version'])}`)
  if (p['os.features'] && p['os.features'].length > 0) parts.push(`"os.features":[${p['os.features'].map(goString).join(',')}]`)
  if (p.variant) parts.push(`"variant":${goString(p.variant)}`)
  return `{${parts.join(',')}}`
}

/** ocispec.Descriptor: mediaType, digest, size, urls, annotations, data, platform, artifactType. */
export function goDescriptor(d: Descriptor): string {
  const parts: string[] = []
  if (d.mediaType) parts.push(`"mediaType":${goString(d.mediaType)}`)
  parts.push(`"digest":${goString(d.digest)}`, `"size":${d.size}`)
  if (d.urls && d.urls.length > 0) parts.push(`"urls":[${d.urls.map(goString).join(',')}]`)
  if (d.annotations && Object.keys(d.annotations).length > 0) parts.push(`"annotations":${goStringMap(d.annotations)}`)
  if (d.data) parts.push(`"data":${goString(d.data)}`)
  if (d.platform) parts.push(`"platform":${goPlatform(d.platform)}`)
  if (d.artifactType) parts.push(`"artifactType":${goString(d.artifactType)}`)
  return `{${parts.join(',')}}`
}

/** ocispec.Index with `manifests` (a nil list is `null`) and an optional media type. */
export function goIndex(manifests: readonly Descriptor[] | undefined, mediaType?: string): string {
  const list = manifests === undefined ? 'null' : `[${manifests.map(goDescriptor).join(',')}]`
  return `{"schemaVersion":2,${mediaType ? `"mediaType":${goString(mediaType)},` : ''}"manifests":${list}}`
}

/** The manifest struct containerd's importer writes for a Docker archive: schemaVersion, mediaType, config, layers. */
export function goDockerManifest(mediaType: string, config: Descriptor, layers: readonly Descriptor[]): string {
  return `{"schemaVersion":2,"mediaType":${goString(mediaType)},"config":${goDescriptor(config)},"layers":[${layers.map(goDescriptor).join(',')}]}`
}
