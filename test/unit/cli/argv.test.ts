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
    ['-a /run/k3s/containerd/containerd.sock images ls', 'images:ls', ['--address', '/run/k3s/containerd/containerd.sock']],
    ['-a=/x images ls', 'images:ls', ['--address=/x']],
    ['-a/x images ls', 'images:ls', ['--address=/x']],
    ['--address /x -n k8s.io tasks kill -a web', 'tasks:kill', ['--address', '/x', '-n', 'k8s.io', '-a', 'web']],
    ['--timeout 10s images ls', 'images:ls', ['--timeout', '10s']],
    ['--connect-timeout=2s --debug=false ns ls', 'namespaces:ls', ['--connect-timeout=2s', '--debug=false']],
    ['images -n foo ls', 'images:ls', ['-n', 'foo']],
    ['snapshots -n x --snapshotter native ls -q', 'snapshots:ls', ['-n', 'x', '--snapshotter', 'native', '-q']],
    ['plugin list -d', 'plugins:ls', ['-d']],
    ['oci spec', 'oci:spec', []],
    ['tasks kill ID -s SIGKILL', 'tasks:kill', ['ID', '-s', 'SIGKILL']],
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
    assert.equal(resolve('ns ls --help').helpFlag, true)
    assert.equal(resolve('ns ls -h').helpFlag, true)
    assert.equal(resolve('help ns ls').help, true)
    assert.equal(resolve('help ns ls').id, 'namespaces:ls')
    assert.equal(resolve('ns create x -- --help').helpFlag, false)
    assert.equal(resolve('ns create x -- --help').help, false)
  })

  const requests: Array<[string, Partial<ReturnType<typeof resolve>>]> = [
    ['', {id: undefined, typed: [], help: false}],
    ['--help', {id: undefined, typed: [], help: true}],
    ['-h', {id: undefined, typed: [], help: true}],
    ['help', {id: undefined, typed: [], help: true}],
    ['-n foo --help images', {id: undefined, typed: ['images'], help: true}],
    ['images', {id: undefined, typed: ['images'], help: false}],
    ['i --help', {id: undefined, typed: ['i'], help: true}],
    ['images help', {id: undefined, typed: ['images'], help: true}],
    ['images help ls', {id: 'images:ls', typed: ['images', 'ls'], help: true}],
    ['images nosuchverb x.tar', {id: undefined, typed: ['images', 'nosuchverb'], help: false}],
    ['-n k8s.io images nosuchverb x.tar', {id: undefined, typed: ['images', 'nosuchverb'], help: false}],
    ['frobnicate ls', {id: undefined, typed: ['frobnicate'], help: false}],
    ['help frobnicate', {id: undefined, typed: ['frobnicate'], help: true}],
    ['-v', {version: true, typed: []}],
    ['-n foo --version', {version: true, typed: []}],
    ['--nmespace foo images rm X', {id: undefined, typed: [], unknownFlag: '--nmespace'}],
    ['-z images ls', {id: undefined, typed: [], unknownFlag: '-z'}],
    ['images --bogus ls', {id: undefined, typed: ['images'], unknownFlag: '--bogus'}],
    ['--nmespace foo images ls --help', {unknownFlag: '--nmespace', help: true}],
    ['images ls --timeout', {id: 'images:ls', rest: ['--timeout']}],
    ['--timeout', {id: undefined, missingValue: '--timeout'}],
  ]
  for (const [line, want] of requests) {
    test(`"${line}" is ${JSON.stringify(want)}`, () => {
      const r = resolve(line)
      for (const [key, value] of Object.entries(want)) assert.deepEqual(r[key as keyof typeof r], value, key)
    })
  }
})
