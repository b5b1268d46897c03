// mergeEnv (containerd's replaceOrAppendEnvValues) and parseEnvFile.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {envValue, mergeEnv, parseEnvFile} from '../../../../src/lib/runtime/index.js'

describe('mergeEnv', () => {
  const table: Array<[string[], string[], string[]]> = [
    [[], [], []],
    [['A=1'], [], ['A=1']],
    [[], ['A=1'], ['A=1']],
    [['A=1', 'B=2'], ['A=3'], ['A=3', 'B=2']],
    [['A=1'], ['B=2', 'A=3', 'B=4'], ['A=3', 'B=4']],
    [['A=1', 'B=2'], ['A'], ['B=2']],
    [['A=1'], ['A', 'A=5'], ['A=5']],
    [['A=1'], ['Z'], ['A=1']],
    [['A=1', 'A=2'], ['A=3'], ['A=3', 'A=2']],
    [['A='], ['B=x=y'], ['A=', 'B=x=y']],
  ]
  for (const [defaults, overrides, want] of table) {
    test(`${JSON.stringify(defaults)} + ${JSON.stringify(overrides)}`, () => assert.deepEqual(mergeEnv(defaults, overrides), want))
  }
  test('inputs are not modified', () => {
    const d = ['A=1']
    mergeEnv(d, ['A=2'])
    assert.deepEqual(d, ['A=1'])
  })
  test('empty key rejected', () =>
    assert.throws(
      () => mergeEnv([], ['=1']),
      (e) => errorKind(e) === 'invalid argument',
    ))
  test('envValue', () => {
    assert.equal(envValue(['A=1', 'PATH=/x'], 'PATH'), '/x')
    assert.equal(envValue(['A='], 'A'), '')
    assert.equal(envValue(['AB=1'], 'A'), undefined)
  })
})

describe('parseEnvFile', () => {
  const table: Array<[string, string[]]> = [
    ['', []],
    ['A=1\nB=2\n', ['A=1', 'B=2']],
    ['A=1\r\nB=2', ['A=1', 'B=2']],
    ['# comment\n\n   \nA=1\n  # indented comment\n', ['A=1']],
    ['A="quoted"', ['A="quoted"']],
    ['A=  spaced  ', ['A=  spaced  ']],
    ['UNSET_ME', ['UNSET_ME']],
    ['A=#not a comment', ['A=#not a comment']],
  ]
  for (const [text, want] of table) test(JSON.stringify(text), () => assert.deepEqual(parseEnvFile(text), want))
  test('empty key names the line', () =>
    assert.throws(
      () => parseEnvFile('A=1\n=oops'),
      (e: Error) => errorKind(e) === 'invalid argument' && /line 2/.test(e.message),
    ))
})
