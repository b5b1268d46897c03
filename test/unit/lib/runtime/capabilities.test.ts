// Capability names, /proc masks and the add/drop rules.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {CAPABILITIES, DEFAULT_CAPABILITIES, capabilitiesFromMask, normalizeCapability, resolveCapabilities} from '../../../../src/lib/runtime/index.js'

describe('capabilities', () => {
  test('41 known capabilities in number order', () => {
    assert.equal(CAPABILITIES.length, 41)
    assert.equal(CAPABILITIES[0], 'CAP_CHOWN')
    assert.equal(CAPABILITIES[21], 'CAP_SYS_ADMIN')
    assert.equal(CAPABILITIES[24], 'CAP_SYS_RESOURCE')
    assert.equal(CAPABILITIES[40], 'CAP_CHECKPOINT_RESTORE')
  })
  const names: Array<[string, string]> = [
    ['CAP_NET_ADMIN', 'CAP_NET_ADMIN'],
    ['NET_ADMIN', 'CAP_NET_ADMIN'],
    ['net_admin', 'CAP_NET_ADMIN'],
    ['cap_sys_admin', 'CAP_SYS_ADMIN'],
    ['ALL', 'ALL'],
    ['all', 'ALL'],
    ['CAP_ALL', 'ALL'],
  ]
  for (const [input, want] of names) test(`normalize ${input}`, () => assert.equal(normalizeCapability(input), want))
  for (const input of ['', 'CAP_', 'FLY', 'CAP_SYS_ADMINX']) {
    test(`unknown ${JSON.stringify(input)}`, () =>
      assert.throws(
        () => normalizeCapability(input),
        (e) => errorKind(e) === 'invalid argument',
      ))
  }
  const masks: Array<[string, string[]]> = [
    ['0000000000000000', []],
    ['0000000000000001', ['CAP_CHOWN']],
    ['00000000a80425fb', [...DEFAULT_CAPABILITIES].sort((a, b) => CAPABILITIES.indexOf(a) - CAPABILITIES.indexOf(b))],
    ['000001fffeffffff', CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE')],
    ['ffffffffffffffff', [...CAPABILITIES]],
  ]
  for (const [mask, want] of masks) test(`mask ${mask}`, () => assert.deepEqual(capabilitiesFromMask(mask), want))
  test('bad mask', () =>
    assert.throws(
      () => capabilitiesFromMask('xyz'),
      (e) => errorKind(e) === 'invalid argument',
    ))
  test('resolveCapabilities keeps the default order and appends adds', () => {
    assert.deepEqual(resolveCapabilities({available: CAPABILITIES, defaults: ['CAP_KILL', 'CAP_CHOWN'], capAdd: ['CAP_BPF']}), [
      'CAP_KILL',
      'CAP_CHOWN',
      'CAP_BPF',
    ])
  })
  test('duplicates in adds are added once', () => {
    assert.deepEqual(resolveCapabilities({available: CAPABILITIES, defaults: [], capAdd: ['BPF', 'CAP_BPF', 'bpf']}), ['CAP_BPF'])
  })
})
