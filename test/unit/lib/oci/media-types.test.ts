// Table tests for media type classification and layer compression.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {
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
  type LayerCompression,
} from '../../../../src/lib/oci/index.js'

type Kind = 'index' | 'manifest' | 'config' | 'layer' | 'schema1' | 'attestation' | 'other'

// media type -> [kind, layer compression, non-distributable]
const table: [string, Kind, LayerCompression | undefined, boolean][] = [
  ['application/vnd.oci.image.index.v1+json', 'index', undefined, false],
  ['application/vnd.docker.distribution.manifest.list.v2+json', 'index', undefined, false],
  ['application/vnd.oci.image.manifest.v1+json', 'manifest', undefined, false],
  ['application/vnd.docker.distribution.manifest.v2+json', 'manifest', undefined, false],
  ['application/vnd.oci.image.config.v1+json', 'config', undefined, false],
  ['application/vnd.docker.container.image.v1+json', 'config', undefined, false],
  ['application/vnd.docker.distribution.manifest.v1+prettyjws', 'schema1', undefined, false],
  ['application/vnd.docker.distribution.manifest.v1+json', 'schema1', undefined, false],
  ['application/vnd.oci.image.layer.v1.tar', 'layer', 'none', false],
  ['application/vnd.oci.image.layer.v1.tar+gzip', 'layer', 'gzip', false],
  ['application/vnd.oci.image.layer.v1.tar+zstd', 'layer', 'zstd', false],
  ['application/vnd.oci.image.layer.v1.tar+encrypted', 'layer', undefined, false],
  ['application/vnd.oci.image.layer.v1.tar+gzip+encrypted', 'layer', undefined, false],
  ['application/vnd.oci.image.layer.v1.tar+bzip2', 'layer', undefined, false],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar', 'layer', 'none', true],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'layer', 'gzip', true],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+zstd', 'layer', 'zstd', true],
  ['application/vnd.docker.image.rootfs.diff.tar', 'layer', 'none', false],
  ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'layer', 'gzip', false],
  ['application/vnd.docker.image.rootfs.diff.tar.zstd', 'layer', 'zstd', false],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar', 'layer', 'none', true],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'layer', 'gzip', true],
  ['application/vnd.docker.image.rootfs.diff.tar.gzip+encrypted', 'layer', undefined, false],
  ['application/vnd.erofs.layer.v1', 'layer', undefined, false],
  ['application/vnd.in-toto+json', 'attestation', undefined, false],
  ['application/vnd.oci.empty.v1+json', 'other', undefined, false],
  ['application/json', 'other', undefined, false],
  ['application/octet-stream', 'other', undefined, false],
  ['', 'other', undefined, false],
  // Content-Type headers with parameters or odd case still classify.
  ['application/vnd.oci.image.index.v1+json; charset=utf-8', 'index', undefined, false],
  ['Application/VND.Docker.Distribution.Manifest.V2+JSON', 'manifest', undefined, false],
]

describe('media type classification', () => {
  for (const [mt, kind, compression, nondist] of table) {
    test(JSON.stringify(mt), () => {
      assert.equal(isIndex(mt), kind === 'index', 'isIndex')
      assert.equal(isManifest(mt), kind === 'manifest', 'isManifest')
      assert.equal(isConfig(mt), kind === 'config', 'isConfig')
      assert.equal(isLayer(mt), kind === 'layer', 'isLayer')
      assert.equal(isSchema1(mt), kind === 'schema1', 'isSchema1')
      assert.equal(layerCompression(mt), compression, 'layerCompression')
      assert.equal(isNonDistributable(mt), nondist, 'isNonDistributable')
      const expectedKind = kind === 'schema1' || kind === 'other' ? 'unknown' : kind
      assert.equal(descriptorKind(mt), expectedKind, 'descriptorKind')
    })
  }

  test('every MediaType constant is classified as documented', () => {
    assert.equal(isIndex(MediaType.ociIndex) && isIndex(MediaType.dockerManifestList), true)
    assert.equal(isManifest(MediaType.ociManifest) && isManifest(MediaType.dockerManifest), true)
    assert.equal(Object.isFrozen(MediaType), true)
  })

  test('normalizeMediaType drops parameters and case', () => {
    assert.equal(normalizeMediaType(' Application/JSON ; charset=utf-8'), 'application/json')
  })
})

describe('sniffCompression', () => {
  const cases: [string, number[], LayerCompression][] = [
    ['gzip magic', [0x1f, 0x8b, 0x08, 0x00], 'gzip'],
    ['zstd magic', [0x28, 0xb5, 0x2f, 0xfd, 0x04], 'zstd'],
    ['tar header', [0x62, 0x69, 0x6e, 0x2f], 'none'],
    ['too short for gzip', [0x1f], 'none'],
    ['too short for zstd', [0x28, 0xb5, 0x2f], 'none'],
    ['empty', [], 'none'],
  ]
  for (const [name, bytes, expected] of cases) test(name, () => assert.equal(sniffCompression(Uint8Array.from(bytes)), expected))
})
