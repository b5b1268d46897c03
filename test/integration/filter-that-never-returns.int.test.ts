// Regression: a `~=` filter with a backtracking-prone pattern (`(a+)+$`) never returned against a
// 41-character value; and an invalid pattern matched nothing silently. Both through the built CLI.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {sandbox, type Sandbox} from '../helpers/cli.js'

describe('a ~= filter that never returned', () => {
  let sb: Sandbox
  const value = `${'a'.repeat(41)}!`
  before(() => {
    sb = sandbox()
    sb.ok(['namespaces', 'create', 'evil', `r=${value}`])
    sb.ok(['namespaces', 'create', 'plain', `r=${'a'.repeat(41)}`])
  })
  after(() => sb.cleanup())

  for (const command of [
    ['namespaces', 'ls', '-q'],
    ['events', '--no-follow'],
  ]) {
    test(`${command.join(' ')} 'labels.r~=(a+)+$' answers at once (linear time)`, () => {
      const filter = command[0] === 'events' ? 'topic~=(a+)+$' : 'labels.r~=(a+)+$'
      const started = Date.now()
      const result = sb.run([...command, filter])
      assert.equal(result.code, 0, result.stderr)
      // A backtracking engine needs about 2^41 steps here; the bound only catches a hang.
      assert.ok(Date.now() - started < 20_000)
      if (command[0] === 'namespaces') assert.equal(result.stdout, 'plain\n')
    })
  }

  test("an invalid pattern is refused with exit 2 and Go's reason, not an empty list", () => {
    const result = sb.run(['namespaces', 'ls', 'name~=(['])
    assert.equal(result.code, 2)
    assert.equal(result.stdout, '')
    assert.equal(result.stderr, 'ctr: filters: parse error: [name~= >|(|< []: error parsing regexp: missing closing ]: `[`: invalid argument\n')
  })

  test('RE2 syntax that JavaScript lacks works: inline flag groups', () => {
    assert.equal(sb.ok(['namespaces', 'ls', '-q', 'name~=^(?i:EVI)l$']), 'evil\n')
  })
})
