// Table tests for unquoting filter literals with Go's escape rules and the `/` and `|` delimiters.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {unquote} from '../../../../src/lib/filters/quote.js'

describe('filters unquote', () => {
  const table: Array<[literal: string, expected: string | undefined]> = [
    ['""', ''],
    ['"abc"', 'abc'],
    ['"a\\"b"', 'a"b'],
    ['"a\\\\b"', 'a\\b'],
    ['"\\a\\b\\f\\n\\r\\t\\v"', '\x07\b\f\n\r\t\v'],
    ['"\\x41\\u00e9\\U0001F600"', 'Aé😀'],
    ['"\\101\\000"', 'A\x00'],
    ['"\\xc3\\xa9"', 'é'],
    ['"牛"', '牛'],
    ['"\\ud800"', '\ufffd'],
    ['/a\\/b/', 'a/b'],
    ['|a\\|b|', 'a|b'],
    ['|a/b|', 'a/b'],
    ['/a|b/', 'a|b'],
    ['/[abc]{0,1}"\\//', '[abc]{0,1}"/'],
    ['"\\/"', undefined],
    ['/\\"/', undefined],
    ['"\\777"', undefined],
    ['"\\18"', undefined],
    ['"\\UFFFFFFFF"', undefined],
    ['"\\x4"', undefined],
    ['"\\q"', undefined],
    ['"a"b"', undefined],
    ['"ab', undefined],
    ['"', undefined],
    ['"a\nb"', undefined],
    ['`a`', undefined],
    ["'a'", undefined],
  ]
  for (const [literal, expected] of table) {
    test(`${JSON.stringify(literal)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(unquote(literal), expected)
    })
  }
})
