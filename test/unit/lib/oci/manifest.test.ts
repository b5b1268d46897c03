// Table tests for manifest, index, config and descriptor validation and media type detection.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {errorKind, describe as describeError, type ErrorKind} from '../../../../src/lib/errors/index.js'
import {
  MAX_MANIFEST_BYTES,
  MediaType,
  configPlatform,
  detectManifestMediaType,
  parseDescriptor,
  parseImageConfig,
  parseIndex,
  parseManifest,
  parseManifestDocument,
  sha256Digest,
} from '../../../../src/lib/oci/index.js'

const D1 = sha256Digest('one')
const D2 = sha256Digest('two')
const D3 = sha256Digest('three')

const ociManifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: {mediaType: MediaType.ociConfig, digest: D1, size: 1469},
  layers: [{mediaType: MediaType.ociLayerGzip, digest: D2, size: 3623807}],
  annotations: {'org.opencontainers.image.created': '2024-01-01T00:00:00Z'},
}
const dockerManifest = {
  schemaVersion: 2,
  mediaType: MediaType.dockerManifest,
  config: {mediaType: MediaType.dockerConfig, digest: D1, size: 1469},
  layers: [
    {mediaType: MediaType.dockerLayerGzip, digest: D2, size: 100},
    {mediaType: MediaType.dockerLayerGzip, digest: D3, size: 0},
  ],
}
const ociIndex = {
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    {mediaType: MediaType.ociManifest, digest: D1, size: 10, platform: {architecture: 'amd64', os: 'linux'}},
    {mediaType: MediaType.ociManifest, digest: D2, size: 10, platform: {architecture: 'arm64', os: 'linux', variant: 'v8'}},
    {
      mediaType: MediaType.ociManifest,
      digest: D3,
      size: 10,
      platform: {architecture: 'unknown', os: 'unknown'},
      annotations: {'vnd.docker.reference.type': 'attestation-manifest'},
    },
  ],
}
const dockerList = {
  schemaVersion: 2,
  mediaType: MediaType.dockerManifestList,
  manifests: [{mediaType: MediaType.dockerManifest, digest: D1, size: 10, platform: {architecture: 'amd64', os: 'linux'}}],
}
const bare = <T extends object>(doc: T): Omit<T, 'mediaType'> => {
  const {mediaType: _, ...rest} = doc as T & {mediaType?: string}
  return rest
}
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v))
const withLayers = (layers: unknown): unknown => ({...ociManifest, layers})

function throwsKind(fn: () => unknown, kind: ErrorKind, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.equal(errorKind(err), kind)
    if (typeof message === 'string') assert.equal((err as Error).message, message)
    else assert.match((err as Error).message, message)
    return true
  })
}

const SCHEMA1_MESSAGE = (mt: string): string =>
  `media type "${mt}" is no longer supported since containerd v2.0, please rebuild the image as ` +
  `"application/vnd.docker.distribution.manifest.v2+json" or "application/vnd.oci.image.manifest.v1+json"`

describe('parseManifest accepts', () => {
  const cases: [string, unknown, string | undefined][] = [
    ['OCI manifest', ociManifest, undefined],
    ['OCI manifest with matching hint', ociManifest, MediaType.ociManifest],
    ['Docker manifest', dockerManifest, MediaType.dockerManifest],
    ['OCI manifest without mediaType field', bare(ociManifest), MediaType.ociManifest],
    ['with a generic hint', ociManifest, 'application/json'],
    ['with hint parameters', ociManifest, `${MediaType.ociManifest}; charset=utf-8`],
    ['empty layers', withLayers([]), undefined],
    [
      'artifact with subject and artifactType',
      {...ociManifest, artifactType: 'application/vnd.example+json', subject: {mediaType: MediaType.ociManifest, digest: D3, size: 5}},
      undefined,
    ],
    [
      'layer with urls, annotations, data',
      withLayers([{mediaType: MediaType.ociLayer, digest: D2, size: 2, urls: ['https://x/y'], annotations: {a: 'b'}, data: 'e30='}]),
      undefined,
    ],
    ['extra unknown fields are kept', {...ociManifest, 'x-extra': 1}, undefined],
  ]
  for (const [name, doc, hint] of cases) {
    test(name, () => {
      const m = parseManifest(json(doc), hint)
      assert.deepEqual(m, doc)
      // strings are accepted as well as bytes
      assert.deepEqual(parseManifest(JSON.stringify(doc), hint), doc)
    })
  }
})

