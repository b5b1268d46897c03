// Snapshot records: create/commit/remove with their `/snapshot/*` events, containerd's parent
// rules, directory release, sharing by chain ID under both policies, and GC reachability.
import assert from 'node:assert/strict'
import {mkdirSync, existsSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {describe as text, errorKind} from '../../../../src/lib/errors/index.js'
import {collectGarbage, newSnapshotDirId} from '../../../../src/lib/store/index.js'
import {countRows, eventTriples, type TempStore, tempStore, testBlob} from '../../../helpers/store.js'

const SN = 'overlayfs'

function committed(t: TempStore, ns: string, key: string, parent?: string, chainId?: string, existingDir?: string): string {
  const parentDir = parent === undefined ? undefined : t.store.snapshots.get(ns, SN, parent).dir
  const id = existingDir ?? newSnapshotDirId()
  mkdirSync(join(t.store.root, 'snapshots', SN, id, 'fs'), {recursive: true})
  t.store.snapshots.create(ns, SN, existingDir ? {key, parent, existingDir} : {key, parent, newDir: {id, kind: 'committed', parent: parentDir, chainId}})
  return id
}

describe('SnapshotStore', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('create publishes prepare then commit for a committed snapshot; prepare only for an active one', () => {
    const before = eventTriples(t.store).length
    committed(t, 'a', 'base', undefined, 'sha256:' + '1'.repeat(64))
    const id = newSnapshotDirId()
    t.store.snapshots.create('a', SN, {key: 'work', parent: 'base', newDir: {id, kind: 'active', parent: t.store.snapshots.get('a', SN, 'base').dir}})
    assert.deepEqual(eventTriples(t.store).slice(before), [
      ['a', '/namespaces/create', {name: 'a'}],
      ['a', '/snapshot/prepare', {key: 'base', snapshotter: SN}],
      ['a', '/snapshot/commit', {key: 'base', name: 'base', snapshotter: SN}],
      ['a', '/snapshot/prepare', {key: 'work', parent: 'base', snapshotter: SN}],
    ])
    assert.deepEqual(
      t.store.snapshots.list('a', SN).map((r) => [r.key, r.parent, r.kind]),
      [
        ['base', undefined, 'committed'],
        ['work', 'base', 'active'],
      ],
    )
  })

  test('containerd errors: existing key, missing parent, parent not committed, removal with children', () => {
    const s = t.store.snapshots
    const err = (fn: () => unknown) => {
      try {
        fn()
      } catch (e) {
        return [errorKind(e), text(e)]
      }
      return undefined
    }
    assert.deepEqual(
      err(() => s.create('a', SN, {key: 'base', newDir: {id: newSnapshotDirId(), kind: 'active'}})),
      ['already exists', 'snapshot "base": already exists'],
    )
    assert.deepEqual(
      err(() => s.create('a', SN, {key: 'x', parent: 'nope', newDir: {id: newSnapshotDirId(), kind: 'active'}})),
      ['not found', 'parent snapshot "nope" does not exist: not found'],
    )
    assert.deepEqual(
      err(() => s.create('a', SN, {key: 'x', parent: 'work', newDir: {id: newSnapshotDirId(), kind: 'active'}})),
      ['invalid argument', 'parent "work" is not committed snapshot: invalid argument'],
    )
    assert.deepEqual(
      err(() => s.remove('a', SN, 'base')),
      ['failed precondition', 'cannot remove snapshot with child: failed precondition'],
    )
    assert.deepEqual(
      err(() => s.get('a', SN, 'nope')),
      ['not found', 'snapshot "nope": not found'],
    )
    assert.deepEqual(err(() => s.create('a', SN, {key: '', newDir: {id: newSnapshotDirId(), kind: 'active'}}))?.[0], 'invalid argument')
  })

  test('commit turns the active directory committed under the new name', () => {
    const s = t.store.snapshots
    const dir = s.get('a', SN, 'work').dir
    const before = eventTriples(t.store).length
    const rec = s.commit('a', SN, 'layer2', 'work', {x: 'y'})
    assert.equal(rec.kind, 'committed')
    assert.equal(rec.dir, dir)
    assert.equal(rec.parent, 'base')
    assert.deepEqual(rec.labels, {x: 'y'})
    assert.equal(s.find('a', SN, 'work'), undefined)
    assert.deepEqual(eventTriples(t.store).slice(before), [['a', '/snapshot/commit', {key: 'work', name: 'layer2', snapshotter: SN}]])
    assert.deepEqual(
      s.dirChain(SN, dir).map((d) => d.id),
      [dir, s.get('a', SN, 'base').dir],
    )
  })

  test('remove releases directories up the chain once nothing needs them', () => {
    const s = t.store.snapshots
    const base = s.get('a', SN, 'base').dir
    const top = s.get('a', SN, 'layer2').dir
    assert.deepEqual(s.remove('a', SN, 'layer2'), [top])
    // base is still recorded: its directory stays
    assert.deepEqual(s.remove('a', SN, 'base'), [base])
    assert.equal(countRows(t.store, 'snapshot_dirs'), 0)
    assert.deepEqual(eventTriples(t.store).slice(-2), [
      ['a', '/snapshot/remove', {key: 'layer2', snapshotter: SN}],
      ['a', '/snapshot/remove', {key: 'base', snapshotter: SN}],
    ])
  })

  test('a directory shared by two namespaces stays until both records go', () => {
    const s = t.store.snapshots
    const chain = 'sha256:' + '2'.repeat(64)
    const id = committed(t, 'a', chain, undefined, chain)
    assert.equal(s.findShareable('b', SN, chain), id, 'shared policy: any committed directory with the chain ID')
    committed(t, 'b', chain, undefined, undefined, id)
    assert.deepEqual(s.remove('a', SN, chain), [])
    assert.deepEqual(s.remove('b', SN, chain), [id])
  })

  test('labels: set, remove with empty value, replace all', () => {
    const s = t.store.snapshots
    committed(t, 'a', 'lab')
    assert.deepEqual(s.setLabels('a', SN, 'lab', {a: '1', b: '2'}).labels, {a: '1', b: '2'})
    assert.deepEqual(s.setLabels('a', SN, 'lab', {a: ''}).labels, {b: '2'})
    assert.deepEqual(s.setLabels('a', SN, 'lab', {c: '3'}, {replaceAll: true}).labels, {c: '3'})
    s.remove('a', SN, 'lab')
  })
})

