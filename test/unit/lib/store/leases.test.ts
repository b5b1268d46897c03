// Leases: ids (given or generated as containerd does), expiry, resources, withLease keeping the
// lease on error, and leases being dropped silently with their namespace.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {describe as text, errorKind} from '../../../../src/lib/errors/index.js'
import {generateLeaseId, withLease} from '../../../../src/lib/store/index.js'
import {countRows, eventTriples, type TempStore, tempStore} from '../../../helpers/store.js'

describe('LeaseStore', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test("generated ids look like containerd's (<nanos>-<base64url>) and are valid identifiers", () => {
    const ids = new Set<string>()
    for (let i = 0; i < 500; i++) {
      const id = generateLeaseId()
      assert.match(id, /^\d{1,9}-[A-Za-z0-9_-]{4}$/)
      ids.add(id)
    }
    assert.ok(ids.size > 490)
  })

  test('create (namespace implicitly, no lease events), get, list by id, AlreadyExists, NotFound', () => {
    const leases = t.store.leases
    const before = eventTriples(t.store).length
    const a = leases.create('ls', {id: 'b-lease', labels: {k: 'v', empty: ''}})
    assert.deepEqual({id: a.id, labels: a.labels, expiresAt: a.expiresAt}, {id: 'b-lease', labels: {k: 'v'}, expiresAt: undefined})
    const b = leases.create('ls', {expiresAt: 123})
    assert.equal(b.expiresAt, 123)
    assert.deepEqual(eventTriples(t.store).slice(before), [['ls', '/namespaces/create', {name: 'ls'}]])
    assert.deepEqual(
      leases.list('ls').map((l) => l.id),
      [a.id, b.id].sort(),
    )
    assert.throws(
      () => leases.create('ls', {id: 'b-lease'}),
      (err) => errorKind(err) === 'already exists' && text(err) === 'lease "b-lease": already exists',
    )
    assert.throws(
      () => leases.get('ls', 'nope'),
      (err) => errorKind(err) === 'not found' && text(err) === 'lease "nope": not found',
    )
    assert.throws(
      () => leases.delete('ls', 'nope'),
      (err) => errorKind(err) === 'not found',
    )
    assert.throws(
      () => leases.create('ls', {id: 'bad id'}),
      (err) => errorKind(err) === 'invalid argument',
    )
  })

  test('the containerd.io/gc.expire label sets the expiry when none is given', () => {
    const l = t.store.leases.create('ls', {id: 'labelled-expiry', labels: {'containerd.io/gc.expire': '2030-01-02T03:04:05Z'}})
    assert.equal(l.expiresAt, Date.parse('2030-01-02T03:04:05Z') * 1000)
    assert.equal(t.store.leases.create('ls', {id: 'bad-expiry', labels: {'containerd.io/gc.expire': 'soon'}}).expiresAt, undefined)
  })

  test('resources: add (idempotent), list, delete; deleting the lease drops them', () => {
    const leases = t.store.leases
    leases.create('ls', {id: 'res'})
    leases.addResource('ls', 'res', 'content', 'sha256:bb')
    leases.addResource('ls', 'res', 'content', 'sha256:bb')
    leases.addResource('ls', 'res', 'snapshot', 'overlayfs/key')
    leases.addResource('ls', 'res', 'content', 'sha256:aa')
    assert.deepEqual(leases.resources('ls', 'res'), [
      {kind: 'content', ref: 'sha256:aa'},
      {kind: 'content', ref: 'sha256:bb'},
      {kind: 'snapshot', ref: 'overlayfs/key'},
    ])
    leases.deleteResource('ls', 'res', 'content', 'sha256:aa')
    assert.equal(leases.resources('ls', 'res').length, 2)
    assert.throws(
      () => leases.addResource('ls', 'missing', 'content', 'sha256:aa'),
      (err) => errorKind(err) === 'not found',
    )
    assert.throws(
      () => leases.addResource('ls', 'res', 'bogus' as 'content', 'x'),
      (err) => errorKind(err) === 'invalid argument',
    )
    leases.delete('ls', 'res')
    assert.equal(t.store.db.prepare("SELECT count(*) FROM lease_resources WHERE lease_id = 'res'").pluck().get(), 0)
  })

  test('withLease deletes the lease after success, keeps it after an error', async () => {
    const seen: string[] = []
    const result = await withLease(
      t.store,
      'wl',
      async (id) => {
        seen.push(id)
        assert.ok(t.store.leases.get('wl', id).expiresAt! > Date.now() * 1000 + 3500 * 1000)
        return 42
      },
      {expiresInMs: 3600_000},
    )
    assert.equal(result, 42)
    assert.throws(
      () => t.store.leases.get('wl', seen[0]),
      (err) => errorKind(err) === 'not found',
    )
    await assert.rejects(
      withLease(t.store, 'wl', async (id) => {
        seen.push(id)
        throw new Error('pull failed')
      }),
      /pull failed/,
    )
    assert.equal(t.store.leases.get('wl', seen[1]).id, seen[1], 'kept so that a retry finds its blobs')
  })

  test('leases keep a namespace alive, and --force drops them with their resources', () => {
    t.store.leases.create('gone', {id: 'l1'})
    t.store.leases.addResource('gone', 'l1', 'content', 'sha256:00')
    assert.throws(() => t.store.namespaces.remove('gone'), /still has leases/)
    t.store.namespaces.remove('gone', {force: true})
    assert.equal(countRows(t.store, 'leases', 'gone'), 0)
    assert.equal(countRows(t.store, 'lease_resources', 'gone'), 0)
  })
})
