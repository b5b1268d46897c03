// How archive images are named (containerd 1.7's translators and annotations) and the Go JSON the
// importer and exporter write: table-driven, pure.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {goDescriptor, goDockerManifest, goIndex, goString} from '../../../../src/lib/archive/go-json.js'
import {
  defaultImportPrefix,
  familiarName,
  imageNameOf,
  normalizeDockerRef,
  ociReferenceName,
  refTranslator,
  storedImageName,
} from '../../../../src/lib/archive/names.js'
import {errorKind} from '../../../../src/lib/errors/index.js'

describe('archive names', () => {
  test('refTranslator: tag-only refs get the prefix; full refs stay, or are dropped outside a --base-name', () => {
    const add = refTranslator('import-2024-01-02', false)
    const filter = refTranslator('foo/bar', true)
    const table: Array<[string, string, string]> = [
      ['latest', 'import-2024-01-02:latest', 'foo/bar:latest'],
      ['v1.2', 'import-2024-01-02:v1.2', 'foo/bar:v1.2'],
      ['other/repo:1', 'other/repo:1', ''],
      ['foo/bar:2', 'foo/bar:2', 'foo/bar:2'],
      ['foo/bar@sha256:abc', 'foo/bar@sha256:abc', 'foo/bar@sha256:abc'],
      ['foo/barbaz:1', 'foo/barbaz:1', ''], // a longer name is not inside the prefix
      ['foo/bar/sub:1', 'foo/bar/sub:1', 'foo/bar/sub:1'],
    ]
    for (const [ref, added, filtered] of table) {
      assert.equal(add(ref), added, ref)
      assert.equal(filter(ref), filtered, ref)
    }
    assert.equal(refTranslator('', false)('latest'), '')
  })

  test('imageNameOf: io.containerd.image.name as is, else the ref name translated', () => {
    const t = refTranslator('p', false)
    assert.equal(imageNameOf({'io.containerd.image.name': 'docker.io/x/y:1', 'org.opencontainers.image.ref.name': '1'}, t), 'docker.io/x/y:1')
    assert.equal(imageNameOf({'org.opencontainers.image.ref.name': '1'}, t), 'p:1')
    assert.equal(imageNameOf({}, t), '')
    assert.equal(imageNameOf(undefined, t), '')
  })

  test("ociReferenceName: the object of containerd's reference.Parse, or the whole name", () => {
    const table: Array<[string, string]> = [
      ['docker.io/library/busybox:latest', 'latest'],
      ['127.0.0.1:5000/x/y:1', '1'],
      ['localhost:5000/x@sha256:abcd', '@sha256:abcd'],
      ['quay.io/a/b:t@sha256:abcd', 't@sha256:abcd'],
      ['docker.io/library/busybox', ''],
      ['import-2024-01-02:latest', 'import-2024-01-02:latest'], // url.Parse: a port that is not a number
      ['busybox', ''],
    ]
    for (const [name, want] of table) assert.equal(ociReferenceName(name), want, name)
  })

  test('Docker names: RepoTags normalized in (a digest drops the tag), familiar out', () => {
    assert.equal(normalizeDockerRef('busybox:latest'), 'docker.io/library/busybox:latest')
    assert.equal(normalizeDockerRef('example.com/a/b:1'), 'example.com/a/b:1')
    assert.equal(normalizeDockerRef(`x:1@sha256:${'a'.repeat(64)}`), `docker.io/library/x@sha256:${'a'.repeat(64)}`)
    assert.equal(errorKind(catchErr(() => normalizeDockerRef('UPPER:1'))), 'invalid argument')
    assert.equal(familiarName('docker.io/library/busybox:latest'), 'busybox:latest')
    assert.equal(familiarName('docker.io/user/app'), 'user/app:latest')
    assert.equal(familiarName('127.0.0.1:5000/x:1'), '127.0.0.1:5000/x:1')
    assert.equal(storedImageName('import-2024-01-02:latest'), 'docker.io/library/import-2024-01-02:latest')
    assert.equal(storedImageName('Not A Name'), 'Not A Name')
  })

  test('defaultImportPrefix: import-<yyyy-mm-dd> in local time', () => {
    assert.equal(defaultImportPrefix(new Date(2024, 0, 2, 23, 59)), 'import-2024-01-02')
  })
})

describe('Go JSON', () => {
  test('strings escape as encoding/json does', () => {
    assert.equal(goString('a<b>&c\u2028\b\f\n"'), '"a\\u003cb\\u003e\\u0026c\\u2028\\u0008\\u000c\\n\\""')
  })

  test('descriptors: Go field order, sorted annotations, omitted empties', () => {
    assert.equal(
      goDescriptor({
        mediaType: 'm',
        digest: 'sha256:x',
        size: 3,
        annotations: {z: '1', a: '2'},
        platform: {architecture: 'arm64', os: 'linux', variant: 'v8', 'os.features': ['f']},
      }),
      '{"mediaType":"m","digest":"sha256:x","size":3,"annotations":{"a":"2","z":"1"},' +
        '"platform":{"architecture":"arm64","os":"linux","os.features":["f"],"variant":"v8"}}',
    )
    assert.equal(goDescriptor({mediaType: 'm', digest: 'd', size: 0, annotations: {}}), '{"mediaType":"m","digest":"d","size":0}')
  })

  test('the documents containerd writes', () => {
    const d = {mediaType: 'm', digest: 'd', size: 1}
    assert.equal(goIndex([d]), '{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"d","size":1}]}')
    assert.equal(
      goIndex(undefined, 'application/vnd.oci.image.index.v1+json'),
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":null}',
    )
    assert.equal(goDockerManifest('t', d, []), '{"schemaVersion":2,"mediaType":"t","config":{"mediaType":"m","digest":"d","size":1},"layers":[]}')
  })
})

function catchErr(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}
