// Go's time.ParseDuration for --timeout and --connect-timeout.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {parseGoDuration} from '../../../src/cli/duration.js'
import {errorKind} from '../../../src/lib/errors/index.js'

describe('parseGoDuration', () => {
  const valid: Array<[string, number]> = [
    ['0', 0],
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
    ['100us', 0.1],
    ['100µs', 0.1],
    ['1000000ns', 1],
    ['-2s', -2000],
    ['+3s', 3000],
    ['.5s', 500],
  ]
  for (const [text, ms] of valid) test(`${text} = ${ms} ms`, () => assert.equal(parseGoDuration(text), ms))
  const invalid: Array<[string, string]> = [
    ['', 'time: invalid duration ""'],
    ['abc', 'time: invalid duration "abc"'],
    ['10', 'time: missing unit in duration "10"'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['s', 'time: invalid duration "s"'],
    ['1s2', 'time: missing unit in duration "1s2"'],
  ]
  for (const [text, message] of invalid) {
    test(`${JSON.stringify(text)} is refused`, () => {
      assert.throws(
        () => parseGoDuration(text),
        (err: Error) => err.message === message && errorKind(err) === 'invalid argument',
      )
    })
  }
})
