// The OCI content descriptor type and its validator: a descriptor that passes has a media type, a supported digest and a non-negative integer size.
import {digestProblem, type Digest} from './digest.js'
import {child, expectArray, expectObject, expectString, expectStringArray, expectStringMap, optionalField, shapeError, type At} from './json-shape.js'
import {descriptorKind} from './media-types.js'
import type {OciPlatform} from './platform.js'

/** A content descriptor (image-spec `descriptor.md`), with the spec's JSON field names. */
export interface Descriptor {
  mediaType: string
  digest: Digest
  size: number
  urls?: string[]
  annotations?: Record<string, string>
  /** Base64 of the content, embedded. */
  data?: string
  platform?: OciPlatform
  artifactType?: string
}

/** The annotation holding a manifest's tag or name inside an index or OCI layout. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name'

function checkPlatform(v: unknown, at: At): OciPlatform {
  const p = expectObject(v, at)
  expectString(p['architecture'], child(at, 'architecture'))
  expectString(p['os'], child(at, 'os'))
  optionalField(p, 'variant', at, expectString)
  optionalField(p, 'os.version', at, expectString)
  optionalField(p, 'os.features', at, expectStringArray)
  return p as unknown as OciPlatform
}

/** Check a descriptor inside a larger document; errors name the document and the path. @internal */
export function checkDescriptor(v: unknown, at: At): Descriptor {
  const d = expectObject(v, at)
  expectString(d['mediaType'], child(at, 'mediaType'))
  const digest = expectString(d['digest'], child(at, 'digest'))
  const problem = digestProblem(digest)
  if (problem !== undefined) shapeError(child(at, 'digest'), `${JSON.stringify(digest)}: ${problem}`)
  const size = d['size']
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    shapeError(child(at, 'size'), `expected a non-negative integer, got ${JSON.stringify(size)}`)
  }
  optionalField(d, 'urls', at, expectStringArray)
  optionalField(d, 'annotations', at, expectStringMap)
  optionalField(d, 'data', at, expectString)
  optionalField(d, 'platform', at, checkPlatform)
  optionalField(d, 'artifactType', at, expectString)
  return d as unknown as Descriptor
}

/** Check a list of descriptors. @internal */
export function checkDescriptors(v: unknown, at: At): Descriptor[] {
  return expectArray(v, at).map((d, i) => checkDescriptor(d, child(at, i)))
}

/**
 * Validate an already-parsed JSON value as a descriptor (extra fields are kept).
 * @returns the same object, typed.
 * @throws InvalidArgument `invalid descriptor: <field>: <problem>`.
 */
export function parseDescriptor(value: unknown): Descriptor {
  return checkDescriptor(value, {doc: 'descriptor', path: ''})
}

/** containerd's MakeRefKey, the row key of ctr's progress display: `<kind>-<digest>`, or `<kind>-<ref.name>@<digest>`. Never throws. */
export function descriptorRefKey(desc: Pick<Descriptor, 'mediaType' | 'digest' | 'annotations'>): string {
  const kind = descriptorKind(desc.mediaType)
  const name = desc.annotations?.[ANNOTATION_REF_NAME]
  return name ? `${kind}-${name}@${desc.digest}` : `${kind}-${desc.digest}`
}
