import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {parseNetConf} from '../../../../src/lib/network/cni.js'
import {cniPaths, defaultBridge, loadDefaultNetwork, resolveNetwork} from '../../../../src/lib/network/networks.js'
import {defaultState} from '../../../../src/lib/store/index.js'

describe('CNI networks', () => {
  let dir: string
  before(() => (dir = mkdtempSync(join(tmpdir(), 'berth-net-'))))
  after(() => rmSync(dir, {recursive: true, force: true}))

  test('the default store gets berth0 and 10.88.0.0/16; others their own bridge and /24 in 10.128.0.0/9', () => {
    assert.deepEqual(defaultBridge(defaultState()), {bridge: 'berth0', subnet: '10.88.0.0/16', gateway: '10.88.0.1'})
    const a = defaultBridge('/tmp/a/state')
    const b = defaultBridge('/tmp/b/state')
    assert.match(a.bridge, /^berth-[0-9a-f]{8}$/)
    assert.ok(a.bridge.length <= 15, 'fits IFNAMSIZ')
    assert.notEqual(a.bridge, b.bridge)
    assert.notEqual(a.subnet, b.subnet)
    for (const {subnet} of [a, b]) {
      const [o1, o2] = subnet.split('.').map(Number)
      assert.equal(o1, 10)
      assert.ok(o2 >= 128 && o2 < 256)
      assert.match(subnet, /\.0\/24$/)
    }
    assert.deepEqual(defaultBridge('/tmp/a/state'), a, 'stable')
  })

  test('the default network is written on first use, with IPAM under the state dir, and read back after', () => {
    const paths = cniPaths(join(dir, 'root'), join(dir, 'state'), {binDirs: ['/usr/lib/cni'], confDir: join(dir, 'none')})
    const conf = loadDefaultNetwork(paths, join(dir, 'state'))
    assert.equal(conf.name, 'bridge')
    assert.deepEqual(
      conf.plugins.map((p) => p['type']),
      ['bridge', 'portmap', 'firewall'],
    )
    const ipam = conf.plugins[0]['ipam'] as {type: string; dataDir: string}
    assert.equal(ipam.type, 'host-local')
    assert.equal(ipam.dataDir, join(dir, 'state', 'cni', 'ipam'))
    const file = join(dir, 'root', 'cni', 'net.d', 'bridge.conflist')
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), conf)
    // A user's edit is what later uses get.
    const edited = {...conf, plugins: conf.plugins.slice(0, 1)}
    writeFileSync(file, JSON.stringify(edited))
    assert.deepEqual(resolveNetwork('bridge', paths, join(dir, 'state')).plugins.length, 1)
  })

  test('user networks by name from the config dir; .conf files are wrapped; unknown names are not found', () => {
    const confDir = join(dir, 'net.d')
    mkdirSync(confDir, {recursive: true})
    writeFileSync(join(confDir, '10-a.conflist'), JSON.stringify({cniVersion: '0.4.0', name: 'a', plugins: [{type: 'bridge'}]}))
    writeFileSync(join(confDir, '20-b.conf'), JSON.stringify({cniVersion: '1.0.0', name: 'b', type: 'macvlan'}))
    writeFileSync(join(confDir, '30-broken.conf'), '{')
    const paths = cniPaths(join(dir, 'root'), join(dir, 'state'), {binDirs: [], confDir})
    assert.equal(resolveNetwork('a', paths, dir).cniVersion, '0.4.0')
    assert.deepEqual(resolveNetwork('b', paths, dir), {cniVersion: '1.0.0', name: 'b', plugins: [{cniVersion: '1.0.0', name: 'b', type: 'macvlan'}]})
    assert.throws(
      () => resolveNetwork('c', paths, dir),
      (err) => errorKind(err) === 'not found',
    )
    assert.throws(
      () => resolveNetwork('../x', paths, dir),
      (err) => errorKind(err) === 'invalid argument',
    )
    assert.throws(
      () => parseNetConf('{"name": "x"}', 'x.conf'),
      (err) => errorKind(err) === 'invalid argument',
    )
  })
})
