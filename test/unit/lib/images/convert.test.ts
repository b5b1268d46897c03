// convertImage against a real store: zstd and gzip layers uncompressed to their diff_ids, Docker lists turned OCI
// with their manifests, platforms kept or dropped, GC references on the new documents, the source untouched, and a
// layer that does not hash to its diff_id refused.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {describe as describeError, errorKind} from '../../../../src/lib/errors/index.js'
import {convertImage, dockerToOci, uncompressedType} from '../../../../src/lib/images/convert.js'
import {MediaType} from '../../../../src/lib/oci/index.js'
import {collectGarbage, type Store} from '../../../../src/lib/store/index.js'
import {buildImage, buildIndex, sha256, type Built, type BuiltImage} from '../../../helpers/oci-image.js'
import {tempStore, type TempStore} from '../../../helpers/store.js'

const NS = 'conv'
const amd64 = {os: 'linux', architecture: 'amd64'}
const arm64 = {os: 'linux', architecture: 'arm64', variant: 'v8'}

/** Write every blob and document of `built` into the store (with the GC references a pull sets) and name it `name`. */
async function store(s: Store, name: string, built: Built): Promise<void> {
  const write = async (digest: string, bytes: Buffer, labels: Record<string, string> = {}) => {
    const opened = await s.content.openWriter(NS, {ref: `test-${digest}`, expected: {digest, size: bytes.length}, labels})
    if (opened.status !== 'write') return
    await opened.writer.write(bytes)
    await opened.writer.commit()
  }
  const visit = async (b: Built): Promise<void> => {
    for (const [digest, bytes] of b.blobs) await write(digest, bytes)
    const labels: Record<string, string> = {}
    if (b.kind === 'index') {
      for (const child of b.manifests) await visit(child)
      b.manifests.forEach((c, i) => (labels[`containerd.io/gc.ref.content.m.${i}`] = c.manifestDigest))
    } else {
      labels['containerd.io/gc.ref.content.config'] = b.configDigest
      b.layers.forEach((l, i) => (labels[`containerd.io/gc.ref.content.l.${i}`] = l.digest))
    }
    await write(b.manifestDigest, b.manifestBytes, labels)
  }
  await visit(built)
  s.images.put(NS, {name, target: {mediaType: built.mediaType, digest: built.manifestDigest, size: built.manifestBytes.length}, labels: {team: 'x'}})
}

const json = (s: Store, digest: string) => JSON.parse(s.content.readBytes(NS, digest).toString()) as Record<string, any>

async function rejects(p: Promise<unknown>, kind: string, pattern: RegExp): Promise<void> {
  try {
    await p
  } catch (err) {
    assert.equal(errorKind(err), kind, describeError(err))
    assert.match(describeError(err), pattern)
    return
  }
  assert.fail('expected a failure')
}

test('media type maps: Docker to OCI, compressed to plain tar', () => {
  assert.equal(dockerToOci(MediaType.dockerManifestList), MediaType.ociIndex)
  assert.equal(dockerToOci(MediaType.dockerManifest), MediaType.ociManifest)
  assert.equal(dockerToOci(MediaType.dockerConfig), MediaType.ociConfig)
  assert.equal(dockerToOci(MediaType.dockerLayerGzip), MediaType.ociLayerGzip)
  assert.equal(dockerToOci(MediaType.dockerLayer), MediaType.ociLayer)
  assert.equal(dockerToOci(MediaType.dockerLayerForeignGzip), MediaType.ociLayerNondistributableGzip)
  assert.equal(dockerToOci(MediaType.ociLayerGzip), MediaType.ociLayerGzip)
  assert.equal(uncompressedType(MediaType.ociLayerZstd), MediaType.ociLayer)
  assert.equal(uncompressedType(MediaType.ociLayerGzip), MediaType.ociLayer)
  assert.equal(uncompressedType(MediaType.dockerLayerGzip), MediaType.dockerLayer)
  assert.equal(uncompressedType(MediaType.ociLayerNondistributableGzip), MediaType.ociLayerNondistributable)
  assert.equal(uncompressedType(MediaType.ociLayer), MediaType.ociLayer)
})

