// Random bytes from /dev/urandom and the FNV-1a path hash (no node:crypto at start-up).
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {fnv1a32, randomBytes} from '../../../../src/lib/sys/random.js'

describe('randomBytes', () => {
  test('gives the length asked for, across pool refills, and never the same bytes twice', () => {
    const seen = new Set<string>()
    for (const n of [1, 6, 8, 12, 255, 256, 1000, 3, 300]) {
      for (let i = 0; i < 20; i++) {
        const b = randomBytes(n)
        assert.equal(b.length, n)
        if (n >= 6) {
          assert.equal(seen.has(b.toString('hex')), false)
          seen.add(b.toString('hex'))
        }
      }
    }
  })

  test('returned buffers are independent of the pool', () => {
    const a = randomBytes(8)
    const copy = Buffer.from(a)
    randomBytes(512)
    assert.deepEqual(a, copy)
  })
})

describe('fnv1a32', () => {
  test('the published FNV-1a 32-bit test vectors', () => {
    assert.equal(fnv1a32(''), '811c9dc5')
    assert.equal(fnv1a32('a'), 'e40c292c')
    assert.equal(fnv1a32('foobar'), 'bf9cf968')
  })
})
