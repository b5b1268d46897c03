// The content writer across real processes: a writer SIGKILLed mid-blob leaves a resumable ingest
// and no lock, no row and nothing in blobs/; two processes fetching one digest at once store it
// once, only one of them streaming (under `shared`) or one after the other (under `isolated`).
import assert from 'node:assert/strict'
import {readdirSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {blobFiles, countRows, eventTriples, putBlob, spawnWriter, type TempStore, tempStore, testBlob, type WriterJob} from '../../../helpers/store.js'

describe('content writers in several processes', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  const job = (blob: {bytes: Buffer; digest: string}, overrides: Partial<WriterJob>): WriterJob => {
    const file = join(t.dir, `${blob.digest.slice(7, 19)}.bin`)
    writeFileSync(file, blob.bytes)
    return {
      root: t.store.root,
      state: t.store.state,
      policy: 'shared',
      namespace: 'default',
      ref: `layer-${blob.digest}`,
      file,
      digest: blob.digest,
      chunkSize: 16_384,
      delayMs: 0,
      ...overrides,
    }
  }

  test('a writer killed mid-blob: no row, nothing in blobs/, no lock held; reopening resumes at its offset', {timeout: 30_000}, async () => {
    const blob = testBlob('killed', 300_000)
    const child = spawnWriter(job(blob, {namespace: 'killed', pauseAt: 100_000}))
    const paused = await child.waitFor('paused')
    await child.kill()
    assert.ok(paused.offset! >= 100_000)
    assert.equal(blobFiles(t.store).includes(blob.digest), false)
    assert.equal(countRows(t.store, 'content', 'killed'), 0)
    const [active] = t.store.content.activeIngests((s) => s.ref === `layer-${blob.digest}`)
    assert.equal(active?.offset, paused.offset)

    // The killed process's flocks died with it: this does not wait.
    const opened = await t.store.content.openWriter('killed', {ref: `layer-${blob.digest}`, expected: {digest: blob.digest, size: blob.size}})
    if (opened.status !== 'write') return assert.fail(`expected write, got ${opened.status}`)
    assert.equal(opened.writer.offset, paused.offset, 'resumes where the killed writer stopped')
    await opened.writer.write(blob.bytes.subarray(opened.writer.offset))
    const info = await opened.writer.commit()
    assert.equal(info.digest, blob.digest)
    assert.deepEqual(t.store.content.readBytes('killed', blob.digest), blob.bytes)
  })

  test('shared: two processes, two namespaces, one digest at once: one streams, the other waits and records it', {timeout: 30_000}, async () => {
    const blob = testBlob('single-flight', 400_000)
    const startAt = Date.now() + 400
    const eventsBefore = eventTriples(t.store).length
    const a = spawnWriter(job(blob, {namespace: 'sf-a', delayMs: 5, startAt}))
    const b = spawnWriter(job(blob, {namespace: 'sf-b', delayMs: 5, startAt}))
    assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0])
    const opened = [...a.reports, ...b.reports].filter((r) => r.event === 'opened').map((r) => r.status)
    assert.deepEqual(opened.sort(), ['shared', 'write'], 'exactly one process streamed the bytes')
    const [streamer, waiter] = a.reports[0].status === 'write' ? [a, b] : [b, a]
    assert.ok(waiter.reports[0].at >= streamer.reports.find((r) => r.event === 'committed')!.at, 'the waiter got its answer after the commit')
    assert.deepEqual(
      blobFiles(t.store).filter((d) => d === blob.digest),
      [blob.digest],
    )
    assert.equal(t.store.content.info('sf-a', blob.digest).size, blob.size)
    assert.equal(t.store.content.info('sf-b', blob.digest).size, blob.size)
    const creates = eventTriples(t.store)
      .slice(eventsBefore)
      .filter(([, topic]) => topic === '/content/create')
      .map(([ns]) => ns)
    assert.deepEqual(creates.sort(), ['sf-a', 'sf-b'], 'one /content/create per namespace')
  })

  test('isolated: two processes at once both stream, one after the other; one file on disk', {timeout: 30_000}, async () => {
    const blob = testBlob('single-flight-isolated', 200_000)
    const startAt = Date.now() + 400
    const a = spawnWriter(job(blob, {namespace: 'iso-a', policy: 'isolated', delayMs: 2, startAt}))
    const b = spawnWriter(job(blob, {namespace: 'iso-b', policy: 'isolated', delayMs: 2, startAt}))
    assert.deepEqual(await Promise.all([a.exited, b.exited]), [0, 0])
    assert.deepEqual([a.reports[0].status, b.reports[0].status], ['write', 'write'])
    const [first, second] = a.reports[0].at <= b.reports[0].at ? [a, b] : [b, a]
    assert.ok(second.reports[0].at >= first.reports.find((r) => r.event === 'committed')!.at, 'the second writer waited for the first')
    assert.equal(second.reports[0].offset, 0, 'and streamed everything itself')
    assert.deepEqual(
      blobFiles(t.store).filter((d) => d === blob.digest),
      [blob.digest],
    )
    assert.equal(t.store.content.info('iso-a', blob.digest).digest, blob.digest)
    assert.equal(t.store.content.info('iso-b', blob.digest).digest, blob.digest)
  })

  test('a crash between rename and record leaves a file without a row; the next writer records it', async () => {
    const blob = testBlob('rename-crash', 5000)
    // Simulate: the file is in blobs/ (verified and renamed) but the process died before its transaction.
    await putBlob(t.store, 'crash-setup', blob)
    const path = t.store.content.path('crash-setup', blob.digest)
    const saved = `${path}.saved`
    renameSync(path, saved)
    t.store.content.delete('crash-setup', blob.digest)
    t.store.db.prepare('DELETE FROM blobs WHERE digest = ?').run(blob.digest)
    renameSync(saved, path)
    assert.equal(t.store.content.canShare('crash', blob.digest), false, 'a file without its row is not trusted')
    assert.equal(await putBlob(t.store, 'crash', blob), 'write')
    assert.deepEqual(t.store.content.readBytes('crash', blob.digest), blob.bytes)
    assert.deepEqual(
      readdirSync(join(t.store.root, 'content', 'blobs', 'sha256')).filter((n) => n.startsWith(blob.digest.slice(7))),
      [blob.digest.slice(7)],
    )
  })
})
