// "did you mean": edit distance and which candidate is close enough to suggest.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {closest, editDistance, suggestion} from '../../../src/cli/suggest.js'

describe('editDistance', () => {
  const table: Array<[string, string, number]> = [
    ['', '', 0],
    ['ls', 'ls', 0],
    ['lss', 'ls', 1],
    ['lsit', 'list', 1], // a swap of neighbours is one edit
    ['nmespace', 'namespace', 1],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ]
  for (const [a, b, d] of table) test(`${a} ~ ${b} = ${d}`, () => assert.equal(editDistance(a, b), d))
})

describe('closest', () => {
  const verbs = ['check', 'ls', 'list', 'rm', 'pull', 'tag']
  const table: Array<[string, readonly string[], string | undefined]> = [
    ['lss', verbs, 'ls'],
    ['pul', verbs, 'pull'],
    ['zzz', verbs, undefined],
    ['nosuchverb', verbs, undefined],
    ['--nmespace', ['--namespace', '-n', '--root', '--debug'], '--namespace'],
    ['--names', ['--namespace', '--root'], '--namespace'], // a prefix
    ['--bogus', ['--namespace', '--root', '--debug'], undefined],
    ['-z', ['-q', '-n'], undefined], // one letter: no guess
    ['imags', ['images', 'info', 'i'], 'images'],
    ['frobnicate', ['images', 'namespaces', 'events'], undefined],
  ]
  for (const [input, candidates, want] of table) test(`${input} -> ${want}`, () => assert.equal(closest(input, candidates), want))
  test('the message tail', () => {
    assert.equal(suggestion('lss', verbs, 'see "ctr images --help"', 'images '), '; did you mean "images ls"?')
    assert.equal(suggestion('zzz', verbs, 'see "ctr images --help"', 'images '), '; see "ctr images --help"')
    assert.equal(suggestion('zzz', verbs), '')
  })
})
