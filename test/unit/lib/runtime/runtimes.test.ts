// Runtime names resolved as containerd 1.6/1.7 resolves them, and the runtime options a container records.
import assert from 'node:assert/strict'
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {RUNC_RUNTIMES, isRuncRuntime, resolveRuntime, runtimeRecord, shimBinaryName} from '../../../../src/lib/runtime/index.js'

const fails = (kind: string, fn: () => unknown, message: string | RegExp) =>
  assert.throws(fn, (e: Error) => {
    assert.equal(errorKind(e), kind, e.message)
    if (typeof message === 'string') assert.equal(e.message, message)
    else assert.match(e.message, message)
    return true
  })

describe('shimBinaryName (containerd BinaryName)', () => {
  const table: Array<[string, string]> = [
    ['io.containerd.runc.v2', 'containerd-shim-runc-v2'],
    ['io.containerd.kata.v2', 'containerd-shim-kata-v2'],
    ['io.containerd.runsc.v1', 'containerd-shim-runsc-v1'],
    ['a.b', 'containerd-shim-a-b'],
    ['runc', ''],
    ['.runc.v2', ''],
  ]
  for (const [name, want] of table) test(`${name} -> ${JSON.stringify(want)}`, () => assert.equal(shimBinaryName(name), want))
})

describe('resolveRuntime', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-runtimes-'))
  after(() => rmSync(dir, {recursive: true, force: true}))
  test("containerd 1.6/1.7's runc names run the configured runc, or --runc-binary", () => {
    assert.deepEqual(RUNC_RUNTIMES, ['io.containerd.runc.v2', 'io.containerd.runc.v1', 'io.containerd.runtime.v1.linux'])
    for (const name of RUNC_RUNTIMES)
      assert.deepEqual(resolveRuntime({name}, '/usr/sbin/runc'), {binary: '/usr/sbin/runc', root: undefined, noPivot: false, systemdCgroup: false})
    const r = resolveRuntime({name: 'io.containerd.runc.v2', options: {binary_name: '/opt/crun', root: '/run/mine', no_pivot_root: true}}, '/usr/sbin/runc')
    assert.deepEqual(r, {binary: '/opt/crun', root: '/run/mine', noPivot: true, systemdCgroup: false})
  })
  test('an absolute path is the runc-compatible binary itself', () => {
    const bin = join(dir, 'my-runc')
    writeFileSync(bin, '#!/bin/sh\n')
    chmodSync(bin, 0o755)
    assert.equal(resolveRuntime({name: bin}, '/usr/sbin/runc').binary, bin)
    assert.ok(isRuncRuntime(bin))
    const plain = join(dir, 'not-exec')
    writeFileSync(plain, '')
    fails('failed precondition', () => resolveRuntime({name: plain}, '/usr/sbin/runc'), /not an executable file/)
    fails('failed precondition', () => resolveRuntime({name: dir}, '/usr/sbin/runc'), /not an executable file/)
  })
  test("containerd's errors, class unknown in the text", () => {
    fails(
      'failed precondition',
      () => resolveRuntime({name: '/no/such/runtime'}, 'runc'),
      'failed to start shim: failed to resolve runtime path: invalid custom binary path: stat /no/such/runtime: no such file or directory: unknown',
    )
    fails(
      'failed precondition',
      () => resolveRuntime({name: 'io.containerd.kata.v2'}, 'runc'),
      'failed to start shim: failed to resolve runtime path: runtime "io.containerd.kata.v2" binary not installed "containerd-shim-kata-v2": file ' +
        'does not exist: unknown',
    )
    const invalid = 'invalid runtime name %s, correct runtime name should be either format like `io.containerd.runc.v1` or a full path to the binary'
    for (const name of ['runc', 'bin/runc'])
      fails(
        'failed precondition',
        () => resolveRuntime({name}, 'runc'),
        `failed to start shim: failed to resolve runtime path: ${invalid.replace('%s', name)}: unknown`,
      )
  })
  test('an installed shim is refused: Berth drives no shims', () => {
    const bin = join(dir, 'containerd-shim-fake-v9')
    writeFileSync(bin, '#!/bin/sh\n')
    chmodSync(bin, 0o755)
    const path = process.env['PATH']
    process.env['PATH'] = `${dir}:${path}`
    try {
      fails('failed precondition', () => resolveRuntime({name: 'io.example.fake.v9'}, 'runc'), /is a containerd shim .*runs runc-compatible runtimes only/)
    } finally {
      process.env['PATH'] = path
    }
  })
})

describe('runtimeRecord (ctr RuntimeOptions)', () => {
  test('defaults: io.containerd.runc.v2, no options', () => {
    assert.deepEqual(runtimeRecord({}), {name: 'io.containerd.runc.v2'})
    assert.deepEqual(runtimeRecord({name: 'io.containerd.kata.v2'}), {name: 'io.containerd.kata.v2'}, 'any name is recorded; the start fails')
  })
  test('runc options, in containerd proto field names', () => {
    assert.deepEqual(runtimeRecord({runcBinary: '/opt/runc', runcRoot: '/run/r', noPivot: true}), {
      name: 'io.containerd.runc.v2',
      options: {no_pivot_root: true, binary_name: '/opt/runc', root: '/run/r'},
    })
    assert.deepEqual(runtimeRecord({name: 'io.containerd.runc.v1', noPivot: true}), {name: 'io.containerd.runc.v1', options: {no_pivot_root: true}})
    assert.deepEqual(runtimeRecord({name: 'io.containerd.kata.v2', runtimeConfigPath: '/etc/kata.toml'}), {
      name: 'io.containerd.kata.v2',
      options: {config_path: '/etc/kata.toml'},
    })
  })
  test("ctr's errors", () => {
    const only = 'specifying runc-binary and runc-systemd-cgroup is only supported for "io.containerd.runc.v2" runtime'
    fails('invalid argument', () => runtimeRecord({name: 'io.containerd.runc.v1', runcBinary: '/x'}), only)
    fails('invalid argument', () => runtimeRecord({name: '/usr/sbin/runc', runcSystemdCgroup: true}), only)
    fails(
      'invalid argument',
      () => runtimeRecord({runcSystemdCgroup: true}),
      'option --runc-systemd-cgroup requires --cgroup to be set, e.g. "machine.slice:foo:deadbeef"',
    )
  })
  test('refusals with the reason', () => {
    fails('failed precondition', () => runtimeRecord({runcSystemdCgroup: true, cgroup: 'machine.slice:a:b', systemd: false}), /does not run systemd/)
    fails('invalid argument', () => runtimeRecord({runtimeConfigPath: '/etc/x.toml'}), /runc, which reads no runtime config file/)
    fails('invalid argument', () => runtimeRecord({name: 'io.containerd.kata.v2', runcRoot: '/r'}), /option of runc runtimes/)
    fails('invalid argument', () => runtimeRecord({runcRoot: 'rel'}), /must be an absolute path/)
  })
})
