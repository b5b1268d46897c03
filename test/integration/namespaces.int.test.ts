// `ctr namespaces` end to end through the built CLI: formats, errors, exit codes and events.
import assert from 'node:assert/strict'
import {statSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {type Sandbox, sandbox} from '../helpers/cli.js'

describe('ctr namespaces', () => {
  let sb: Sandbox
  before(() => (sb = sandbox()))
  after(() => sb.cleanup())

  test('the seed walk-through: create with a label, list, default appears on first write', () => {
    assert.equal(sb.ok(['namespaces', 'create', 'foo', 'mylabel=bar']), '')
    assert.equal(sb.ok(['namespaces', 'ls']), 'NAME LABELS      \nfoo  mylabel=bar \n')
    sb.ok(['namespaces', 'label', 'default', 'x=1']) // a write into `default` creates it
    assert.equal(sb.ok(['namespaces', 'ls']), 'NAME    LABELS      \ndefault x=1         \nfoo     mylabel=bar \n')
    assert.equal(sb.ok(['ns', 'rm', 'foo']), 'foo\n')
    assert.equal(sb.ok(['ns', 'ls', '-q']), 'default\n')
  })

  test('store files are created with the documented modes', () => {
    assert.equal(statSync(sb.root).mode & 0o777, 0o700)
    assert.equal(statSync(sb.state).mode & 0o777, 0o700)
    assert.equal(statSync(join(sb.root, 'meta.db')).mode & 0o777, 0o600)
  })

  test('creating an existing namespace: exit 4 and containerd text', () => {
    sb.ok(['ns', 'create', 'dup'])
    const r = sb.run(['ns', 'create', 'dup'])
    assert.equal(r.code, 4)
    assert.equal(r.stderr, 'ctr: namespace "dup": already exists\n')
    assert.equal(r.stdout, '')
  })

  test('invalid names: exit 2 with the identifier rule', () => {
    const r = sb.run(['ns', 'create', 'Not_Valid-'])
    assert.equal(r.code, 2)
    assert.equal(r.stderr, 'ctr: identifier "Not_Valid-" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument\n')
    const long = sb.run(['ns', 'create', 'a'.repeat(77)])
    assert.equal(long.code, 2)
    assert.match(long.stderr, /greater than maximum length \(76 characters\): invalid argument\n$/)
  })

  test('a missing name is a usage error', () => {
    const r = sb.run(['ns', 'create'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /^ctr: .*name/)
  })

  test('labels: sorted, bare key means true, empty value clears', () => {
    sb.ok(['ns', 'create', 'lab', 'z=26', 'a=1', 'flag'])
    assert.match(sb.ok(['ns', 'ls']), /^lab +a=1,flag=true,z=26 $/m)
    sb.ok(['ns', 'label', 'lab', 'z=', 'm=13'])
    assert.match(sb.ok(['ns', 'ls']), /^lab +a=1,flag=true,m=13 $/m)
    sb.ok(['ns', 'label', 'lab']) // no labels: nothing to do
    const big = sb.run(['ns', 'label', 'lab', `k=${'v'.repeat(4096)}`])
    assert.equal(big.code, 2)
    assert.match(big.stderr, /greater than maximum size \(4096 bytes\), key: k: invalid argument/)
  })

  test('rm prints each name, also a missing one, and exits 0 (as ctr)', () => {
    sb.ok(['ns', 'create', 'r1'])
    sb.ok(['ns', 'create', 'r2'])
    assert.equal(sb.ok(['ns', 'remove', 'r1', 'never-was', 'r2']), 'r1\nnever-was\nr2\n')
    assert.doesNotMatch(sb.ok(['ns', 'ls', '-q']), /^r[12]$/m)
  })

  test('rm aliases: remove, delete, del', () => {
    for (const verb of ['remove', 'delete', 'del', 'rm']) {
      sb.ok(['ns', 'create', `alias-${verb}`])
      assert.equal(sb.ok(['namespace', verb, `alias-${verb}`]), `alias-${verb}\n`)
    }
  })

  test('ls filters on name and labels, OR across arguments, --format json', () => {
    sb.ok(['ns', 'create', 'team-a', 'team=a', 'containerd.io/defaults/runtime=runc'])
    sb.ok(['ns', 'create', 'team-b', 'team=b'])
    assert.equal(sb.ok(['ns', 'ls', '-q', 'labels.team==a']), 'team-a\n')
    assert.equal(sb.ok(['ns', 'ls', '-q', 'labels.team==a', 'name==team-b']), 'team-a\nteam-b\n')
    assert.equal(sb.ok(['ns', 'ls', '-q', 'labels."containerd.io/defaults/runtime"']), 'team-a\n')
    assert.equal(sb.ok(['ns', 'ls', '-q', 'name~=^team-,labels.team!=a']), 'team-b\n')
    const json = JSON.parse(sb.ok(['ns', 'ls', '--format', 'json', 'name~=^team-']))
    assert.deepEqual(json, [
      {name: 'team-a', labels: {'containerd.io/defaults/runtime': 'runc', team: 'a'}},
      {name: 'team-b', labels: {team: 'b'}},
    ])
    const bad = sb.run(['ns', 'ls', 'labels.ns/key==value'])
    assert.equal(bad.code, 2)
    assert.equal(bad.stderr, 'ctr: filters: parse error: [labels.ns >|/|< key==value]: quoted literal not terminated: invalid argument\n')
  })

  test('every change is one event with ctr payloads', () => {
    const s = sandbox()
    try {
      s.ok(['ns', 'create', 'ev', 'b=2', 'a=1'])
      s.ok(['ns', 'label', 'ev', 'a=', 'c=3'])
      s.ok(['ns', 'rm', 'ev'])
      const lines = s.ok(['events', '--no-follow']).trim().split('\n')
      const parsed = lines.map((l) => {
        const m = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})? \+0000 UTC (\S+) (\S+) (.*)$/.exec(l)
        assert.ok(m, `line format: ${l}`)
        return [m[1], m[2], m[3]]
      })
      assert.deepEqual(parsed, [
        ['ev', '/namespaces/create', '{"name":"ev","labels":{"a":"1","b":"2"}}'],
        ['ev', '/namespaces/update', '{"name":"ev","labels":{"b":"2","c":"3"}}'],
        ['ev', '/namespaces/delete', '{"name":"ev"}'],
      ])
    } finally {
      s.cleanup()
    }
  })

  test('rm --force removes a namespace (and what it owns)', () => {
    sb.ok(['ns', 'create', 'forced'])
    assert.equal(sb.ok(['ns', 'rm', '--force', 'forced']), 'forced\n')
    assert.doesNotMatch(sb.ok(['ns', 'ls', '-q']), /^forced$/m)
  })
})
