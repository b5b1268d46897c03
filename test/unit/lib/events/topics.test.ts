// The event vocabulary: every topic has a builder, and a fully set input prints containerd's
// fields in proto order (api/events/*.proto); zero values go (omitempty); times are RFC 3339 with
// nanoseconds, as ctr 1.6/1.7 print them.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {eventPayload, isTopic, type Topic, TOPICS, type TopicEvent} from '../../../../src/lib/events/index.js'

const exitedAt = 1796306913171777451n // 2026-12-03T14:08:33.171777451Z

/** One fully set input per topic, and the payload keys containerd's proto gives it, in order. */
const FULL: {[T in Topic]: [Extract<TopicEvent, {topic: T}>, string[]]} = {
  '/namespaces/create': [{topic: '/namespaces/create', name: 'n', labels: {a: 'b'}}, ['name', 'labels']],
  '/namespaces/update': [{topic: '/namespaces/update', name: 'n', labels: {a: 'b'}}, ['name', 'labels']],
  '/namespaces/delete': [{topic: '/namespaces/delete', name: 'n'}, ['name']],
  '/containers/create': [{topic: '/containers/create', id: 'c', image: 'i', runtime: {name: 'io.containerd.runc.v2'}}, ['id', 'image', 'runtime']],
  '/containers/update': [{topic: '/containers/update', id: 'c', image: 'i', labels: {a: 'b'}, snapshotKey: 'k'}, ['id', 'image', 'labels', 'snapshot_key']],
  '/containers/delete': [{topic: '/containers/delete', id: 'c'}, ['id']],
  '/images/create': [{topic: '/images/create', name: 'i', labels: {a: 'b'}}, ['name', 'labels']],
  '/images/update': [{topic: '/images/update', name: 'i', labels: {a: 'b'}}, ['name', 'labels']],
  '/images/delete': [{topic: '/images/delete', name: 'i'}, ['name']],
  '/content/create': [{topic: '/content/create', digest: 'sha256:x', size: 3, mediaType: 'm'}, ['digest', 'size', 'mediaType']],
  '/content/delete': [{topic: '/content/delete', digest: 'sha256:x'}, ['digest']],
  '/snapshot/prepare': [{topic: '/snapshot/prepare', key: 'k', parent: 'p', snapshotter: 'overlayfs'}, ['key', 'parent', 'snapshotter']],
  '/snapshot/commit': [{topic: '/snapshot/commit', key: 'k', name: 'n', snapshotter: 'overlayfs'}, ['key', 'name', 'snapshotter']],
  '/snapshot/remove': [{topic: '/snapshot/remove', key: 'k', snapshotter: 'overlayfs'}, ['key', 'snapshotter']],
  '/tasks/create': [
    {
      topic: '/tasks/create',
      containerId: 'c',
      bundle: '/b',
      rootfs: [{type: 'overlay', source: 'overlay', options: ['lowerdir=/l']}],
      io: {stdin: '/i', stdout: '/o', stderr: '/e', terminal: true},
      checkpoint: '/cp',
      pid: 7,
    },
    ['container_id', 'bundle', 'rootfs', 'io', 'checkpoint', 'pid'],
  ],
  '/tasks/start': [{topic: '/tasks/start', containerId: 'c', pid: 7}, ['container_id', 'pid']],
  '/tasks/exit': [
    {topic: '/tasks/exit', containerId: 'c', id: 'c', pid: 7, exitStatus: 3, exitedAt},
    ['container_id', 'id', 'pid', 'exit_status', 'exited_at'],
  ],
  '/tasks/delete': [
    {topic: '/tasks/delete', containerId: 'c', pid: 7, exitStatus: 3, exitedAt, id: 'c'},
    ['container_id', 'pid', 'exit_status', 'exited_at', 'id'],
  ],
  '/tasks/oom': [{topic: '/tasks/oom', containerId: 'c'}, ['container_id']],
  '/tasks/exec-added': [{topic: '/tasks/exec-added', containerId: 'c', execId: 'e'}, ['container_id', 'exec_id']],
  '/tasks/exec-started': [{topic: '/tasks/exec-started', containerId: 'c', execId: 'e', pid: 8}, ['container_id', 'exec_id', 'pid']],
  '/tasks/paused': [{topic: '/tasks/paused', containerId: 'c'}, ['container_id']],
  '/tasks/resumed': [{topic: '/tasks/resumed', containerId: 'c'}, ['container_id']],
  '/tasks/checkpointed': [{topic: '/tasks/checkpointed', containerId: 'c', checkpoint: 'img'}, ['container_id', 'checkpoint']],
  '/pods/create': [{topic: '/pods/create', id: 'p', name: 'n', labels: {a: 'b'}}, ['id', 'name', 'labels']],
  '/pods/start': [{topic: '/pods/start', id: 'p'}, ['id']],
  '/pods/stop': [{topic: '/pods/stop', id: 'p'}, ['id']],
  '/pods/delete': [{topic: '/pods/delete', id: 'p'}, ['id']],
}

