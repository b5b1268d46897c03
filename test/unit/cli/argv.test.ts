import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {resolveArgv} from '../../../src/cli/argv.js'
import {COMMAND_TABLE} from '../../../src/commands/registry.js'

const resolve = (line: string) => resolveArgv(line === '' ? [] : line.split(' '), COMMAND_TABLE)

describe('resolveArgv', () => {
  const table: Array<[string, string | undefined, string[]]> = [
    ['namespaces ls', 'namespaces:ls', []],
    ['ns ls', 'namespaces:ls', []],
    ['namespace list', 'namespaces:ls', []],
    ['ns list -q', 'namespaces:ls', ['-q']],
    ['-n foo namespaces ls', 'namespaces:ls', ['-n', 'foo']],
    ['--namespace foo ns ls -q', 'namespaces:ls', ['--namespace', 'foo', '-q']],
    ['--namespace=foo ns ls', 'namespaces:ls', ['--namespace=foo']],
    ['-nfoo ns ls', 'namespaces:ls', ['-nfoo']],
    ['--root /r --state /s --berth-config /c --debug ns rm a', 'namespaces:rm', ['--root', '/r', '--state', '/s', '--berth-config', '/c', '--debug', 'a']],
    // ctr's `run --config` is the OCI spec file: never hoisted as a global flag.
    ['run --config spec.json c1', 'run', ['--config', 'spec.json', 'c1']],
    ['--berth-config=/c run -c spec.json c1', 'run', ['--berth-config=/c', '-c', 'spec.json', 'c1']],
    ['ns ls -n foo', 'namespaces:ls', ['-n', 'foo']],
    ['ns remove a b', 'namespaces:rm', ['a', 'b']],
    ['ns delete a', 'namespaces:rm', ['a']],
    ['ns del a', 'namespaces:rm', ['a']],
    ['ns rm a', 'namespaces:rm', ['a']],
    ['ns c foo x=y', 'namespaces:create', ['foo', 'x=y']],
    ['namespaces create foo', 'namespaces:create', ['foo']],
    ['namespaces label foo a=', 'namespaces:label', ['foo', 'a=']],
    ['events', 'events', []],
    ['event topic==x', 'events', ['topic==x']],
    ['-n bb events topic~=/tasks/.+,namespace==bb', 'events', ['-n', 'bb', 'topic~=/tasks/.+,namespace==bb']],
    ['snapshots --snapshotter native ls', 'snapshots:ls', ['--snapshotter', 'native']],
    ['snapshot --snapshotter=native m /t key', 'snapshots:mounts', ['--snapshotter=native', '/t', 'key']],
    ['-n x snapshots ls --snapshotter native', 'snapshots:ls', ['-n', 'x', '--snapshotter', 'native']],
    ['snapshots mount /t key', 'snapshots:mounts', ['/t', 'key']],
    ['version', 'version', []],
    ['info', 'info', []],
    ['ns', undefined, []],
    ['nope', undefined, []],
    ['', undefined, []],
  ]
  for (const [line, id, rest] of table) {
    test(`"${line}" -> ${id}`, () => {
      const r = resolve(line)
      assert.equal(r.id, id)
      assert.deepEqual(r.rest, rest)
      assert.equal(r.help, false)
    })
  }
  test('help is detected before -- only', () => {
    assert.equal(resolve('ns ls --help').help, true)
    assert.equal(resolve('ns ls -h').help, true)
    assert.equal(resolve('help ns ls').help, true)
    assert.equal(resolve('help ns ls').id, 'namespaces:ls')
    assert.equal(resolve('ns create x -- --help').help, false)
  })
})
