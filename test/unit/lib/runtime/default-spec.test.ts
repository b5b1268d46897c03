// defaultSpec: the base spec `ctr oci spec` prints, shaped as containerd's populateDefaultUnixSpec
// and built from the same defaults and rules as every container's spec.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {
  buildSpec,
  CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_READONLY_PATHS,
  defaultMounts,
  defaultSpec,
  type HostFacts,
} from '../../../../src/lib/runtime/index.js'

const HOST: HostFacts = {nofileHard: 1048576, capabilities: CAPABILITIES, hostname: 'buildhost'}

describe('defaultSpec', () => {
  test("has containerd's keys in specs-go order, and no command or environment yet", () => {
    const spec = defaultSpec('default', HOST)
    assert.deepEqual(Object.keys(spec), ['ociVersion', 'process', 'root', 'mounts', 'linux'])
    assert.deepEqual(Object.keys(spec.process), ['user', 'cwd', 'capabilities', 'rlimits', 'noNewPrivileges'])
    assert.deepEqual(Object.keys(spec.linux), ['resources', 'cgroupsPath', 'namespaces', 'maskedPaths', 'readonlyPaths'])
    assert.deepEqual(spec.process.user, {uid: 0, gid: 0})
    assert.equal(spec.process.cwd, '/')
    assert.equal(spec.process.noNewPrivileges, true)
    assert.deepEqual(spec.root, {path: 'rootfs'})
    assert.deepEqual(spec.linux.resources, {devices: [{allow: false, access: 'rwm'}]})
    assert.equal(spec.linux.cgroupsPath, '/berth/default')
    assert.deepEqual(
      spec.linux.namespaces.map((n) => n.type),
      ['pid', 'ipc', 'uts', 'mount', 'network'],
    )
    assert.deepEqual(spec.linux.maskedPaths, DEFAULT_MASKED_PATHS)
    assert.deepEqual(spec.linux.readonlyPaths, DEFAULT_READONLY_PATHS)
    assert.deepEqual(spec.mounts, defaultMounts())
    assert.deepEqual(spec.process.capabilities, {bounding: DEFAULT_CAPABILITIES, effective: DEFAULT_CAPABILITIES, permitted: DEFAULT_CAPABILITIES})
  })

  test("is what a container's spec starts from: the same mounts, capabilities, rlimits and paths", () => {
    const host = {...HOST, nofileHard: 512, capabilities: CAPABILITIES.filter((c) => c !== 'CAP_MKNOD')}
    const base = defaultSpec('ns1', host)
    const container = buildSpec({namespace: 'ns1', id: 'c1', args: ['sh']}, {user: {uid: 0, gid: 0, additionalGids: []}, host})
    assert.deepEqual(base.process.capabilities, container.process.capabilities)
    assert.ok(!base.process.capabilities.bounding!.includes('CAP_MKNOD'), 'a capability this process lacks is left out')
    assert.deepEqual(base.process.rlimits, [{type: 'RLIMIT_NOFILE', hard: 512, soft: 512}])
    assert.deepEqual(base.process.rlimits, container.process.rlimits)
    assert.deepEqual(base.mounts, container.mounts)
    assert.deepEqual(base.linux.namespaces, container.linux.namespaces)
    assert.equal(container.linux.cgroupsPath, `${base.linux.cgroupsPath}/c1`)
    assert.deepEqual(container.linux.resources.devices[0], base.linux.resources.devices[0])
  })

  test('an invalid namespace is refused', () => {
    assert.throws(
      () => defaultSpec('bad name', HOST),
      (err) => errorKind(err) === 'invalid argument',
    )
  })
})
