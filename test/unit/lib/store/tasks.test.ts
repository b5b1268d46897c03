// Task records: batch() commits several changes, each with its event, as one transaction.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {eventTriples, type TempStore, tempStore} from '../../../helpers/store.js'

describe('TaskStore.batch', () => {
  let t: TempStore
  before(async () => {
    t = await tempStore()
    t.store.containers.create('ns', {id: 'a', runtime: {name: 'io.containerd.runc.v2'}})
    t.store.containers.create('ns', {id: 'b', runtime: {name: 'io.containerd.runc.v2'}})
    t.store.containers.create('ns', {id: 'c', runtime: {name: 'io.containerd.runc.v2'}})
  })
  after(() => t.cleanup())

  const insert = (id: string) =>
    t.store.tasks.insert('ns', {containerId: id, instance: `i-${id}`, monitor: 'client', monitorPid: process.pid, bootId: 'boot', terminal: false})

  test('created and started in one batch: both changes and both events, in order', () => {
    insert('a')
    const before = eventTriples(t.store).length
    t.store.tasks.batch(() => {
      t.store.tasks.created('ns', 'a', 'i-a', {pid: 4242}, {bundle: '/b', rootfs: [], io: {}})
      t.store.tasks.started('ns', 'a', 'i-a')
    })
    assert.equal(t.store.tasks.get('ns', 'a').status, 'running')
    assert.deepEqual(eventTriples(t.store).slice(before), [
      ['ns', '/tasks/create', {container_id: 'a', bundle: '/b', pid: 4242}],
      ['ns', '/tasks/start', {container_id: 'a', pid: 4242}],
    ])
  })

  test('a batch that throws leaves nothing of its changes or events', () => {
    insert('b')
    const before = eventTriples(t.store).length
    assert.throws(
      () =>
        t.store.tasks.batch(() => {
          t.store.tasks.created('ns', 'b', 'i-b', {pid: 4343}, {bundle: '/b', rootfs: [], io: {}})
          throw new Error('boom')
        }),
      /boom/,
    )
    assert.equal(t.store.tasks.get('ns', 'b').status, 'created')
    assert.equal(t.store.tasks.get('ns', 'b').pid, 0)
    assert.equal(eventTriples(t.store).length, before)
  })

  // Regression (chaos seed 2493189305): a `run -d` killed between recording its task and creating
  // its process left a row that cleanup removed with `/tasks/delete`, a delete of a task no
  // subscriber saw created.
  test('a task that never got its process publishes neither exit nor delete', () => {
    insert('c')
    const before = eventTriples(t.store).length
    assert.equal(t.store.tasks.exited('ns', 'c', 'i-c', {exitStatus: 255, exitedAt: 1, known: false, oom: false}), true)
    assert.ok(t.store.tasks.remove('ns', 'c'))
    assert.equal(t.store.tasks.find('ns', 'c'), undefined)
    assert.deepEqual(eventTriples(t.store).slice(before), [])
  })
})
