// Table tests for the Go RE2 patterns of the `~=` operator: Go's syntax and semantics, in linear time.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {compileRegexp} from '../../../../src/lib/filters/regexp.js'

describe('filters regexp: RE2 semantics', () => {
  const table: Array<[pattern: string, input: string, matches: boolean]> = [
    ['[abc]+', 'too complex, yo', true],
    ['', 'anything', true],
    ['^/tasks/', '/tasks/exit', true],
    ['/tasks/.+', '/tasks/exit', true],
    ['/tasks/.+', '/tasks/', false],
    ['a|b', 'b', true],
    ['(?i)FOO', 'xfoo', true],
    ['(?i)^foo$', 'FOO', true],
    ['(?i)(?s)^a.b$', 'A\nB', true],
    ['(?is)^a.b$', 'A\nB', true],
    ['(?i-s)^a.b$', 'A\nB', false],
    ['a.b', 'a\nb', false],
    ['a.b', 'a\rb', true],
    ['a.b', 'a\u2028b', true],
    ['^.$', '😀', true],
    ['(?m)^b$', 'a\nb\nc', true],
    ['^b$', 'a\nb', false],
    ['a$', 'a\n', false],
    ['\\Aab\\z', 'ab', true],
    ['\\Aab\\z', 'ab\n', false],
    ['(?m)\\Ab', 'a\nb', false],
    ['\\Qa.b\\E', 'a.b', true],
    ['\\Qa.b\\E', 'axb', false],
    ['^\\Q[x]*', '[x]*', true],
    ['[[:alpha:]]+[[:digit:]]', 'ab1', true],
    ['^[[:^digit:]]+$', 'abc', true],
    ['^[[:^digit:]]+$', 'a1', false],
    ['^[^[:^digit:]]+$', '12', true],
    ['^[^[:^digit:]]+$', '1a', false],
    ['\\pL', 'é', true],
    ['\\p{Greek}', 'α', true],
    ['\\p{Lu}', 'a', false],
    ['\\PL', 'a', false],
    ['\\p{^L}', '1', true],
    ['[\\p{Nd}x]', 'x', true],
    ['\\s', '\t', true],
    ['\\s', '\u00a0', false],
    ['\\s', '\v', false],
    ['[\\S]', ' ', false],
    ['[\\S]', 'x', true],
    ['[^\\S]', ' ', true],
    ['[^\\S]', 'x', false],
    ['^[^\\S]*$', '  ', true],
    ['\\d\\w', '1_', true],
    ['a{2}', 'aa', true],
    ['a{2}', 'a', false],
    ['a{1,}b', 'aab', true],
    ['a{,2}', 'a{,2}', true],
    ['x{', 'x{', true],
    ['a}', 'a}', true],
    [']', ']', true],
    ['[]a]', ']', true],
    ['[^]a]', 'b', true],
    ['[^]a]', ']', false],
    ['[a-]', '-', true],
    ['[\\d-z]', '-', true],
    ['[(){}|/]', '|', true],
    ['\\x41', 'A', true],
    ['\\x{1F600}', '😀', true],
    ['\\101', 'A', true],
    ['\\0', '\x00', true],
    ['\\a\\f\\t\\n\\r\\v', '\x07\f\t\n\r\v', true],
    ['\\.', '.', true],
    ['\\.', 'x', false],
    ['\\#\\_\\ \\-', '#_ -', true],
    ['[\\.\\-]', '-', true],
    ['(?P<name>a)b', 'ab', true],
    ['(?<n>a)', 'a', true],
    ['(?:ab)+$', 'abab', true],
    ['\\bfoo\\b', 'a foo b', true],
    ['\\bfoo\\b', 'afoob', false],
    ['a*?b', 'aab', true],
    ['^sha256:[a-f0-9]{64}$', `sha256:${'a'.repeat(64)}`, true],
    // flags inside a pattern and non-greedy mode: valid RE2 that a translation to JavaScript could not express
    ['a(?i)b', 'aB', true],
    ['a(?i)b', 'AB', false],
    ['(?i:a)b', 'Ab', true],
    ['(?i:a)b', 'AB', false],
    ['(?U)a+', 'a', true],
  ]
  for (const [pattern, input, matches] of table) {
    test(`${JSON.stringify(pattern)} ${matches ? 'matches' : 'does not match'} ${JSON.stringify(input)}`, () => {
      const re = compileRegexp(pattern)
      assert.ok(!('error' in re), `compiles: ${'error' in re ? re.error : ''}`)
      assert.equal(re.test(input), matches)
    })
  }
})

describe('filters regexp: rejected like Go, with its reason', () => {
  const rejected = [
    '[',
    '(',
    ')',
    'a**',
    'x{2}{3}',
    '*a',
    '\\',
    '\\1',
    '(a)\\1',
    '\\8',
    '(?=a)',
    '(?!a)',
    '(?<=a)b',
    '(?<!a)b',
    '\\k<n>',
    '\\e',
    '\\Z',
    '\\u0041',
    '[\\b]',
    '[z-a]',
    '[[:foo:]]',
    'a{1001}',
    '\\p{NoSuchScript}',
  ]
  for (const pattern of rejected) {
    test(JSON.stringify(pattern), () => {
      const re = compileRegexp(pattern)
      assert.ok('error' in re, 'refused')
      assert.match(re.error, /^error parsing regexp: /)
    })
  }
  test("the reason is Go's own text", () => {
    assert.deepEqual(compileRegexp('(['), {error: 'error parsing regexp: missing closing ]: `[`'})
  })
})

describe('filters regexp: linear time (regression: a ~= filter could hang forever)', () => {
  // With a backtracking engine each of these takes time exponential in the input's length: at 41
  // characters, longer than any test would wait. RE2 answers in microseconds.
  const evil: Array<[pattern: string, input: string]> = [
    ['(a+)+$', `${'a'.repeat(41)}!`],
    ['^(a|a)*$', `${'a'.repeat(41)}!`],
    ['(x+x+)+y', 'x'.repeat(5000)],
    ['^(\\w+\\s?)*$', `${'word '.repeat(40)}!`],
  ]
  for (const [pattern, input] of evil) {
    test(`${JSON.stringify(pattern)} against ${input.length} characters returns`, () => {
      const re = compileRegexp(pattern)
      assert.ok(!('error' in re))
      assert.equal(re.test(input), false)
    })
  }
})