describe('SnapshotStore under the isolated policy', () => {
  let t: TempStore
  before(async () => (t = await tempStore({content_sharing_policy: 'isolated'})))
  after(() => t.cleanup())

  test('a chain is shared only from a namespace labelled shareable', () => {
    const chain = 'sha256:' + '3'.repeat(64)
    const id = committed(t, 'a', chain, undefined, chain)
    assert.equal(t.store.snapshots.findShareable('b', SN, chain), undefined)
    t.store.namespaces.setLabels('a', {'containerd.io/namespace.shareable': 'true'})
    assert.equal(t.store.snapshots.findShareable('b', SN, chain), id)
  })
})

describe('GC over snapshots', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('keeps what a config label, a gc.root label or a lease reaches, with parents; removes the rest and their directories', async () => {
    const s = t.store
    const l1 = committed(t, 'g', 'c1', undefined, 'c1')
    const l2 = committed(t, 'g', 'c2', 'c1', 'c2')
    const orphan = committed(t, 'g', 'orphan')
    const rooted = newSnapshotDirId()
    mkdirSync(join(s.root, 'snapshots', SN, rooted, 'fs'), {recursive: true})
    s.snapshots.create('g', SN, {key: 'mine', labels: {'containerd.io/gc.root': '2024-01-01T00:00:00Z'}, newDir: {id: rooted, kind: 'active'}})
    // An image whose config points at c2.
    const config = testBlob('{"config":1}')
    const w = await s.content.openWriter('g', {ref: 'cfg', expected: {digest: config.digest, size: config.size}})
    assert.equal(w.status, 'write')
    if (w.status === 'write') {
      await w.writer.write(config.bytes)
      await w.writer.commit({labels: {'containerd.io/gc.ref.snapshot.overlayfs': 'c2'}})
    }
    s.images.put('g', {name: 'example.com/x:1', target: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size}})
    // A directory a killed unpack left behind (no row).
    const debris = newSnapshotDirId()
    mkdirSync(join(s.root, 'snapshots', SN, debris, 'fs'), {recursive: true})

    const dry = await collectGarbage(s, {dryRun: true})
    const ids = (kind: string) => dry.removed.filter((r) => r.kind === kind).map((r) => r.id)
    assert.deepEqual(ids('snapshot'), [`${SN}/orphan`])
    assert.deepEqual(ids('snapshot-dir').sort(), [`${SN}/${orphan}`, `${SN}/${debris}`].sort())
    const reason = (id: string) => dry.kept.find((k) => k.kind === 'snapshot' && k.id === `${SN}/${id}`)?.reason ?? ''
    assert.match(reason('c2'), /^image example\.com\/x:1 -> config sha256:/)
    assert.match(reason('c1'), /parent of c2/)
    assert.equal(reason('mine'), 'label containerd.io/gc.root')
    assert.ok(existsSync(join(s.root, 'snapshots', SN, orphan)), 'a dry run deletes nothing')

    await collectGarbage(s)
    assert.deepEqual(
      s.snapshots.list('g', SN).map((r) => r.key),
      ['c1', 'c2', 'mine'],
    )
    assert.equal(existsSync(join(s.root, 'snapshots', SN, orphan)), false)
    assert.equal(existsSync(join(s.root, 'snapshots', SN, debris)), false)
    for (const id of [l1, l2, rooted]) assert.ok(existsSync(join(s.root, 'snapshots', SN, id, 'fs')))
    assert.deepEqual(
      eventTriples(s).filter((e) => e[1] === '/snapshot/remove'),
      [['g', '/snapshot/remove', {key: 'orphan', snapshotter: SN}]],
    )

    // Deleting the image lets the chain go.
    s.images.delete('g', 'example.com/x:1')
    await collectGarbage(s)
    assert.deepEqual(
      s.snapshots.list('g', SN).map((r) => r.key),
      ['mine'],
    )
    for (const id of [l1, l2]) assert.equal(existsSync(join(s.root, 'snapshots', SN, id)), false)
  })

  test('namespaces rm counts snapshots as owned and --force removes them', async () => {
    const s = t.store
    assert.throws(() => s.namespaces.remove('g'), /must be empty, but it still has .*snapshots/)
    s.namespaces.remove('g', {force: true})
    await collectGarbage(s)
    assert.equal(countRows(s, 'snapshots'), 0)
    assert.equal(countRows(s, 'snapshot_dirs'), 0)
  })
})
