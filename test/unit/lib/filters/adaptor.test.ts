// Table tests for objectAdaptor: nested walking, containerd's checkMap rule for named maps, scalars.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {objectAdaptor} from '../../../../src/lib/filters/index.js'

const image = {
  name: 'docker.io/library/alpine:3.20',
  empty: '',
  size: 4096,
  ok: true,
  big: 10n,
  nothing: null,
  list: ['a'],
  target: {digest: 'sha256:0', mediatype: 'application/vnd.oci.image.index.v1+json', annotations: {'org.opencontainers.image.ref.name': '3.20'}},
  labels: {'a.b.c': 'dotted', 'containerd.io/gc.root': '', n: 7, '': 'blank key'},
  event: {labels: {'x.y': 'deep'}, nested: {labels: {k: 'deeper'}}},
  registry: new Map([['k.v', 'from a Map']]),
}

describe('filters objectAdaptor', () => {
  const table: Array<[path: string[], maps: string[], expected: string | undefined]> = [
    [['name'], [], 'docker.io/library/alpine:3.20'],
    [['target', 'digest'], [], 'sha256:0'],
    [['target', 'missing'], [], undefined],
    [['target'], [], undefined],
    [['missing', 'deeper'], [], undefined],
    [['name', 'deeper'], [], undefined],
    [[], [], undefined],
    [['size'], [], '4096'],
    [['ok'], [], 'true'],
    [['big'], [], '10'],
    [['nothing'], [], undefined],
    [['list'], [], undefined],
    [['list', '0'], [], undefined],
    [['empty'], [], undefined],
    [['constructor'], [], undefined],
    [['__proto__'], [], undefined],
    [['toString'], [], undefined],
    [['labels', 'a', 'b', 'c'], ['labels'], 'dotted'],
    [['labels', 'a.b.c'], ['labels'], 'dotted'],
    [['labels', 'a', 'b'], ['labels'], undefined],
    [['labels', 'a', 'b', 'c'], [], undefined],
    [['labels', 'containerd.io/gc.root'], ['labels'], ''],
    [['labels', 'n'], ['labels'], '7'],
    [['labels', 'constructor'], ['labels'], undefined],
    [['labels'], ['labels'], 'blank key'],
    [['target', 'annotations', 'org', 'opencontainers', 'image', 'ref', 'name'], ['labels', 'annotations'], '3.20'],
    [['event', 'labels', 'x', 'y'], ['labels'], 'deep'],
    [['event', 'nested', 'labels', 'k'], ['labels'], 'deeper'],
    [['registry', 'k', 'v'], ['registry'], 'from a Map'],
    [['registry', 'k', 'v'], [], undefined],
  ]
  for (const [path, maps, expected] of table) {
    test(`${path.join('.') || '(empty path)'} with maps [${maps.join(', ')}] -> ${JSON.stringify(expected)}`, () => {
      assert.equal(objectAdaptor(image, maps).field(path), expected)
    })
  }

  test('a map name whose value is a scalar is just that scalar', () => {
    assert.equal(objectAdaptor({labels: 'x'}, ['labels']).field(['labels']), 'x')
    assert.equal(objectAdaptor({labels: 'x'}, ['labels']).field(['labels', 'a']), undefined)
  })
})
