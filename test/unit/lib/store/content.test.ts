// The content store within one process: the writer's happy path and every failure (nothing in
// blobs/ nor rows after a refused blob, locks released), visibility per namespace, labels, delete,
// leases, and exactly one event per change.
import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {describe as text, errorKind} from '../../../../src/lib/errors/index.js'
import type {Store} from '../../../../src/lib/store/index.js'
import {blobFiles, countRows, eventTriples, putBlob, reopenStore, type TempStore, tempStore, testBlob} from '../../../helpers/store.js'

const ingestDirs = (store: Store): string[] => {
  try {
    return readdirSync(join(store.root, 'content', 'ingest'))
  } catch {
    return []
  }
}

/** Opening a writer for the same digest again must not wait: the failed writer released its locks. */
async function assertUnlocked(store: Store, ns: string, blob: {digest: string; size: number}): Promise<void> {
  const timer = new Promise((_, reject) => setTimeout(() => reject(new Error('locks were not released')), 5000).unref())
  const opened = await Promise.race([store.content.openWriter(ns, {ref: `probe-${blob.digest}`, expected: blob}), timer])
  const result = opened as Awaited<ReturnType<Store['content']['openWriter']>>
  if (result.status === 'write') await result.writer.abort()
}

describe('ContentStore writer', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('happy path: stream, commit, visible, file 0644, one create event, namespace created implicitly', async () => {
    const {store} = t
    const blob = testBlob('hello', 100_000)
    const before = eventTriples(store).length
    const opened = await store.content.openWriter('happy', {ref: 'layer-happy', expected: {digest: blob.digest, size: blob.size}, labels: {a: '1'}})
    assert.equal(opened.status, 'write')
    if (opened.status !== 'write') return
    const w = opened.writer
    assert.equal(w.offset, 0)
    assert.equal(w.total, blob.size)
    assert.equal(w.ref, 'layer-happy')
    for (let i = 0; i < blob.size; i += 7000) await w.write(blob.bytes.subarray(i, i + 7000))
    assert.equal(w.offset, blob.size)
    const info = await w.commit({labels: {b: '2'}, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip'})
    assert.equal(info.digest, blob.digest)
    assert.equal(info.size, blob.size)
    assert.deepEqual(info.labels, {a: '1', b: '2'})
    assert.deepEqual(store.content.info('happy', blob.digest), info)
    const path = store.content.path('happy', blob.digest)
    assert.equal(path, join(store.root, 'content', 'blobs', 'sha256', blob.digest.slice(7)))
    assert.equal(statSync(path).mode & 0o777, 0o644)
    assert.equal(statSync(join(store.root, 'content', 'blobs', 'sha256')).mode & 0o777, 0o700)
    assert.deepEqual(store.content.readBytes('happy', blob.digest), blob.bytes)
    assert.deepEqual(ingestDirs(store), [], 'the ingest is gone after commit')
    assert.deepEqual(eventTriples(store).slice(before), [
      ['happy', '/namespaces/create', {name: 'happy'}],
      ['happy', '/content/create', {digest: blob.digest, size: blob.size, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip'}],
    ])
    // Writer is finished: further use is refused, close/abort are harmless.
    await assert.rejects(w.write(Buffer.from('x')), (err) => errorKind(err) === 'failed precondition')
    await w.close()
    await w.abort()
  })

  test('a visible digest gives "exists", merges labels, publishes nothing', async () => {
    const {store} = t
    const blob = testBlob('exists-twice')
    await putBlob(store, 'ex', blob)
    const before = eventTriples(store).length
    const again = await store.content.openWriter('ex', {ref: 'other-ref', expected: {digest: blob.digest, size: blob.size}, labels: {k: 'v'}})
    assert.equal(again.status, 'exists')
    assert.deepEqual(store.content.info('ex', blob.digest).labels, {k: 'v'})
    assert.equal(eventTriples(store).length, before)
  })

  test('wrong digest: DataLoss at commit, nothing in blobs/, no rows, ingest discarded, locks free', async () => {
    const {store} = t
    const blob = testBlob('real', 5000)
    const lie = testBlob('other', 5000)
    const filesBefore = blobFiles(store)
    const eventsBefore = eventTriples(store).length
    const opened = await store.content.openWriter('bad', {ref: 'bad-digest', expected: {digest: blob.digest, size: blob.size}})
    assert.equal(opened.status, 'write')
    if (opened.status !== 'write') return
    await opened.writer.write(lie.bytes)
    await assert.rejects(
      opened.writer.commit(),
      (err) => errorKind(err) === 'data loss' && text(err) === `"bad-digest" unexpected digest ${lie.digest}, expected ${blob.digest}: data loss`,
    )
    assert.deepEqual(blobFiles(store), filesBefore)
    assert.equal(store.db.prepare('SELECT count(*) AS n FROM blobs WHERE digest = ?').pluck().get(blob.digest), 0)
    assert.equal(countRows(store, 'content', 'bad'), 0)
    assert.deepEqual(ingestDirs(store), [])
    // Opening the ingest made the namespace exist (as containerd's ingest bucket does); no content event.
    assert.deepEqual(eventTriples(store).slice(eventsBefore), [['bad', '/namespaces/create', {name: 'bad'}]])
    await assertUnlocked(store, 'bad', blob)
  })

  test('too many bytes: refused at the chunk that exceeds, before it is written', async () => {
    const {store} = t
    const blob = testBlob('big', 1000)
    const opened = await store.content.openWriter('bad', {ref: 'too-big', expected: {digest: blob.digest, size: blob.size}})
    if (opened.status !== 'write') return assert.fail('expected write')
    await opened.writer.write(blob.bytes.subarray(0, 600))
    const ingest = join(store.root, 'content', 'ingest', ingestDirs(store)[0], 'data')
    assert.equal(statSync(ingest).size, 600)
    await assert.rejects(
      opened.writer.write(Buffer.alloc(401)),
      (err) => errorKind(err) === 'data loss' && /"too-big" failed size validation: 1001 > 1000/.test(text(err)),
    )
    assert.equal(existsSync(ingest), false, 'the ingest is discarded, the extra bytes never written')
    await assert.rejects(opened.writer.commit(), (err) => errorKind(err) === 'failed precondition')
    assert.deepEqual(blobFiles(store).includes(blob.digest), false)
    await assertUnlocked(store, 'bad', blob)
  })

  test('too few bytes at commit: DataLoss, nothing stored', async () => {
    const {store} = t
    const blob = testBlob('short', 1000)
    const opened = await store.content.openWriter('bad', {ref: 'too-short', expected: {digest: blob.digest, size: blob.size}})
    if (opened.status !== 'write') return assert.fail('expected write')
    await opened.writer.write(blob.bytes.subarray(0, 999))
    await assert.rejects(
      opened.writer.commit(),
      (err) => errorKind(err) === 'data loss' && text(err) === '"too-short" failed size validation: 999 != 1000: data loss',
    )
    assert.equal(blobFiles(store).includes(blob.digest), false)
    assert.deepEqual(ingestDirs(store), [])
    await assertUnlocked(store, 'bad', blob)
  })

  test('close keeps the partial ingest (listed as active); reopening resumes at its offset', async () => {
    const {store} = t
    const blob = testBlob('resume-in-process', 50_000)
    const first = await store.content.openWriter('res', {ref: 'layer-res', expected: {digest: blob.digest, size: blob.size}})
    if (first.status !== 'write') return assert.fail('expected write')
    await first.writer.write(blob.bytes.subarray(0, 20_000))
    await first.writer.close()
    const active = store.content.activeIngests((s) => s.ref === 'layer-res')
    assert.equal(active.length, 1)
    assert.deepEqual(
      {ref: active[0].ref, offset: active[0].offset, total: active[0].total, expected: active[0].expected, namespace: active[0].namespace},
      {ref: 'layer-res', offset: 20_000, total: blob.size, expected: blob.digest, namespace: 'res'},
    )
    assert.ok(active[0].startedAt > 0 && active[0].updatedAt >= active[0].startedAt)
    const second = await store.content.openWriter('res', {ref: 'layer-res', expected: {digest: blob.digest, size: blob.size}})
    if (second.status !== 'write') return assert.fail('expected write')
    assert.equal(second.writer.offset, 20_000)
    await second.writer.write(blob.bytes.subarray(20_000))
    const info = await second.writer.commit()
    assert.equal(info.digest, blob.digest)
    assert.deepEqual(store.content.readBytes('res', blob.digest), blob.bytes)
    assert.deepEqual(store.content.activeIngests(), [])
  })

  test('an ingest for the same ref with another total or digest is discarded and restarted', async () => {
    const {store} = t
    const a = testBlob('ref-a', 3000)
    const b = testBlob('ref-b', 4000)
    const first = await store.content.openWriter('res', {ref: 'shared-ref', expected: {digest: a.digest, size: a.size}})
    if (first.status !== 'write') return assert.fail('expected write')
    await first.writer.write(a.bytes.subarray(0, 1000))
    await first.writer.close()
    const second = await store.content.openWriter('res', {ref: 'shared-ref', expected: {digest: b.digest, size: b.size}})
    if (second.status !== 'write') return assert.fail('expected write')
    assert.equal(second.writer.offset, 0)
    await second.writer.write(b.bytes)
    await second.writer.commit()
    assert.deepEqual(store.content.readBytes('res', b.digest), b.bytes)
  })

  test('abort discards the partial data', async () => {
    const {store} = t
    const blob = testBlob('aborted', 3000)
    const opened = await store.content.openWriter('res', {ref: 'aborted', expected: {digest: blob.digest, size: blob.size}})
    if (opened.status !== 'write') return assert.fail('expected write')
    await opened.writer.write(blob.bytes.subarray(0, 10))
    await opened.writer.abort()
    assert.deepEqual(
      store.content.activeIngests((s) => s.ref === 'aborted'),
      [],
    )
  })

  test('a corrupted partial ingest is caught by the digest check on commit', async () => {
    const {store} = t
    const blob = testBlob('corrupt', 3000)
    const first = await store.content.openWriter('res', {ref: 'corrupt', expected: {digest: blob.digest, size: blob.size}})
    if (first.status !== 'write') return assert.fail('expected write')
    await first.writer.write(blob.bytes.subarray(0, 1000))
    await first.writer.close()
    const dir = join(store.root, 'content', 'ingest', ingestDirs(store)[0])
    writeFileSync(join(dir, 'data'), Buffer.alloc(1000, 1)) // bit rot in the kept part
    const second = await store.content.openWriter('res', {ref: 'corrupt', expected: {digest: blob.digest, size: blob.size}})
    if (second.status !== 'write') return assert.fail('expected write')
    assert.equal(second.writer.offset, 1000)
    await second.writer.write(blob.bytes.subarray(1000))
    await assert.rejects(second.writer.commit(), (err) => errorKind(err) === 'data loss')
    assert.equal(blobFiles(store).includes(blob.digest), false)
  })

  test('an empty blob is a valid blob', async () => {
    const {store} = t
    const blob = testBlob('')
    assert.equal(await putBlob(store, 'empty', blob), 'write')
    assert.equal(store.content.info('empty', blob.digest).size, 0)
    assert.deepEqual(eventTriples(store).at(-1), ['empty', '/content/create', {digest: blob.digest}])
  })

  test('argument checks', async () => {
    const {store} = t
    const blob = testBlob('args')
    const expected = {digest: blob.digest, size: blob.size}
    await assert.rejects(store.content.openWriter('ns', {ref: '', expected}), (err) => text(err) === 'ref must not be empty: invalid argument')
    await assert.rejects(store.content.openWriter('ns', {ref: 'r', expected: {digest: 'sha256:abc', size: 1}}), (err) => errorKind(err) === 'invalid argument')
    await assert.rejects(store.content.openWriter('ns', {ref: 'r', expected: {digest: blob.digest, size: -1}}), (err) => errorKind(err) === 'invalid argument')
    await assert.rejects(store.content.openWriter('bad ns', {ref: 'r', expected}), (err) => errorKind(err) === 'invalid argument')
    await assert.rejects(store.content.openWriter('ns', {ref: 'r', expected, leaseId: 'nope'}), (err) => text(err) === 'lease "nope": not found')
  })
})

describe('ContentStore records', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('info/path/readBytes/setLabels/delete of an invisible digest: NotFound with containerd text', () => {
    const missing = testBlob('missing').digest
    const c = t.store.content
    for (const call of [
      () => c.info('x', missing),
      () => c.path('x', missing),
      () => c.readBytes('x', missing),
      () => c.setLabels('x', missing, {a: 'b'}),
      () => c.delete('x', missing),
    ]) {
      assert.throws(call, (err) => errorKind(err) === 'not found' && text(err) === `content digest ${missing}: not found`)
    }
  })

  test('list is per namespace and ordered by digest', async () => {
    const blobs = ['one', 'two', 'three'].map((s) => testBlob(s))
    for (const b of blobs) await putBlob(t.store, 'lst', b)
    await putBlob(t.store, 'lst2', blobs[0])
    assert.deepEqual(
      t.store.content.list('lst').map((i) => i.digest),
      blobs.map((b) => b.digest).sort(),
    )
    assert.deepEqual(
      t.store.content.list('lst2').map((i) => i.digest),
      [blobs[0].digest],
    )
    assert.deepEqual(t.store.content.list('nobody'), [])
  })

  test('setLabels merges, removes with empty values, replaces all on request; no event', async () => {
    const blob = testBlob('labelled')
    await putBlob(t.store, 'lbl', blob, {labels: {a: '1', b: '2'}})
    const before = eventTriples(t.store).length
    assert.deepEqual(t.store.content.setLabels('lbl', blob.digest, {c: '3', a: ''}).labels, {b: '2', c: '3'})
    assert.deepEqual(t.store.content.setLabels('lbl', blob.digest, {z: '9'}, {replaceAll: true}).labels, {z: '9'})
    assert.equal(eventTriples(t.store).length, before)
    assert.throws(
      () => t.store.content.setLabels('lbl', blob.digest, {k: 'x'.repeat(5000)}),
      (err) => errorKind(err) === 'invalid argument',
    )
  })

  test('delete removes only that namespace record, one /content/delete event, bytes stay for GC', async () => {
    const blob = testBlob('deleted')
    await putBlob(t.store, 'del1', blob)
    await putBlob(t.store, 'del2', blob)
    const before = eventTriples(t.store).length
    t.store.content.delete('del1', blob.digest)
    assert.deepEqual(eventTriples(t.store).slice(before), [['del1', '/content/delete', {digest: blob.digest}]])
    assert.throws(
      () => t.store.content.info('del1', blob.digest),
      (err) => errorKind(err) === 'not found',
    )
    assert.equal(t.store.content.info('del2', blob.digest).digest, blob.digest)
    assert.ok(existsSync(join(t.store.root, 'content', 'blobs', 'sha256', blob.digest.slice(7))))
  })

  test('leases: an ingest joins the lease while open; the committed digest replaces it; "exists" adds too', async () => {
    const lease = t.store.leases.create('lsd', {id: 'pull-1'})
    const blob = testBlob('leased', 2000)
    const opened = await t.store.content.openWriter('lsd', {ref: 'leased-ref', expected: {digest: blob.digest, size: blob.size}, leaseId: lease.id})
    if (opened.status !== 'write') return assert.fail('expected write')
    assert.deepEqual(t.store.leases.resources('lsd', lease.id), [{kind: 'ingest', ref: 'leased-ref'}])
    await opened.writer.write(blob.bytes)
    await opened.writer.commit()
    assert.deepEqual(t.store.leases.resources('lsd', lease.id), [{kind: 'content', ref: blob.digest}])
    const other = t.store.leases.create('lsd', {id: 'pull-2'})
    assert.equal((await t.store.content.openWriter('lsd', {ref: 'x', expected: {digest: blob.digest, size: blob.size}, leaseId: other.id})).status, 'exists')
    assert.deepEqual(t.store.leases.resources('lsd', other.id), [{kind: 'content', ref: blob.digest}])
  })

  test('the bytes on disk are the committed bytes', async () => {
    const blob = testBlob('disk', 12345)
    await putBlob(t.store, 'disk', blob)
    assert.deepEqual(readFileSync(t.store.content.path('disk', blob.digest)), blob.bytes)
  })
})

describe('ContentStore sharing policy', () => {
  let t: TempStore
  let isolated: Store
  before(async () => {
    t = await tempStore({content_sharing_policy: 'shared'})
    isolated = await reopenStore(t, {content_sharing_policy: 'isolated'})
  })
  after(() => {
    isolated.close()
    t.cleanup()
  })

  test('shared: another namespace records the blob with zero bytes, one create event there', async () => {
    const blob = testBlob('share-me', 4000)
    await putBlob(t.store, 's1', blob)
    assert.equal(t.store.content.canShare('s2', blob.digest), true)
    const before = eventTriples(t.store).length
    const opened = await t.store.content.openWriter('s2', {ref: 'r', expected: {digest: blob.digest, size: blob.size}, labels: {x: 'y'}})
    assert.equal(opened.status, 'shared')
    if (opened.status !== 'shared') return
    assert.deepEqual(opened.info.labels, {x: 'y'})
    assert.deepEqual(eventTriples(t.store).slice(before), [
      ['s2', '/namespaces/create', {name: 's2'}],
      ['s2', '/content/create', {digest: blob.digest, size: blob.size}],
    ])
    assert.deepEqual(
      blobFiles(t.store).filter((d) => d === blob.digest),
      [blob.digest],
      'one copy on disk',
    )
  })

  test('shared: a size that does not match the stored blob is not shared', async () => {
    const blob = testBlob('size-mismatch', 100)
    await putBlob(t.store, 's1', blob)
    const opened = await t.store.content.openWriter('s3', {ref: 'r-size', expected: {digest: blob.digest, size: 99}})
    assert.equal(opened.status, 'write')
    if (opened.status === 'write') await opened.writer.abort()
  })

  test('isolated: knowing the digest grants nothing; the namespace streams every byte; still one file', async () => {
    const blob = testBlob('secret', 6000)
    await putBlob(isolated, 'i1', blob)
    const file = join(isolated.root, 'content', 'blobs', 'sha256', blob.digest.slice(7))
    const inode = statSync(file).ino
    assert.equal(isolated.content.canShare('i2', blob.digest), false)
    assert.throws(
      () => isolated.content.info('i2', blob.digest),
      (err) => errorKind(err) === 'not found',
    )
    assert.throws(
      () => isolated.content.path('i2', blob.digest),
      (err) => errorKind(err) === 'not found',
    )
    const opened = await isolated.content.openWriter('i2', {ref: 'i2-ref', expected: {digest: blob.digest, size: blob.size}})
    assert.equal(opened.status, 'write')
    if (opened.status !== 'write') return
    assert.equal(opened.writer.offset, 0)
    await opened.writer.write(blob.bytes)
    await opened.writer.commit()
    assert.equal(isolated.content.info('i2', blob.digest).size, blob.size)
    assert.equal(statSync(file).ino, inode, 'the file already on disk was kept')
    assert.deepEqual(
      blobFiles(isolated).filter((d) => d === blob.digest),
      [blob.digest],
    )
  })

  test('isolated: a wrong stream into a known digest is refused and the stored file is untouched', async () => {
    const blob = testBlob('secret-2', 3000)
    await putBlob(isolated, 'i1', blob)
    const opened = await isolated.content.openWriter('i3', {ref: 'i3-ref', expected: {digest: blob.digest, size: blob.size}})
    if (opened.status !== 'write') return assert.fail('expected write')
    await opened.writer.write(Buffer.alloc(blob.size))
    await assert.rejects(opened.writer.commit(), (err) => errorKind(err) === 'data loss')
    assert.deepEqual(readFileSync(join(isolated.root, 'content', 'blobs', 'sha256', blob.digest.slice(7))), blob.bytes)
    assert.throws(
      () => isolated.content.info('i3', blob.digest),
      (err) => errorKind(err) === 'not found',
    )
  })

  test("isolated: another namespace's partial ingest for the same ref is not resumed", async () => {
    const blob = testBlob('partial-iso', 3000)
    const first = await isolated.content.openWriter('i1', {ref: 'iso-ref', expected: {digest: blob.digest, size: blob.size}})
    if (first.status !== 'write') return assert.fail('expected write')
    await first.writer.write(blob.bytes.subarray(0, 2000))
    await first.writer.close()
    const second = await isolated.content.openWriter('i4', {ref: 'iso-ref', expected: {digest: blob.digest, size: blob.size}})
    if (second.status !== 'write') return assert.fail('expected write')
    assert.equal(second.writer.offset, 0)
    await second.writer.abort()
  })

  test('isolated: a namespace labelled shareable=true shares into others', async () => {
    const blob = testBlob('public', 2000)
    await putBlob(isolated, 'pub', blob)
    assert.equal(isolated.content.canShare('i5', blob.digest), false)
    isolated.namespaces.setLabels('pub', {'containerd.io/namespace.shareable': 'true'})
    assert.equal(isolated.content.canShare('i5', blob.digest), true)
    assert.equal((await isolated.content.openWriter('i5', {ref: 'p', expected: {digest: blob.digest, size: blob.size}})).status, 'shared')
    isolated.namespaces.setLabels('pub', {'containerd.io/namespace.shareable': 'yes'})
    assert.equal(isolated.content.canShare('i6', blob.digest), false, 'any value other than "true" does not share')
  })
})
