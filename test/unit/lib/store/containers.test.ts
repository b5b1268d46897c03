// Container records: create/update/delete with their `/containers/*` events, containerd's
// validation texts, namespace ownership, and the container as a GC root for its snapshot.
import assert from 'node:assert/strict'
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {describe as text, errorKind} from '../../../../src/lib/errors/index.js'
import {collectGarbage, newSnapshotDirId} from '../../../../src/lib/store/index.js'
import {eventTriples, type TempStore, tempStore} from '../../../helpers/store.js'

const failure = (fn: () => unknown): [string, string] | undefined => {
  try {
    fn()
  } catch (e) {
    return [errorKind(e), text(e)]
  }
  return undefined
}

describe('ContainerStore', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('create, get, list, labels and delete publish ctr payloads', () => {
    const c = t.store.containers
    const before = eventTriples(t.store).length
    const rec = c.create('ns', {
      id: 'web',
      image: 'docker.io/library/busybox:latest',
      runtime: {name: 'io.containerd.runc.v2'},
      snapshotter: 'overlayfs',
      snapshotKey: 'web',
      labels: {b: '2', a: '1'},
    })
    assert.deepEqual(Object.keys(rec.labels), ['a', 'b'])
    assert.equal(c.get('ns', 'web').snapshotKey, 'web')
    c.create('ns', {id: 'another', runtime: {name: 'io.containerd.runc.v2'}})
    assert.deepEqual(
      c.list('ns').map((r) => r.id),
      ['another', 'web'],
    )
    assert.deepEqual(c.setLabels('ns', 'web', {a: ''}).labels, {b: '2'})
    c.delete('ns', 'another')
    assert.deepEqual(eventTriples(t.store).slice(before), [
      ['ns', '/namespaces/create', {name: 'ns'}],
      ['ns', '/containers/create', {id: 'web', image: 'docker.io/library/busybox:latest', runtime: {name: 'io.containerd.runc.v2'}}],
      ['ns', '/containers/create', {id: 'another', runtime: {name: 'io.containerd.runc.v2'}}],
      ['ns', '/containers/update', {id: 'web', image: 'docker.io/library/busybox:latest', labels: {b: '2'}, snapshot_key: 'web'}],
      ['ns', '/containers/delete', {id: 'another'}],
    ])
  })

  test('containerd validation and error texts', () => {
    const c = t.store.containers
    assert.deepEqual(
      failure(() => c.create('ns', {id: 'web', runtime: {name: 'x'}})),
      ['already exists', 'container "web": already exists'],
    )
    assert.deepEqual(
      failure(() => c.get('ns', 'nope')),
      ['not found', 'container "nope": not found'],
    )
    assert.equal(failure(() => c.create('ns', {id: 'Bad/Id', runtime: {name: 'x'}}))?.[0], 'invalid argument')
    assert.deepEqual(
      failure(() => c.create('ns', {id: 'x', runtime: {name: ''}})),
      ['invalid argument', 'container.Runtime.Name must be set: invalid argument'],
    )
    assert.deepEqual(
      failure(() => c.create('ns', {id: 'x', runtime: {name: 'r'}, snapshotKey: 'k'})),
      ['invalid argument', 'container.Snapshotter must be set if container.SnapshotKey is set: invalid argument'],
    )
  })

  test('a container keeps its snapshot from GC and makes its namespace non-empty', async () => {
    const s = t.store
    const id = newSnapshotDirId()
    mkdirSync(join(s.root, 'snapshots', 'overlayfs', id, 'fs'), {recursive: true})
    s.snapshots.create('ns', 'overlayfs', {key: 'web', newDir: {id, kind: 'active'}})
    const dry = await collectGarbage(s, {dryRun: true})
    assert.equal(dry.kept.find((k) => k.kind === 'snapshot' && k.id === 'overlayfs/web')?.reason, 'container web')
    assert.equal(dry.removed.filter((r) => r.kind === 'snapshot').length, 0)
    assert.match(failure(() => s.namespaces.remove('ns'))?.[1] ?? '', /still has containers, snapshots/)
    s.containers.delete('ns', 'web')
    const after = await collectGarbage(s)
    assert.deepEqual(
      after.removed.filter((r) => r.kind === 'snapshot').map((r) => r.id),
      ['overlayfs/web'],
    )
  })
})
