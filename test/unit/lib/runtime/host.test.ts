// Host facts from /proc text, and the /dev walk for privileged containers.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {
  CAPABILITIES,
  devicesFromPath,
  parseProcLimits,
  parseStatusCapabilities,
  readHostDevices,
  readHostFacts,
  readHostFeatures,
} from '../../../../src/lib/runtime/index.js'

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`

describe('host facts', () => {
  test('parseProcLimits', () => {
    assert.deepEqual(parseProcLimits(LIMITS), {soft: 1024, hard: 524288})
    assert.deepEqual(parseProcLimits(LIMITS, 'Max cpu time'), {soft: Infinity, hard: Infinity})
    assert.throws(
      () => parseProcLimits('Limit Soft Hard\n'),
      (e) => errorKind(e) === 'internal',
    )
    assert.throws(
      () => parseProcLimits('Max open files  x  y  files\n'),
      (e) => errorKind(e) === 'internal',
    )
  })
  test('parseStatusCapabilities', () => {
    const status = 'Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001fffeffffff\nCapBnd:\t0000000000000003\n'
    assert.equal(parseStatusCapabilities(status).length, 40)
    assert.deepEqual(parseStatusCapabilities(status, 'CapBnd'), ['CAP_CHOWN', 'CAP_DAC_OVERRIDE'])
    assert.deepEqual(parseStatusCapabilities(status, 'CapInh'), [])
    assert.throws(
      () => parseStatusCapabilities('Name: x\n'),
      (e) => errorKind(e) === 'internal',
    )
  })
  test('readHostFacts reads this process', () => {
    const facts = readHostFacts()
    assert.ok(facts.nofileHard >= 1)
    assert.ok(facts.capabilities.every((c) => CAPABILITIES.includes(c)))
    assert.ok(facts.hostname.length > 0)
  })
  test('readHostDevices finds /dev/null as c 1:3 and skips pts and console', () => {
    const devices = readHostDevices()
    const devNull = devices.find((d) => d.path === '/dev/null')
    assert.ok(devNull)
    assert.equal(devNull.type, 'c')
    assert.equal(devNull.major, 1)
    assert.equal(devNull.minor, 3)
    assert.equal(devNull.fileMode, 0o666)
    assert.ok(devices.every((d) => !d.path.startsWith('/dev/pts/') && d.path !== '/dev/console'))
    assert.deepEqual(readHostDevices('/nonexistent-dir'), [])
  })
})

describe('devicesFromPath (--device)', () => {
  test('one node: the container sees it at the same path', () => {
    assert.deepEqual(devicesFromPath('/dev/null'), [{path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0}])
  })
  test('a directory: every character and block device under it', () => {
    const all = devicesFromPath('/dev')
    assert.ok(all.some((d) => d.path === '/dev/zero'))
    assert.ok(all.every((d) => d.type === 'c' || d.type === 'b'))
  })
  test("ctr's errors", () => {
    assert.throws(
      () => devicesFromPath('/dev/no-such-device'),
      (e: Error) => errorKind(e) === 'not found' && e.message === 'error stating device path: stat /dev/no-such-device: no such file or directory',
    )
    assert.throws(
      () => devicesFromPath('/etc/hostname'),
      (e: Error) => errorKind(e) === 'invalid argument' && /not a device node/.test(e.message),
    )
  })
  test('readHostFeatures answers for this host', () => {
    const f = readHostFeatures()
    for (const k of ['apparmor', 'resctrl', 'gpu', 'systemd'] as const) assert.equal(typeof f[k], 'boolean')
  })
})
