import assert from 'node:assert/strict'
import {test} from 'node:test'
import {networkSettingsFrom} from '../../../src/cli/network-flags.js'
import {errorKind} from '../../../src/lib/errors/index.js'
import {parseShare} from '../../../src/lib/pods/index.js'

test('--net, --cni and -p become network settings', () => {
  assert.equal(networkSettingsFrom({}), undefined)
  assert.deepEqual(networkSettingsFrom({cni: true}), {mode: 'cni', networks: ['bridge'], ports: []})
  assert.deepEqual(networkSettingsFrom({net: ['host']}), {mode: 'host'})
  assert.deepEqual(networkSettingsFrom({net: ['none']}), {mode: 'none'})
  assert.deepEqual(networkSettingsFrom({net: ['a', 'b'], publish: ['1:2'], 'cni-path': '/x:/y', 'cni-netconfpath': '/n'}), {
    mode: 'cni',
    networks: ['a', 'b'],
    ports: [{hostPort: 1, containerPort: 2, protocol: 'tcp'}],
    cniPath: ['/x', '/y'],
    netconfPath: '/n',
  })
  for (const bad of [{publish: ['1:2']}, {net: ['host', 'bridge']}, {net: ['none'], publish: ['1:2']}, {net: ['bridge'], cni: true}]) {
    assert.throws(
      () => networkSettingsFrom(bad),
      (err) => errorKind(err) === 'invalid argument',
      JSON.stringify(bad),
    )
  }
})

test('--share takes any subset of net, ipc, uts, in that order', () => {
  assert.deepEqual(parseShare('uts,net'), ['net', 'uts'])
  assert.deepEqual(parseShare(''), [])
  assert.throws(
    () => parseShare('net,pid'),
    (err) => errorKind(err) === 'invalid argument',
  )
})
