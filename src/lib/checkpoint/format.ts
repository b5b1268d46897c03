// The checkpoint image format: containerd's (`core/images/mediatypes.go`, `client/task.go`,
// `client/container_checkpoint_opts.go`): an OCI index whose descriptors are the CRIU image dir as
// a tar, the container spec, the rw layer diff and the base image's target, annotated with the
// base image name, runtime and snapshotter. One deliberate difference: the spec is stored as the
// runtime spec's JSON under a `+json` variant of containerd's `config.v1+proto` media type (we
// have no protobuf); a reader accepts both names.
import {InvalidArgument, NotFound} from '../errors/index.js'
import type {Descriptor} from '../oci/index.js'
export {storedImageName} from '../oci/index.js'

export const CheckpointMediaType = Object.freeze({
  criu: 'application/vnd.containerd.container.criu.checkpoint.criu.tar',
  config: 'application/vnd.containerd.container.checkpoint.config.v1+json',
  configProto: 'application/vnd.containerd.container.checkpoint.config.v1+proto',
  rwLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  index: 'application/vnd.oci.image.index.v1+json',
})

export const CHECKPOINT_LABEL = 'containerd.io/checkpoint'
export const Annotation = Object.freeze({
  imageName: 'org.opencontainers.image.ref.name',
  /** containerd's task checkpoints name the image here. */
  legacyImageName: 'image.name',
  runtime: 'io.containerd.checkpoint.runtime',
  snapshotter: 'io.containerd.checkpoint.snapshotter',
  /** Berth's own: the dump holds established TCP connections (CRIU's --tcp-established), so must its restore. */
  tcpEstablished: 'io.berth.checkpoint.tcp-established',
})

/** `containerd.io/checkpoint/<id>:<MM-DD-YYYY-HH:MM:SS>` (containerd's checkpointNameFormat, local time). */
export function defaultCheckpointName(id: string, at: Date = new Date()): string {
  const two = (n: number) => String(n).padStart(2, '0')
  const date = `${two(at.getMonth() + 1)}-${two(at.getDate())}-${at.getFullYear()}-${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`
  return `containerd.io/checkpoint/${id}:${date}`
}

/** A checkpoint index as read back. */
export interface CheckpointIndex {
  readonly digest: string
  readonly manifests: readonly Descriptor[]
  readonly annotations: Readonly<Record<string, string>>
}

/** Parse an index blob. @throws InvalidArgument when it is not an index. */
export function parseCheckpointIndex(digest: string, bytes: Buffer): CheckpointIndex {
  let doc: {manifests?: Descriptor[]; annotations?: Record<string, string>}
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc
  } catch {
    throw new InvalidArgument(`checkpoint ${digest} is not a JSON index`, {suffixKind: true})
  }
  if (!Array.isArray(doc.manifests)) throw new InvalidArgument(`checkpoint ${digest} is not an image index`, {suffixKind: true})
  return {digest, manifests: doc.manifests, annotations: doc.annotations ?? {}}
}

/** The descriptor of `mediaType` in the index, or undefined. */
export function findDescriptor(index: CheckpointIndex, ...mediaTypes: string[]): Descriptor | undefined {
  return index.manifests.find((d) => mediaTypes.includes(d.mediaType))
}

/** The base image's target: the one descriptor that is an image index or manifest. */
export function imageTarget(index: CheckpointIndex): Descriptor | undefined {
  return (
    index.manifests.find((d) => /manifest|image\.index|manifest\.list/.test(d.mediaType) && d.mediaType !== CheckpointMediaType.index) ??
    index.manifests.find((d) => d.mediaType === CheckpointMediaType.index)
  )
}

/** An annotation containerd's restore needs, with its error when absent. */
export function requiredAnnotation(index: CheckpointIndex, key: string, what: string): string {
  const value = index.annotations[key] ?? (key === Annotation.imageName ? index.annotations[Annotation.legacyImageName] : undefined)
  if (!value) throw new NotFound(`${what} not found in index`, {suffixKind: false})
  return value
}