describe('event vocabulary', () => {
  test('every topic has a builder, and every builder a row here', () => {
    assert.deepEqual([...TOPICS].sort(), Object.keys(FULL).sort())
    for (const topic of TOPICS) assert.equal(isTopic(topic), true)
    assert.equal(isTopic('/tasks/unknown'), false)
    assert.equal(isTopic('toString'), false)
  })

  for (const topic of TOPICS) {
    test(`${topic}: containerd's fields in proto order`, () => {
      const [input, fields] = FULL[topic]
      assert.deepEqual(Object.keys(eventPayload(input)), fields)
    })
  }

  test('topics are valid containerd topics: leading /, identifier components', () => {
    for (const topic of TOPICS) assert.match(topic, /^(\/[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*)+$/)
  })

  test('/tasks/exit prints exited_at as RFC 3339 with nanoseconds (seed 001, ctr 1.6/1.7)', () => {
    const payload = eventPayload({topic: '/tasks/exit', containerId: 't1', id: 't1', pid: 28929, exitStatus: 3, exitedAt})
    assert.equal(JSON.stringify(payload), '{"container_id":"t1","id":"t1","pid":28929,"exit_status":3,"exited_at":"2026-12-03T14:08:33.171777451Z"}')
  })

  test('a time in microseconds prints as Go trims it (trailing zeros gone)', () => {
    const micros = Number(exitedAt / 1000n) // ...171777
    assert.equal(
      eventPayload({topic: '/tasks/exit', containerId: 'c', id: 'c', pid: 1, exitStatus: 0, exitedAt: micros})['exited_at'],
      '2026-12-03T14:08:33.171777Z',
    )
    assert.equal(
      eventPayload({topic: '/tasks/exit', containerId: 'c', id: 'c', pid: 1, exitStatus: 0, exitedAt: 1796306913_000000})['exited_at'],
      '2026-12-03T14:08:33Z',
    )
  })

  test('omitempty: zero status, empty labels, empty image and empty io go; nested mounts lose empty fields', () => {
    assert.deepEqual(eventPayload({topic: '/tasks/exit', containerId: 'c', id: 'c', pid: 1, exitStatus: 0, exitedAt}), {
      container_id: 'c',
      id: 'c',
      pid: 1,
      exited_at: '2026-12-03T14:08:33.171777451Z',
    })
    assert.deepEqual(eventPayload({topic: '/images/create', name: 'i', labels: {}}), {name: 'i'})
    assert.deepEqual(eventPayload({topic: '/containers/create', id: 'c', image: '', runtime: {name: 'r'}}), {id: 'c', runtime: {name: 'r'}})
    assert.deepEqual(
      eventPayload({topic: '/tasks/create', containerId: 'c', bundle: '/b', rootfs: [{type: 'bind', source: '/s', target: '', options: []}], io: {}, pid: 4}),
      {
        container_id: 'c',
        bundle: '/b',
        rootfs: [{type: 'bind', source: '/s'}],
        pid: 4,
      },
    )
    assert.deepEqual(eventPayload({topic: '/tasks/delete', containerId: 'c', pid: 0, id: 'c'}), {container_id: 'c', id: 'c'})
  })
})