describe('parseManifest rejects', () => {
  const cases: [string, Buffer | string, string | undefined, ErrorKind, string | RegExp][] = [
    ['not JSON', '{', undefined, 'invalid argument', /^invalid manifest: not valid JSON: /],
    ['a JSON array', '[]', undefined, 'invalid argument', 'invalid manifest: expected an object, got an array'],
    ['JSON null', 'null', undefined, 'invalid argument', 'invalid manifest: expected an object, got null'],
    [
      'an index body',
      json(ociIndex),
      undefined,
      'invalid argument',
      'invalid manifest: media-type: expected manifest but found index (application/vnd.oci.image.index.v1+json)',
    ],
    [
      'an index hint',
      json(ociManifest),
      MediaType.ociIndex,
      'invalid argument',
      'invalid manifest: media-type: expected manifest but found index (application/vnd.oci.image.index.v1+json)',
    ],
    ['a body with manifests', json({...ociManifest, manifests: []}), undefined, 'invalid argument', /expected manifest but found index/],
    [
      'unsupported body mediaType',
      json({...ociManifest, mediaType: 'application/vnd.example'}),
      undefined,
      'invalid argument',
      'invalid manifest: mediaType: unsupported media type "application/vnd.example"',
    ],
    ['schemaVersion 3', json({...ociManifest, schemaVersion: 3}), undefined, 'invalid argument', 'invalid manifest: schemaVersion: expected 2, got 3'],
    [
      'schemaVersion missing',
      json(bare({...ociManifest, schemaVersion: undefined})),
      undefined,
      'invalid argument',
      /schemaVersion: expected 2, got undefined/,
    ],
    ['schemaVersion "2"', json({...ociManifest, schemaVersion: '2'}), undefined, 'invalid argument', 'invalid manifest: schemaVersion: expected 2, got "2"'],
    ['missing config', json({schemaVersion: 2, layers: []}), undefined, 'invalid argument', 'invalid manifest: config: missing'],
    ['missing layers', json({schemaVersion: 2, config: ociManifest.config}), undefined, 'invalid argument', 'invalid manifest: layers: missing'],
    ['layers not an array', json(withLayers({})), undefined, 'invalid argument', 'invalid manifest: layers: expected an array, got an object'],
    [
      'layer with bad digest',
      json(withLayers([{mediaType: MediaType.ociLayer, digest: 'sha256:abc', size: 1}])),
      undefined,
      'invalid argument',
      'invalid manifest: layers[0].digest: "sha256:abc": invalid checksum digest length',
    ],
    [
      'layer with negative size',
      json(withLayers([{mediaType: MediaType.ociLayer, digest: D2, size: -1}])),
      undefined,
      'invalid argument',
      'invalid manifest: layers[0].size: expected a non-negative integer, got -1',
    ],
    [
      'layer with fractional size',
      json(withLayers([{mediaType: MediaType.ociLayer, digest: D2, size: 1.5}])),
      undefined,
      'invalid argument',
      'invalid manifest: layers[0].size: expected a non-negative integer, got 1.5',
    ],
    [
      'layer with string size',
      json(withLayers([{mediaType: MediaType.ociLayer, digest: D2, size: '1'}])),
      undefined,
      'invalid argument',
      'invalid manifest: layers[0].size: expected a non-negative integer, got "1"',
    ],
    [
      'layer without mediaType',
      json(withLayers([{digest: D2, size: 1}])),
      undefined,
      'invalid argument',
      'invalid manifest: layers[0].mediaType: expected a string, got undefined',
    ],
    ['config not an object', json({...ociManifest, config: 'x'}), undefined, 'invalid argument', 'invalid manifest: config: expected an object, got a string'],
    [
      'annotation value not a string',
      json({...ociManifest, annotations: {a: 1}}),
      undefined,
      'invalid argument',
      'invalid manifest: annotations.a: expected a string, got a number',
    ],
    [
      'layer urls not strings',
      json(withLayers([{mediaType: MediaType.ociLayer, digest: D2, size: 1, urls: [1]}])),
      undefined,
      'invalid argument',
      'invalid manifest: layers[0].urls[0]: expected a string, got a number',
    ],
    [
      'schema1 body',
      json({schemaVersion: 1, name: 'x', tag: 'y', fsLayers: []}),
      undefined,
      'not implemented',
      SCHEMA1_MESSAGE(MediaType.dockerSchema1SignedManifest),
    ],
    ['schema1 hint', json(ociManifest), MediaType.dockerSchema1SignedManifest, 'not implemented', SCHEMA1_MESSAGE(MediaType.dockerSchema1SignedManifest)],
    [
      'schema1 unsigned mediaType in body',
      json({schemaVersion: 1, mediaType: MediaType.dockerSchema1Manifest}),
      undefined,
      'not implemented',
      SCHEMA1_MESSAGE(MediaType.dockerSchema1Manifest),
    ],
    [
      'oversized',
      Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20),
      undefined,
      'invalid argument',
      `invalid manifest: ${MAX_MANIFEST_BYTES + 1} bytes is more than the limit of ${MAX_MANIFEST_BYTES} bytes`,
    ],
  ]
  for (const [name, bytes, hint, kind, message] of cases) test(name, () => throwsKind(() => parseManifest(bytes, hint), kind, message))

  test('schema1 refusal ends with the kind like containerd', () => {
    assert.throws(
      () => parseManifest(json({schemaVersion: 1, fsLayers: []})),
      (err: unknown) => describeError(err).endsWith('.v1+json": not implemented'),
    )
  })

  test('a manifest of exactly the limit is only judged on its content', () => {
    const doc = JSON.stringify(ociManifest)
    const padded = doc + ' '.repeat(MAX_MANIFEST_BYTES - Buffer.byteLength(doc))
    assert.deepEqual(parseManifest(Buffer.from(padded)), ociManifest)
  })
})

