import assert from 'node:assert/strict'
import {statSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {describe as text, errorKind} from '../../../../src/lib/errors/index.js'
import {tableOwner} from '../../../../src/lib/store/index.js'
import {eventTriples, putBlob, type TempStore, tempStore, testBlob} from '../../../helpers/store.js'

describe('NamespaceStore', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('root and state are created 0700 and the database 0600', () => {
    assert.equal(statSync(t.store.root).mode & 0o777, 0o700)
    assert.equal(statSync(t.store.state).mode & 0o777, 0o700)
    assert.equal(statSync(join(t.store.root, 'meta.db')).mode & 0o777, 0o600)
    assert.equal(t.store.db.pragma('journal_mode', {simple: true}), 'wal')
  })

  test('create, list in name order, labels sorted, empty label values dropped', () => {
    const ns = t.store.namespaces
    ns.create('zeta')
    ns.create('alpha', {b: '2', a: '1', drop: ''})
    assert.deepEqual(
      ns.list().map((n) => [n.name, n.labels]),
      [
        ['alpha', {a: '1', b: '2'}],
        ['zeta', {}],
      ],
    )
    assert.deepEqual(Object.keys(ns.get('alpha').labels), ['a', 'b'])
  })

  test('creating an existing namespace fails with containerd text', () => {
    assert.throws(
      () => t.store.namespaces.create('zeta'),
      (err) => errorKind(err) === 'already exists' && text(err) === 'namespace "zeta": already exists',
    )
  })

  test('invalid names are refused', () => {
    assert.throws(
      () => t.store.namespaces.create('bad name'),
      (err) => errorKind(err) === 'invalid argument',
    )
    assert.throws(
      () => t.store.namespaces.setLabels('-x', {a: 'b'}),
      (err) => errorKind(err) === 'invalid argument',
    )
  })

  test('setLabels sets, overwrites and clears with empty values, one event per call', () => {
    const ns = t.store.namespaces
    const before = eventTriples(t.store).length
    ns.setLabels('alpha', {a: 'x', c: '3', b: ''})
    assert.deepEqual(ns.get('alpha').labels, {a: 'x', c: '3'})
    const events = eventTriples(t.store).slice(before)
    assert.deepEqual(events, [['alpha', '/namespaces/update', {name: 'alpha', labels: {a: 'x', c: '3'}}]])
  })

  test('a write into a missing namespace creates it (create event, then update)', () => {
    const before = eventTriples(t.store).length
    t.store.namespaces.setLabels('implicit', {k: 'v'})
    assert.deepEqual(eventTriples(t.store).slice(before), [
      ['implicit', '/namespaces/create', {name: 'implicit'}],
      ['implicit', '/namespaces/update', {name: 'implicit', labels: {k: 'v'}}],
    ])
  })

  test('remove: not found, then empty namespace removed with a delete event', () => {
    const ns = t.store.namespaces
    assert.throws(
      () => ns.remove('missing'),
      (err) => errorKind(err) === 'not found' && text(err) === 'namespace "missing": not found',
    )
    ns.remove('zeta')
    assert.throws(
      () => ns.get('zeta'),
      (err) => errorKind(err) === 'not found',
    )
    assert.deepEqual(eventTriples(t.store).at(-1), ['zeta', '/namespaces/delete', {name: 'zeta'}])
  })

  test('remove refuses a namespace that owns objects, listing every kind; --force removes them', () => {
    const db = t.store.db
    db.exec('CREATE TABLE test_images (namespace TEXT, name TEXT); CREATE TABLE test_blobs (namespace TEXT, digest TEXT)')
    db.prepare('INSERT INTO test_images VALUES (?, ?)').run('alpha', 'redis')
    db.prepare('INSERT INTO test_blobs VALUES (?, ?)').run('alpha', 'sha256:00')
    db.prepare('INSERT INTO test_blobs VALUES (?, ?)').run('other', 'sha256:01')
    const owners = [tableOwner('test_images', 'images'), tableOwner('test_blobs', 'blobs')]
    const eventsBefore = eventTriples(t.store).length
    assert.throws(
      () => t.store.namespaces.remove('alpha', {owners}),
      (err) => errorKind(err) === 'failed precondition' && text(err) === 'namespace "alpha" must be empty, but it still has images, blobs: failed precondition',
    )
    assert.equal(eventTriples(t.store).length, eventsBefore, 'a refused removal publishes nothing')
    t.store.namespaces.remove('alpha', {owners, force: true})
    assert.equal((db.prepare('SELECT count(*) AS n FROM test_images').get() as {n: number}).n, 0)
    assert.deepEqual(db.prepare('SELECT namespace FROM test_blobs').all(), [{namespace: 'other'}])
  })

  test('the real owners: refusal lists images, blobs, leases; --force leaves no row of the namespace in any table', async () => {
    const {store} = t
    const blob = testBlob('owned by full')
    await putBlob(store, 'full', blob)
    store.images.put('full', {
      name: 'docker.io/library/x:1',
      target: {mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: blob.digest, size: blob.size},
    })
    store.leases.create('full', {id: 'l1'})
    store.leases.addResource('full', 'l1', 'content', blob.digest)
    await putBlob(store, 'bystander', blob)
    assert.throws(
      () => store.namespaces.remove('full'),
      (err) =>
        errorKind(err) === 'failed precondition' && text(err) === 'namespace "full" must be empty, but it still has images, blobs, leases: failed precondition',
    )
    store.images.delete('full', 'docker.io/library/x:1')
    assert.throws(
      () => store.namespaces.remove('full'),
      (err) => text(err) === 'namespace "full" must be empty, but it still has blobs, leases: failed precondition',
    )
    store.namespaces.remove('full', {force: true})
    const tables = (store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).filter((table) =>
      (store.db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[]).includes('namespace'),
    )
    assert.ok(tables.includes('content') && tables.includes('lease_resources'))
    for (const table of tables.filter((tb) => tb !== 'events')) {
      assert.equal(store.db.prepare(`SELECT count(*) FROM ${table} WHERE namespace = 'full'`).pluck().get(), 0, table)
    }
    assert.equal(store.content.info('bystander', blob.digest).digest, blob.digest, 'other namespaces keep their records')
  })

  test("regression: namespaces rm without --force deleted the namespace's leases silently", () => {
    const {store} = t
    store.leases.create('leased', {id: 'keep-me'})
    assert.throws(
      () => store.namespaces.remove('leased'),
      (err) => errorKind(err) === 'failed precondition' && text(err) === 'namespace "leased" must be empty, but it still has leases: failed precondition',
    )
    assert.deepEqual(
      store.leases.list('leased').map((l) => l.id),
      ['keep-me'],
      'the lease survives the refusal',
    )
    store.namespaces.remove('leased', {force: true})
    assert.deepEqual(store.leases.list('leased'), [])
  })

  test('--force publishes the delete event of every object it removes, in the same transaction', async () => {
    const {store} = t
    const blob = testBlob('forced away')
    await putBlob(store, 'forced', blob)
    for (const name of ['docker.io/library/a:1', 'docker.io/library/b:1']) {
      store.images.put('forced', {name, target: {mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: blob.digest, size: blob.size}})
    }
    const before = eventTriples(store).length
    store.namespaces.remove('forced', {force: true})
    assert.deepEqual(eventTriples(store).slice(before), [
      ['forced', '/images/delete', {name: 'docker.io/library/a:1'}],
      ['forced', '/images/delete', {name: 'docker.io/library/b:1'}],
      ['forced', '/content/delete', {digest: blob.digest}],
      ['forced', '/namespaces/delete', {name: 'forced'}],
    ])
  })
})
