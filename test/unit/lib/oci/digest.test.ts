// Table tests for digest validation, hashing and chain IDs.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {chainIds, digestAlgorithm, digestHex, isDigest, parseDigest, sha256Digest} from '../../../../src/lib/oci/index.js'

const HEX64 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const HEX128 = 'a'.repeat(128)

describe('parseDigest', () => {
  const accepted: [string, string, string][] = [
    [`sha256:${HEX64}`, 'sha256', HEX64],
    [`sha512:${HEX128}`, 'sha512', HEX128],
    [`sha256:${'0'.repeat(64)}`, 'sha256', '0'.repeat(64)],
  ]
  for (const [input, algorithm, hex] of accepted) {
    test(`accepts ${input.slice(0, 20)}…`, () => {
      assert.equal(parseDigest(input), input)
      assert.equal(digestAlgorithm(input), algorithm)
      assert.equal(digestHex(input), hex)
      assert.equal(isDigest(input), true)
    })
  }

  const rejected: [string, string][] = [
    ['', 'invalid checksum digest format'],
    ['sha256', 'invalid checksum digest format'],
    ['sha256:', 'invalid checksum digest format'],
    [`:${HEX64}`, 'invalid checksum digest format'],
    [HEX64, 'invalid checksum digest format'],
    [`sha256:${HEX64.toUpperCase()}`, 'invalid checksum digest format'],
    [`sha256:${'g'.repeat(64)}`, 'invalid checksum digest format'],
    [`sha256:${HEX64}0`, 'invalid checksum digest length'],
    ['sha256:abc', 'invalid checksum digest length'],
    [`sha512:${HEX64}`, 'invalid checksum digest length'],
    [`sha384:${'a'.repeat(96)}`, 'unsupported digest algorithm'],
    ['md5:d41d8cd98f00b204e9800998ecf8427e', 'unsupported digest algorithm'],
    [`SHA256:${HEX64}`, 'invalid checksum digest format'],
    [`sha256 :${HEX64}`, 'invalid checksum digest format'],
    [`sha256:${HEX64} `, 'invalid checksum digest length'],
    [`toString:${HEX64}`, 'invalid checksum digest format'],
    [`constructor:${HEX64}`, 'unsupported digest algorithm'],
  ]
  for (const [input, reason] of rejected) {
    test(`rejects ${JSON.stringify(input.slice(0, 24))}`, () => {
      assert.equal(isDigest(input), false)
      for (const fn of [parseDigest, digestHex, digestAlgorithm]) {
        assert.throws(
          () => fn(input),
          (err: unknown) => {
            assert.equal(errorKind(err), 'invalid argument')
            assert.equal((err as Error).message, `invalid digest ${JSON.stringify(input)}: ${reason}`)
            return true
          },
        )
      }
    })
  }

  test('isDigest is false for non-strings', () => {
    for (const v of [undefined, null, 42, {}, ['sha256:' + HEX64]]) assert.equal(isDigest(v), false)
  })
})

describe('sha256Digest', () => {
  const cases: [string | Uint8Array, string][] = [
    ['', `sha256:${HEX64}`],
    [new Uint8Array(0), `sha256:${HEX64}`],
    ['hello', 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'],
    [Buffer.from('hello'), 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'],
  ]
  for (const [input, expected] of cases) {
    test(`${typeof input === 'string' ? JSON.stringify(input) : `${input.constructor.name}(${input.length})`}`, () => {
      assert.equal(sha256Digest(input), expected)
    })
  }
})

describe('chainIds', () => {
  const a = sha256Digest('a')
  const b = sha256Digest('b')
  const c = sha256Digest('c')
  const h = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`
  const ab = h(`${a} ${b}`)
  const abc = h(`${ab} ${c}`)
  const cases: [string, string[], string[]][] = [
    ['none', [], []],
    ['one layer: the diff ID itself', [a], [a]],
    ['two layers', [a, b], [a, ab]],
    ['three layers', [a, b, c], [a, ab, abc]],
  ]
  for (const [name, input, expected] of cases) test(name, () => assert.deepEqual(chainIds(input), expected))

  test('rejects a bad diff ID', () => {
    assert.throws(
      () => chainIds([a, 'sha256:nope']),
      (err: unknown) => errorKind(err) === 'invalid argument',
    )
  })
})