describe('parseIndex', () => {
  const accepted: [string, unknown, string | undefined][] = [
    ['OCI index', ociIndex, undefined],
    ['OCI index with hint', ociIndex, MediaType.ociIndex],
    ['Docker manifest list', dockerList, MediaType.dockerManifestList],
    ['index without mediaType field', bare(ociIndex), undefined],
    ['empty manifests', {schemaVersion: 2, manifests: []}, undefined],
    [
      'platform with os.version and os.features',
      {
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MediaType.ociManifest,
            digest: D1,
            size: 1,
            platform: {architecture: 'amd64', os: 'windows', 'os.version': '10.0.17763.1', 'os.features': ['win32k']},
          },
        ],
      },
      undefined,
    ],
  ]
  for (const [name, doc, hint] of accepted) test(`accepts ${name}`, () => assert.deepEqual(parseIndex(json(doc), hint), doc))

  const rejected: [string, Buffer, string | undefined, ErrorKind, string | RegExp][] = [
    [
      'a manifest body',
      json(ociManifest),
      undefined,
      'invalid argument',
      'invalid index: media-type: expected index but found manifest (application/vnd.oci.image.manifest.v1+json)',
    ],
    ['a manifest hint', json(ociIndex), MediaType.dockerManifest, 'invalid argument', /expected index but found manifest \(application\/vnd\.docker/],
    ['a body with layers', json({...ociIndex, layers: []}), undefined, 'invalid argument', /expected index but found manifest/],
    ['missing manifests', json({schemaVersion: 2}), undefined, 'invalid argument', 'invalid index: manifests: missing'],
    [
      'platform without os',
      json({schemaVersion: 2, manifests: [{mediaType: MediaType.ociManifest, digest: D1, size: 1, platform: {architecture: 'amd64'}}]}),
      undefined,
      'invalid argument',
      'invalid index: manifests[0].platform.os: expected a string, got undefined',
    ],
    [
      'platform features not strings',
      json({
        schemaVersion: 2,
        manifests: [{mediaType: MediaType.ociManifest, digest: D1, size: 1, platform: {architecture: 'amd64', os: 'linux', 'os.features': [1]}}],
      }),
      undefined,
      'invalid argument',
      'invalid index: manifests[0].platform.os.features[0]: expected a string, got a number',
    ],
    [
      'bad digest in manifests',
      json({schemaVersion: 2, manifests: [{mediaType: MediaType.ociManifest, digest: 'sha256:XYZ', size: 1}]}),
      undefined,
      'invalid argument',
      'invalid index: manifests[0].digest: "sha256:XYZ": invalid checksum digest length',
    ],
    ['schema1', json({schemaVersion: 1, fsLayers: [{}]}), undefined, 'not implemented', /no longer supported since containerd v2\.0/],
    ['schemaVersion 1 alone', json({schemaVersion: 1, manifests: []}), undefined, 'not implemented', /no longer supported/],
  ]
  for (const [name, bytes, hint, kind, message] of rejected) test(`rejects ${name}`, () => throwsKind(() => parseIndex(bytes, hint), kind, message))
})