describe('convertImage', () => {
  let t: TempStore
  let zstd: BuiltImage
  before(async () => {
    t = await tempStore()
    zstd = await buildImage({
      layers: [
        [{path: 'a.txt', type: 'file', content: 'zstd layer\n'}],
        [{path: 'b.txt', type: 'file', content: 'gzip layer\n'}],
        [{path: 'c.txt', type: 'file', content: 'plain\n'}],
      ],
      compression: ['zstd', 'gzip', 'none'],
      platform: amd64,
    })
    await store(t.store, 'example.com/app:zstd', zstd)
    const dockerAmd = await buildImage({layers: [[{path: 'x', type: 'file', content: 'amd64'}]], mediaTypes: 'docker', platform: amd64})
    const dockerArm = await buildImage({layers: [[{path: 'x', type: 'file', content: 'arm64'}]], mediaTypes: 'docker', platform: arm64})
    await store(t.store, 'example.com/list:1', buildIndex([dockerAmd, dockerArm]))
  })
  after(() => t.cleanup())

  test('--uncompress: zstd and gzip layers become plain tar blobs named by their diff_ids; the plain one and the config stay', async () => {
    const r = await convertImage(t.store, {namespace: NS, source: 'example.com/app:zstd', target: 'example.com/app:plain', uncompress: true})
    assert.equal(r.name, 'example.com/app:plain')
    assert.equal(r.created, true)
    const m = json(t.store, r.target.digest)
    assert.deepEqual(
      m['layers'].map((l: {mediaType: string; digest: string}) => [l.mediaType, l.digest]),
      zstd.layers.map((l) => [MediaType.ociLayer, l.diffId]),
    )
    assert.equal(m['config'].digest, zstd.configDigest)
    for (const l of zstd.layers) assert.equal(sha256(t.store.content.readBytes(NS, l.diffId)), l.diffId)
    // The new manifest keeps its children from GC; the source stays as it was, with its labels copied to the new image.
    const labels = t.store.content.info(NS, r.target.digest).labels
    assert.deepEqual(labels, {
      'containerd.io/gc.ref.content.config': zstd.configDigest,
      'containerd.io/gc.ref.content.l.0': zstd.layers[0].diffId,
      'containerd.io/gc.ref.content.l.1': zstd.layers[1].diffId,
      'containerd.io/gc.ref.content.l.2': zstd.layers[2].diffId,
    })
    assert.equal(t.store.images.get(NS, 'example.com/app:zstd').target.digest, zstd.manifestDigest)
    assert.deepEqual(t.store.images.get(NS, 'example.com/app:plain').labels, {team: 'x'})
    await collectGarbage(t.store)
    for (const l of zstd.layers) assert.ok(t.store.content.has(NS, l.diffId), 'kept by the new image')
    // Again into the same name: the same digest, and the image record is updated, not created.
    const again = await convertImage(t.store, {namespace: NS, source: 'example.com/app:zstd', target: 'example.com/app:plain', uncompress: true})
    assert.equal(again.target.digest, r.target.digest)
    assert.equal(again.created, false)
  })

  test('--oci on a Docker list keeps the host platform by default and rewrites what it keeps', async () => {
    const host = process.arch === 'arm64' ? 'arm64' : 'amd64'
    const r = await convertImage(t.store, {namespace: NS, source: 'example.com/list:1', target: 'example.com/list:oci', oci: true})
    assert.equal(r.target.mediaType, MediaType.ociIndex)
    const index = json(t.store, r.target.digest)
    assert.equal(index['mediaType'], MediaType.ociIndex)
    assert.deepEqual(
      index['manifests'].map((d: {platform: {architecture: string}}) => d.platform.architecture),
      [host],
    )
    const child = json(t.store, index['manifests'][0].digest)
    assert.equal(index['manifests'][0].mediaType, MediaType.ociManifest)
    assert.equal(child['mediaType'], MediaType.ociManifest)
    assert.equal(child['config'].mediaType, MediaType.ociConfig)
    assert.equal(child['layers'][0].mediaType, MediaType.ociLayerGzip)
    assert.deepEqual(t.store.content.info(NS, r.target.digest).labels, {'containerd.io/gc.ref.content.m.0': index['manifests'][0].digest})
  })

  test('--all-platforms and --platform choose what the index keeps', async () => {
    const all = await convertImage(t.store, {
      namespace: NS,
      source: 'example.com/list:1',
      target: 'example.com/list:all',
      oci: true,
      allPlatforms: true,
      platforms: ['linux/s390x'],
    })
    assert.deepEqual(
      json(t.store, all.target.digest)['manifests'].map((d: {platform: {architecture: string}}) => d.platform.architecture),
      ['amd64', 'arm64'],
    )
    const arm = await convertImage(t.store, {
      namespace: NS,
      source: 'example.com/list:1',
      target: 'example.com/list:arm',
      oci: true,
      platforms: ['linux/arm64'],
    })
    assert.deepEqual(
      json(t.store, arm.target.digest)['manifests'].map((d: {platform: {architecture: string}}) => d.platform.architecture),
      ['arm64'],
    )
    await rejects(
      convertImage(t.store, {namespace: NS, source: 'example.com/list:1', target: 'example.com/list:none', platforms: ['linux/s390x']}),
      'not found',
      /^no match for platform in manifest sha256:[0-9a-f]{64}: not found$/,
    )
  })

  test('nothing to convert: the new name points at the same target', async () => {
    const r = await convertImage(t.store, {namespace: NS, source: 'example.com/app:zstd', target: 'example.com/app:same', oci: true})
    assert.equal(r.target.digest, zstd.manifestDigest)
  })

  test('a layer that does not decompress to its diff_id is data loss, and no image is recorded', async () => {
    const liar = await buildImage({
      layers: [[{path: 'l', type: 'file', content: 'real'}]],
      config: {rootfs: {type: 'layers', diff_ids: [sha256('something else')]}},
      platform: amd64,
    })
    await store(t.store, 'example.com/liar:1', liar)
    await rejects(
      convertImage(t.store, {namespace: NS, source: 'example.com/liar:1', target: 'example.com/liar:plain', uncompress: true}),
      'data loss',
      /decompresses to sha256:[0-9a-f]{64}, but the image config says its diff_id is sha256:/,
    )
    assert.throws(() => t.store.images.get(NS, 'example.com/liar:plain'))
  })
})
