// Staged blobs: nothing is recorded until commit; commit records under the digest the store
// computed (a new blob, one this namespace has, one another namespace has on disk); discard
// leaves nothing; GC keeps a staging area in use and removes an abandoned one.
import assert from 'node:assert/strict'
import {existsSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {collectGarbage, type Store} from '../../../../src/lib/store/index.js'
import {blobFiles, countRows, eventTriples, putBlob, type TempStore, tempStore, testBlob} from '../../../helpers/store.js'

const ingestDirs = (store: Store): string[] => {
  try {
    return readdirSync(join(store.root, 'content', 'ingest'))
  } catch {
    return []
  }
}

describe('Staging', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('staged bytes are hashed and counted in any chunking, and recorded only on commit', async () => {
    const {store} = t
    const blob = testBlob('staged', 3_000_000)
    const staging = await store.openStaging('s1', 'test')
    const events = eventTriples(store).length
    const w = staging.create()
    for (let i = 0; i < blob.size; i += 777_777) await w.write(blob.bytes.subarray(i, i + 777_777))
    const staged = await w.end()
    assert.deepEqual([staged.digest, staged.size], [blob.digest, blob.size])
    assert.deepEqual(staged.head, blob.bytes.subarray(0, 16))
    assert.equal(countRows(store, 'content', 's1'), 0)
    assert.equal(eventTriples(store).length, events, 'nothing recorded, not even the namespace')
    assert.deepEqual(staging.readBytes(staged, 4 << 20), blob.bytes)

    const {created, info} = await staging.commit(staged, {mediaType: 'application/octet-stream', labels: {a: 'b'}})
    assert.ok(created)
    assert.deepEqual(info.labels, {a: 'b'})
    assert.ok(blobFiles(store).includes(blob.digest))
    assert.deepEqual(
      eventTriples(store)
        .slice(events)
        .map(([ns, topic]) => [ns, topic]),
      [
        ['s1', '/namespaces/create'],
        ['s1', '/content/create'],
      ],
    )
    staging.discard()
    assert.deepEqual(ingestDirs(store), [])
  })

  test('a blob this namespace has is re-recorded (labels merged); one on disk from another namespace is not stored twice', async () => {
    const {store} = t
    const blob = testBlob('shared', 10_000)
    await putBlob(store, 'owner', blob)
    const staging = await store.openStaging('s2', 'test')
    const w = staging.create()
    await w.write(blob.bytes)
    const staged = await w.end()
    const first = await staging.commit(staged)
    assert.ok(first.created)
    assert.equal(blobFiles(store).filter((d) => d === blob.digest).length, 1)

    assert.ok(staging.holds(blob.digest, undefined))
    const h = staging.hashOnly()
    await h.write(blob.bytes)
    const again = await staging.commit(await h.end(), {labels: {x: 'y'}})
    assert.equal(again.created, false)
    assert.deepEqual(again.info.labels, {x: 'y'})
    staging.discard()
    assert.deepEqual(ingestDirs(store), [])
  })

  test('discard drops everything staged; nothing was recorded', async () => {
    const {store} = t
    const staging = await store.openStaging('s3', 'test')
    const w = staging.create()
    await w.write(testBlob('dropped', 2_000_000).bytes)
    await w.end()
    assert.equal(ingestDirs(store).length, 1)
    staging.discard()
    staging.discard()
    assert.deepEqual(ingestDirs(store), [])
    assert.equal(countRows(store, 'content', 's3'), 0)
    await assert.rejects(async () => staging.create(), /already discarded/)
  })

  test('GC keeps a staging area while it is locked and removes an abandoned one', async () => {
    const {store} = t
    const staging = await store.openStaging('s4', 'test')
    const w = staging.create()
    await w.write(Buffer.from('x'))
    await w.end()
    const dir = ingestDirs(store)[0]
    let report = await collectGarbage(store, {ingestMaxAgeMs: 0})
    assert.ok(report.kept.some((k) => k.kind === 'ingest' && k.reason === 'locked by a writer'))
    assert.ok(existsSync(join(store.root, 'content', 'ingest', dir)))
    // A killed import: the lock is gone, the directory stays behind.
    ;(staging as unknown as {lock: {release(): void}}).lock.release()
    report = await collectGarbage(store, {ingestMaxAgeMs: 0})
    assert.ok(report.removed.some((r) => r.kind === 'ingest'))
    assert.deepEqual(ingestDirs(store), [])
  })
  test('a file made in a staging dir is adopted under the digest the store computes, renamed in private (0600) on commit', async () => {
    const {store} = t
    const blob = testBlob('adopted', 2_500_000)
    const staging = await store.openStaging('s4', 'test')
    try {
      const made = join(staging.makeDir('dump'), 'file')
      writeFileSync(made, blob.bytes, {mode: 0o600})
      assert.equal((statSync(join(made, '..')).mode & 0o777).toString(8), '700')
      const staged = staging.adopt(made)
      assert.equal(staged.digest, blob.digest)
      assert.equal(staged.size, blob.size)
      assert.equal(store.content.has('s4', blob.digest), false, 'nothing recorded before commit')
      const {created} = await staging.commit(staged, {private: true})
      assert.equal(created, true)
      const path = store.content.path('s4', blob.digest)
      assert.equal(statSync(path).mode & 0o777, 0o600)
      assert.equal(existsSync(made), false, 'renamed, not copied')
      assert.throws(() => staging.adopt('/etc/hostname'), /not in this staging area/)
    } finally {
      staging.discard()
    }
  })
})
