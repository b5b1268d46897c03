// Image records: create/update/delete with one `/images/*` event each, labels, containerd's
// validation and error texts, implicit namespace creation.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {describe as text, errorKind} from '../../../../src/lib/errors/index.js'
import {eventTriples, type TempStore, tempStore, testBlob} from '../../../helpers/store.js'

const manifest = {mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: testBlob('m').digest, size: 500}
const index = {
  mediaType: 'application/vnd.oci.image.index.v1+json',
  digest: testBlob('i').digest,
  size: 900,
  annotations: {'org.opencontainers.image.ref.name': 'latest'},
}

describe('ImageStore', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('put creates (namespace implicitly too), then updates with target and labels replaced', () => {
    const images = t.store.images
    const before = eventTriples(t.store).length
    const first = images.put('img', {name: 'docker.io/library/redis:latest', target: manifest, labels: {b: '2', a: '1', gone: ''}})
    assert.equal(first.created, true)
    assert.deepEqual(first.image.target, manifest)
    assert.deepEqual(Object.keys(first.image.labels), ['a', 'b'])
    const second = images.put('img', {name: 'docker.io/library/redis:latest', target: index})
    assert.equal(second.created, false)
    assert.deepEqual(second.image.target, index)
    assert.deepEqual(second.image.labels, {})
    assert.equal(second.image.createdAt, first.image.createdAt)
    assert.ok(second.image.updatedAt >= first.image.updatedAt)
    assert.deepEqual(eventTriples(t.store).slice(before), [
      ['img', '/namespaces/create', {name: 'img'}],
      ['img', '/images/create', {name: 'docker.io/library/redis:latest', labels: {a: '1', b: '2'}}],
      ['img', '/images/update', {name: 'docker.io/library/redis:latest'}],
    ])
  })

  test('get, list ordered by name, per namespace', () => {
    const images = t.store.images
    images.put('img', {name: 'docker.io/library/alpine:3.20', target: manifest})
    images.put('other', {name: 'docker.io/library/zzz:1', target: manifest})
    assert.deepEqual(
      images.list('img').map((i) => i.name),
      ['docker.io/library/alpine:3.20', 'docker.io/library/redis:latest'],
    )
    assert.equal(images.get('img', 'docker.io/library/alpine:3.20').target.digest, manifest.digest)
    assert.equal(images.get('img', 'docker.io/library/alpine:3.20').target.annotations, undefined)
    assert.throws(
      () => images.get('img', 'docker.io/library/zzz:1'),
      (err) => errorKind(err) === 'not found' && text(err) === 'image "docker.io/library/zzz:1": not found',
    )
    assert.deepEqual(images.list('nobody'), [])
  })

  test('create refuses an existing name, with containerd text and no event', () => {
    const before = eventTriples(t.store).length
    assert.throws(
      () => t.store.images.create('img', {name: 'docker.io/library/alpine:3.20', target: index}),
      (err) => errorKind(err) === 'already exists' && text(err) === 'image "docker.io/library/alpine:3.20": already exists',
    )
    assert.equal(eventTriples(t.store).length, before)
    const made = t.store.images.create('img', {name: 'tagged:v1', target: index, labels: {x: 'y'}})
    assert.deepEqual(made.labels, {x: 'y'})
    assert.deepEqual(eventTriples(t.store).at(-1), ['img', '/images/create', {name: 'tagged:v1', labels: {x: 'y'}}])
  })

  test('setLabels merges (empty removes) or replaces, one /images/update each', () => {
    const before = eventTriples(t.store).length
    assert.deepEqual(t.store.images.setLabels('img', 'tagged:v1', {a: '1', x: ''}).labels, {a: '1'})
    assert.deepEqual(t.store.images.setLabels('img', 'tagged:v1', {z: '2'}, {replaceAll: true}).labels, {z: '2'})
    assert.deepEqual(eventTriples(t.store).slice(before), [
      ['img', '/images/update', {name: 'tagged:v1', labels: {a: '1'}}],
      ['img', '/images/update', {name: 'tagged:v1', labels: {z: '2'}}],
    ])
    assert.throws(
      () => t.store.images.setLabels('img', 'missing:1', {a: 'b'}),
      (err) => errorKind(err) === 'not found',
    )
  })

  test('delete: one /images/delete event; a missing image is NotFound', () => {
    const before = eventTriples(t.store).length
    t.store.images.delete('img', 'tagged:v1')
    assert.deepEqual(eventTriples(t.store).slice(before), [['img', '/images/delete', {name: 'tagged:v1'}]])
    assert.throws(
      () => t.store.images.delete('img', 'tagged:v1'),
      (err) => errorKind(err) === 'not found' && text(err) === 'image "tagged:v1": not found',
    )
  })

  test('validation as containerd validateImage', () => {
    const put =
      (record: Parameters<typeof t.store.images.put>[1], ns = 'img') =>
      () =>
        t.store.images.put(ns, record)
    const cases: Array<[() => unknown, string]> = [
      [put({name: '', target: manifest}), 'image name must not be empty: invalid argument'],
      [put({name: 'x', target: {...manifest, digest: 'sha256:12'}}), 'Target.Digest "sha256:12" invalid: invalid checksum digest length: invalid argument'],
      [put({name: 'x', target: {...manifest, size: 0}}), 'Target.Size must be greater than zero: invalid argument'],
      [put({name: 'x', target: {...manifest, mediaType: ''}}), 'Target.MediaType must be set: invalid argument'],
    ]
    for (const [call, message] of cases) assert.throws(call, (err) => errorKind(err) === 'invalid argument' && text(err) === message)
    assert.throws(put({name: 'x', target: manifest}, 'bad ns'), (err) => errorKind(err) === 'invalid argument')
  })
})
