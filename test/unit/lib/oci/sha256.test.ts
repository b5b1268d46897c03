// The plain-JS SHA-256 against node:crypto, at every length around the padding's block boundaries.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {sha256Hex} from '../../../../src/lib/oci/sha256.js'

const reference = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex')

describe('sha256Hex', () => {
  test('FIPS 180-4 examples', () => {
    assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    assert.equal(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'), '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1')
  })

  test('every length from 0 to 300 bytes, as bytes and as text', () => {
    const bytes = Uint8Array.from({length: 300}, (_, i) => (i * 151 + 7) & 0xff)
    for (let n = 0; n <= 300; n++) {
      assert.equal(sha256Hex(bytes.subarray(0, n)), reference(bytes.subarray(0, n)), `${n} bytes`)
      const text = 'é'.repeat(n % 7) + 'x'.repeat(n)
      assert.equal(sha256Hex(text), reference(text), `text of ${n}`)
    }
  })

  test('a chain ID input', () => {
    const text = `sha256:${'a'.repeat(64)} sha256:${'b'.repeat(64)}`
    assert.equal(sha256Hex(text), reference(text))
  })
})
