// How images in archives are named, as containerd 1.7's ctr names them: the import prefix and
// its reference translators, the `io.containerd.image.name` / `org.opencontainers.image.ref.name`
// annotations, digest names, and the Docker forms (normalized RepoTags in, familiar RepoTags out).
// Pure: no I/O.
import {InvalidArgument} from '../errors/index.js'
import {parseReference} from '../oci/index.js'

/** containerd's annotation with an image's full name (`images.AnnotationImageName`). */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name'
/** The OCI annotation with a manifest's tag inside an index or layout. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name'

/** ctr's default import prefix when no --base-name is given: `import-<yyyy-mm-dd>` in local time. */
export function defaultImportPrefix(now: Date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, '0')
  return `import-${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`
}

/**
 * containerd's refTranslator: a tag-only ref name becomes `<prefix>:<tag>`; a full reference
 * (anything with `/`, `:` or `@`) stays, unless `checkPrefix` (given --base-name) and it does not
 * start with the prefix, when it is dropped ('').
 */
export function refTranslator(prefix: string, checkPrefix: boolean): (ref: string) => string {
  return (ref) => {
    if (prefix === '') return ''
    if (/[/:@]/.test(ref)) return checkPrefix && !isImagePrefix(ref, prefix) ? '' : ref
    return `${prefix}:${ref}`
  }
}

/** `s` starts with the whole repository `prefix` (followed by nothing, `/`, `:` or `@`). */
function isImagePrefix(s: string, prefix: string): boolean {
  if (!s.startsWith(prefix)) return false
  return s.length === prefix.length || '/:@'.includes(s[prefix.length])
}

/**
 * The name an index entry gives its image: `io.containerd.image.name` as is, else the OCI ref
 * name through `translate`; '' when unnamed.
 */
export function imageNameOf(annotations: Readonly<Record<string, string>> | undefined, translate: (ref: string) => string): string {
  const full = annotations?.[ANNOTATION_IMAGE_NAME]
  if (full) return full
  const ref = annotations?.[ANNOTATION_REF_NAME]
  return ref ? translate(ref) : ''
}

/**
 * The OCI ref name containerd writes for a full name: the object part of containerd's
 * `reference.Parse` (`docker.io/library/busybox:latest` -> `latest`, `h:5000/x@sha256:…` ->
 * `@sha256:…`), or the whole name when that parser refuses it (no host, a non-numeric port).
 */
export function ociReferenceName(name: string): string {
  if (name.includes('://')) return name
  const slash = name.indexOf('/')
  let host = slash < 0 ? name : name.slice(0, slash)
  const path = slash < 0 ? '' : name.slice(slash)
  const at = host.lastIndexOf('@')
  if (at >= 0) host = host.slice(at + 1) // url.Parse reads `user@host`
  if (host === '') return name
  const bracket = host.lastIndexOf(']')
  const colon = host.lastIndexOf(':')
  if (colon > bracket && !/^[0-9]*$/.test(host.slice(colon + 1))) return name // url.Parse: invalid port
  const split = /[:@]/.exec(path)
  if (!split) return ''
  const object = path.slice(split.index)
  return object.startsWith(':') ? object.slice(1) : object
}

/**
 * A Docker RepoTag normalized as containerd's importer does (distribution's ParseDockerRef):
 * `busybox:latest` -> `docker.io/library/busybox:latest`; a digest drops the tag.
 * @throws InvalidArgument `normalize image ref "<ref>": <reason>`.
 */
export function normalizeDockerRef(ref: string): string {
  try {
    const r = parseReference(ref)
    return r.digest ? `${r.name}@${r.digest}` : r.toString()
  } catch (err) {
    throw new InvalidArgument(`normalize image ref ${JSON.stringify(ref)}: ${(err as Error).message}`, {cause: err})
  }
}

/**
 * Berth keeps image names normalized (as pull and tag do), so that every command finds an
 * imported image by the name the user typed: a parsable name is normalized, any other kept.
 */
export function storedImageName(name: string): string {
  try {
    return parseReference(name).toString()
  } catch {
    return name
  }
}

/**
 * The RepoTag Docker's manifest.json wants for a stored name (distribution's
 * ParseNormalizedNamed + TagNameOnly + FamiliarString): `docker.io/library/busybox:latest` ->
 * `busybox:latest`. @throws InvalidArgument `failed to parse "<name>": <reason>`.
 */
export function familiarName(name: string): string {
  try {
    return parseReference(name).familiarString()
  } catch (err) {
    throw new InvalidArgument(`failed to parse ${JSON.stringify(name)}: ${(err as Error).message}`, {cause: err})
  }
}