describe('detectManifestMediaType', () => {
  const accepted: [string, unknown, string | undefined, string][] = [
    ['Content-Type wins', {}, MediaType.dockerManifest, MediaType.dockerManifest],
    ['Content-Type with parameters', {}, `${MediaType.ociIndex}; charset=utf-8`, MediaType.ociIndex],
    ['body mediaType when Content-Type is missing', dockerList, undefined, MediaType.dockerManifestList],
    ['body mediaType when Content-Type is generic', dockerManifest, 'application/json', MediaType.dockerManifest],
    ['body mediaType when Content-Type is octet-stream', ociIndex, 'application/octet-stream', MediaType.ociIndex],
    ['manifests field without mediaType', bare(ociIndex), undefined, MediaType.ociIndex],
    ['config/layers without mediaType', bare(ociManifest), 'text/plain', MediaType.ociManifest],
    ['layers alone', {schemaVersion: 2, layers: []}, undefined, MediaType.ociManifest],
  ]
  for (const [name, doc, contentType, expected] of accepted) {
    test(name, () => assert.equal(detectManifestMediaType(json(doc), contentType), expected))
  }

  const rejected: [string, unknown, string | undefined, ErrorKind, string | RegExp][] = [
    ['schema1 Content-Type', {}, MediaType.dockerSchema1SignedManifest, 'not implemented', SCHEMA1_MESSAGE(MediaType.dockerSchema1SignedManifest)],
    ['schema1 body', {schemaVersion: 1, fsLayers: []}, undefined, 'not implemented', /no longer supported/],
    ['schema1 body mediaType', {mediaType: MediaType.dockerSchema1Manifest}, 'application/json', 'not implemented', /no longer supported/],
    ['unknown body mediaType', {mediaType: MediaType.ociConfig}, undefined, 'invalid argument', /mediaType: unsupported media type/],
    ['non-string body mediaType', {mediaType: 7}, undefined, 'invalid argument', 'invalid manifest: mediaType: unsupported media type 7'],
    ['neither', {schemaVersion: 2}, undefined, 'invalid argument', /cannot tell a manifest from an index/],
  ]
  for (const [name, doc, contentType, kind, message] of rejected) {
    test(`rejects ${name}`, () => throwsKind(() => detectManifestMediaType(json(doc), contentType), kind, message))
  }
})

describe('parseManifestDocument', () => {
  test('an index', () => {
    const doc = parseManifestDocument(json(ociIndex))
    assert.equal(doc.kind, 'index')
    assert.equal(doc.mediaType, MediaType.ociIndex)
    assert.ok(doc.kind === 'index' && doc.index.manifests.length === 3)
  })
  test('a Docker manifest by Content-Type', () => {
    const doc = parseManifestDocument(json(dockerManifest), MediaType.dockerManifest)
    assert.equal(doc.kind, 'manifest')
    assert.ok(doc.kind === 'manifest' && doc.manifest.layers.length === 2)
  })
  test('a Content-Type that contradicts the body', () => {
    throwsKind(() => parseManifestDocument(json(ociIndex), MediaType.ociManifest), 'invalid argument', /expected manifest but found index/)
  })
})

