import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {attachmentIps, type PodInput} from '../../../../src/lib/store/index.js'
import {eventTriples, type TempStore, tempStore} from '../../../helpers/store.js'

const pod = (id: string, name: string): PodInput => ({
  id,
  name,
  hostname: '',
  labels: {b: '2', a: '1'},
  share: ['net', 'ipc', 'uts'],
  network: {mode: 'none'},
  k8sNamespace: 'k',
  uid: 'u',
  attempt: 1,
})

describe('PodStore', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('create with /pods/create; resolve by id, name or unique prefix; ids and names unique per namespace', () => {
    const pods = t.store.pods
    const rec = pods.create('ns1', pod('abcdef0123', 'web'))
    assert.deepEqual(rec.labels, {a: '1', b: '2'})
    assert.equal(pods.resolve('ns1', 'web').id, 'abcdef0123')
    assert.equal(pods.resolve('ns1', 'abcdef0123').name, 'web')
    assert.equal(pods.resolve('ns1', 'abc').name, 'web')
    assert.throws(
      () => pods.resolve('ns1', 'zzz'),
      (err) => errorKind(err) === 'not found',
    )
    assert.throws(
      () => pods.create('ns1', pod('abcdef0123', 'other')),
      (err) => errorKind(err) === 'already exists',
    )
    assert.throws(
      () => pods.create('ns1', pod('other', 'web')),
      (err) => errorKind(err) === 'already exists',
    )
    pods.create('ns2', pod('abcdef0123', 'web')) // another namespace
    pods.create('ns1', pod('abcdef9999', 'web2'))
    assert.throws(
      () => pods.resolve('ns1', 'abcdef'),
      (err) => errorKind(err) === 'invalid argument',
      'ambiguous prefix',
    )
    assert.deepEqual(eventTriples(t.store).filter(([, topic]) => topic === '/pods/create')[0], [
      'ns1',
      '/pods/create',
      {id: 'abcdef0123', name: 'web', labels: {a: '1', b: '2'}},
    ])
  })

  test('a pod id a container has is refused; delete refuses while members exist; namespaces count pods', () => {
    const {store} = t
    store.containers.create('ns3', {id: 'taken', runtime: {name: 'r'}})
    assert.throws(
      () => store.pods.create('ns3', pod('taken', 'p')),
      (err) => errorKind(err) === 'already exists',
    )
    store.pods.create('ns3', pod('p1', 'p'))
    store.containers.create('ns3', {id: 'm1', runtime: {name: 'r'}})
    store.pods.setContainerMeta('ns3', 'm1', {podId: 'p1', network: {mode: 'pod'}, metadata: {'pod-id': 'p1'}})
    assert.deepEqual(store.pods.members('ns3', 'p1'), ['m1'])
    assert.deepEqual(store.pods.containerMeta('ns3', 'm1'), {podId: 'p1', network: {mode: 'pod'}, metadata: {'pod-id': 'p1'}})
    assert.throws(
      () => store.pods.delete('ns3', 'p1'),
      (err) => errorKind(err) === 'failed precondition',
    )
    assert.throws(
      () => store.namespaces.remove('ns3'),
      (err) => /pods/.test(String((err as Error).message)),
    )
    store.containers.delete('ns3', 'm1') // its extras go with it
    assert.equal(store.pods.containerMeta('ns3', 'm1'), undefined)
    store.pods.delete('ns3', 'p1')
    assert.equal(eventTriples(store).at(-1)?.[1], '/pods/delete')
    store.namespaces.remove('ns3', {force: true})
  })

  test('attachment rows: begun before ADD, completed with the result, listed per owner', () => {
    const a = t.store.netAttachments
    a.begin({
      cniId: 'berth-1',
      network: 'bridge',
      namespace: 'ns1',
      ownerKind: 'pod',
      ownerId: 'abcdef0123',
      ifname: 'eth0',
      netns: '/x',
      config: '{}',
      cniPath: '/usr/lib/cni',
      ports: [],
      bootId: 'b',
    })
    assert.equal(a.ofOwner('ns1', 'pod', 'abcdef0123')[0]?.result, undefined)
    a.complete('berth-1', 'bridge', {ips: [{address: '10.88.0.5/16'}]})
    assert.deepEqual(attachmentIps(a.ofOwner('ns1', 'pod', 'abcdef0123')[0]), ['10.88.0.5'])
    a.remove('berth-1', 'bridge')
    assert.deepEqual(a.all(), [])
  })
})
