import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {describe as text, errorKind} from '../../../src/lib/errors/index.js'
import {validateIdentifier} from '../../../src/lib/oci/identifiers.js'
import {formatLabels, parseLabelArgs, validateLabels} from '../../../src/lib/oci/labels.js'

describe('validateIdentifier (containerd pkg/identifiers)', () => {
  const valid = ['default', 'foo', 'Foo', 'a', '0', 'foo.bar', 'foo-bar', 'foo_bar', 'foo.bar-baz_qux', 'a'.repeat(76), 'k8s.io', 'moby', '1-2-3', 'A.B.C']
  for (const id of valid) test(`accepts ${JSON.stringify(id)}`, () => validateIdentifier(id))

  const invalid: Array<[string, string]> = [
    ['', 'identifier must not be empty: invalid argument'],
    ['a'.repeat(77), `identifier "${'a'.repeat(77)}" greater than maximum length (76 characters): invalid argument`],
    ['-foo', 'identifier "-foo" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument'],
    ['foo-', 'identifier "foo-" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument'],
    ['foo..bar', 'identifier "foo..bar" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument'],
    ['foo--bar', 'identifier "foo--bar" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument'],
    ['foo/bar', 'identifier "foo/bar" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument'],
    ['foo bar', 'identifier "foo bar" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument'],
    ['.foo', 'identifier ".foo" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument'],
    ['föö', 'identifier "föö" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument'],
    ['foo\n', 'identifier "foo\\n" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument'],
  ]
  for (const [id, message] of invalid) {
    test(`rejects ${JSON.stringify(id).slice(0, 30)}`, () => {
      assert.throws(
        () => validateIdentifier(id),
        (err) => errorKind(err) === 'invalid argument' && text(err) === message,
      )
    })
  }
})

describe('labels', () => {
  test('parseLabelArgs splits on the first = and reads a bare key as true', () => {
    assert.deepEqual(parseLabelArgs(['a=b', 'c', 'd=e=f', 'g=', 'a=z']), {a: 'z', c: 'true', d: 'e=f', g: ''})
  })
  test('an empty key is refused', () => {
    assert.throws(
      () => parseLabelArgs(['=x']),
      (err) => errorKind(err) === 'invalid argument',
    )
  })
  test('key plus value over 4096 bytes is refused with containerd text', () => {
    validateLabels({k: 'v'.repeat(4095)})
    assert.throws(
      () => validateLabels({k: 'v'.repeat(4096)}),
      (err) => text(err) === 'label key and value length (4097 bytes) greater than maximum size (4096 bytes), key: k: invalid argument',
    )
  })
  test('formatLabels sorts k=v and joins with commas', () => {
    assert.equal(formatLabels({b: '2', a: '1', 'containerd.io/x': 'y'}), 'a=1,b=2,containerd.io/x=y')
    assert.equal(formatLabels({}), '')
  })
})