describe('parseImageConfig', () => {
  const diffIds = [sha256Digest('layer0'), sha256Digest('layer1')]
  const ociConfig = {
    created: '2024-01-01T00:00:00Z',
    architecture: 'arm64',
    variant: 'v8',
    os: 'linux',
    config: {
      User: '1000:1000',
      ExposedPorts: {'80/tcp': {}},
      Env: ['PATH=/usr/bin'],
      Entrypoint: ['/bin/sh'],
      Cmd: ['-c', 'true'],
      Volumes: {'/data': {}},
      WorkingDir: '/',
      Labels: {a: 'b'},
      StopSignal: 'SIGTERM',
      ArgsEscaped: true,
    },
    rootfs: {type: 'layers', diff_ids: diffIds},
    history: [{created: '2024-01-01T00:00:00Z', created_by: 'x', empty_layer: true}, {comment: 'y'}],
  }
  // As Docker writes it: nulls, extra fields.
  const dockerConfig = {
    architecture: 'amd64',
    os: 'linux',
    docker_version: '20.10.7',
    container_config: {Hostname: 'abc'},
    config: {Env: ['PATH=/bin'], Cmd: null, Entrypoint: null, Labels: null, Volumes: null, OnBuild: null, Image: 'sha256:…'},
    rootfs: {type: 'layers', diff_ids: [diffIds[0]]},
    history: null,
  }
  const accepted: [string, unknown][] = [
    ['OCI config', ociConfig],
    ['Docker config with nulls', dockerConfig],
    ['minimal', {architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: []}}],
    ['config null', {architecture: 'amd64', os: 'linux', config: null, rootfs: {type: 'layers', diff_ids: []}}],
  ]
  for (const [name, doc] of accepted) test(`accepts ${name}`, () => assert.deepEqual(parseImageConfig(json(doc)), doc))

  const minimal = {architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: []}}
  const rejected: [string, unknown, string | RegExp][] = [
    ['a string', 'x', 'invalid image config: expected an object, got a string'],
    ['missing os', {...minimal, os: undefined}, 'invalid image config: os: expected a string, got undefined'],
    ['missing architecture', {...minimal, architecture: 1}, 'invalid image config: architecture: expected a string, got a number'],
    ['missing rootfs', {architecture: 'amd64', os: 'linux'}, 'invalid image config: rootfs: expected an object, got undefined'],
    ['rootfs type', {...minimal, rootfs: {type: 'tar', diff_ids: []}}, 'invalid image config: rootfs.type: expected "layers", got "tar"'],
    ['diff_ids missing', {...minimal, rootfs: {type: 'layers'}}, 'invalid image config: rootfs.diff_ids: expected an array, got undefined'],
    [
      'bad diff id',
      {...minimal, rootfs: {type: 'layers', diff_ids: ['sha256:1']}},
      'invalid image config: rootfs.diff_ids[0]: "sha256:1": invalid checksum digest length',
    ],
    ['Env not an array', {...minimal, config: {Env: 'A=B'}}, 'invalid image config: config.Env: expected an array, got a string'],
    ['Cmd with a number', {...minimal, config: {Cmd: ['a', 1]}}, 'invalid image config: config.Cmd[1]: expected a string, got a number'],
    ['Labels value not a string', {...minimal, config: {Labels: {a: 1}}}, 'invalid image config: config.Labels.a: expected a string, got a number'],
    ['User not a string', {...minimal, config: {User: 0}}, 'invalid image config: config.User: expected a string, got a number'],
    ['ArgsEscaped not a boolean', {...minimal, config: {ArgsEscaped: 'yes'}}, 'invalid image config: config.ArgsEscaped: expected a boolean, got a string'],
    ['history not an array', {...minimal, history: {}}, 'invalid image config: history: expected an array, got an object'],
    ['history entry field', {...minimal, history: [{created_by: 1}]}, 'invalid image config: history[0].created_by: expected a string, got a number'],
    ['history empty_layer', {...minimal, history: [{empty_layer: 'true'}]}, 'invalid image config: history[0].empty_layer: expected a boolean, got a string'],
  ]
  for (const [name, doc, message] of rejected) test(`rejects ${name}`, () => throwsKind(() => parseImageConfig(json(doc)), 'invalid argument', message))

  test('configPlatform reads os, architecture and variant', () => {
    assert.deepEqual(configPlatform(parseImageConfig(json(ociConfig))), {os: 'linux', architecture: 'arm64', variant: 'v8'})
    assert.deepEqual(configPlatform({os: 'windows', architecture: 'amd64', 'os.version': '10.0.1'}), {
      os: 'windows',
      architecture: 'amd64',
      osVersion: '10.0.1',
    })
  })
})

describe('parseDescriptor', () => {
  test('accepts a descriptor and keeps unknown fields', () => {
    const d = {mediaType: MediaType.ociManifest, digest: D1, size: 0, 'x-extra': true}
    assert.deepEqual(parseDescriptor(d), d)
  })
  const rejected: [string, unknown, string][] = [
    ['null', null, 'invalid descriptor: expected an object, got null'],
    ['missing digest', {mediaType: 'x', size: 1}, 'invalid descriptor: digest: expected a string, got undefined'],
    [
      'unsupported algorithm',
      {mediaType: 'x', size: 1, digest: `sha384:${'a'.repeat(96)}`},
      `invalid descriptor: digest: "sha384:${'a'.repeat(96)}": unsupported digest algorithm`,
    ],
    ['unsafe size', {mediaType: 'x', size: 2 ** 60, digest: D1}, `invalid descriptor: size: expected a non-negative integer, got ${2 ** 60}`],
    ['artifactType', {mediaType: 'x', size: 1, digest: D1, artifactType: 1}, 'invalid descriptor: artifactType: expected a string, got a number'],
  ]
  for (const [name, value, message] of rejected) test(`rejects ${name}`, () => throwsKind(() => parseDescriptor(value), 'invalid argument', message))
})
