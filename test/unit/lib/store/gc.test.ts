// Garbage collection: per-namespace reachability from images, leases, gc.root labels and live
// ingests through gc.ref.content labels; records and then unreferenced files are removed (one
// event per record), what another namespace references stays, a dry run explains and changes
// nothing, and a blob whose lock is held is skipped.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {acquireLock, blobPath, collectGarbage, gcIncomplete, type GcReport, type Store} from '../../../../src/lib/store/index.js'
import {ingestKey} from '../../../../src/lib/store/ingest.js'
import {processOwner} from '../../../../src/lib/store/process-owner.js'
import {makeDeepTree} from '../../../helpers/deep-tree.js'
import {blobFiles, countRows, eventTriples, putBlob, type TempStore, tempStore, type TestBlob, testBlob} from '../../../helpers/store.js'

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

interface Pulled {
  manifest: TestBlob
  config: TestBlob
  layers: TestBlob[]
}

/** Record an image the way the pull does: blobs, then gc.ref labels on the manifest, then the image. */
async function pullLike(store: Store, ns: string, name: string, layers: TestBlob[], configText: string): Promise<Pulled> {
  const config = testBlob(configText)
  const desc = (b: TestBlob, mediaType: string) => ({mediaType, digest: b.digest, size: b.size})
  const manifest = testBlob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: desc(config, 'application/vnd.oci.image.config.v1+json'),
      layers: layers.map((l) => desc(l, 'application/vnd.oci.image.layer.v1.tar+gzip')),
    }),
  )
  for (const l of layers) await putBlob(store, ns, l)
  await putBlob(store, ns, config)
  const labels: Record<string, string> = {'containerd.io/gc.ref.content.config': config.digest}
  layers.forEach((l, i) => (labels[`containerd.io/gc.ref.content.l.${i}`] = l.digest))
  await putBlob(store, ns, manifest, {labels})
  store.images.put(ns, {name, target: desc(manifest, OCI_MANIFEST)})
  return {manifest, config, layers}
}

const isRoot = process.getuid?.() === 0
const ids = (r: GcReport['removed']) => r.map((x) => `${x.kind} ${x.namespace ?? '-'} ${x.id}`)

describe('collectGarbage', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('keeps what another namespace still references and deletes the rest: rows, files, one event each', async () => {
    const {store} = t
    const [l1, l2, l3] = [testBlob('L1', 3000), testBlob('L2', 3000), testBlob('L3', 3000)]
    const a = await pullLike(store, 'gc-a', 'docker.io/library/a:1', [l1, l2], 'config A')
    const b = await pullLike(store, 'gc-b', 'docker.io/library/b:1', [l1, l3], 'config B')
    const stray = testBlob('stray in a')
    await putBlob(store, 'gc-a', stray)

    let report = await collectGarbage(store)
    assert.deepEqual(ids(report.removed), [`content gc-a ${stray.digest}`, `blob - ${stray.digest}`])
    assert.equal(blobFiles(store).includes(stray.digest), false)

    store.images.delete('gc-a', 'docker.io/library/a:1')
    const eventsBefore = eventTriples(store).length
    report = await collectGarbage(store, {explain: false})
    const goneInA = [a.manifest, a.config, l1, l2].map((x) => x.digest).sort()
    const goneFiles = [a.manifest, a.config, l2].map((x) => x.digest).sort()
    assert.deepEqual(ids(report.removed), [...goneInA.map((d) => `content gc-a ${d}`), ...goneFiles.map((d) => `blob - ${d}`)])
    assert.deepEqual(report.kept, [], 'explain: false lists no reasons')
    assert.deepEqual(
      eventTriples(store).slice(eventsBefore),
      goneInA.map((d) => ['gc-a', '/content/delete', {digest: d}]),
    )
    assert.equal(countRows(store, 'content', 'gc-a'), 0)
    for (const d of goneFiles) assert.equal(blobFiles(store).includes(d), false)
    for (const x of [b.manifest, b.config, l1, l3]) {
      assert.ok(blobFiles(store).includes(x.digest), 'still referenced from gc-b')
      assert.equal(store.content.info('gc-b', x.digest).digest, x.digest)
    }
    assert.equal(countRows(store, 'blobs'), 4)

    const again = await collectGarbage(store)
    assert.deepEqual(again.removed, [])
    assert.equal(eventTriples(store).length, eventsBefore + goneInA.length)
  })

  test('dry run: every kept record with the root that reaches it; nothing changes; the real run agrees', async () => {
    const {store} = t
    const ns = 'gc-dry'
    const layer = testBlob('dry layer', 2000)
    const config = testBlob('dry config')
    const manifest = testBlob('dry manifest')
    const index = testBlob('dry index')
    await putBlob(store, ns, layer)
    await putBlob(store, ns, config)
    await putBlob(store, ns, manifest, {labels: {'containerd.io/gc.ref.content.config': config.digest, 'containerd.io/gc.ref.content.l.0': layer.digest}})
    await putBlob(store, ns, index, {labels: {'containerd.io/gc.ref.content.m.0': manifest.digest}})
    store.images.put(ns, {name: 'docker.io/library/idx:1', target: {mediaType: OCI_INDEX, digest: index.digest, size: index.size}})
    const rooted = testBlob('rooted')
    const child = testBlob('child of rooted')
    await putBlob(store, ns, child)
    await putBlob(store, ns, rooted, {labels: {'containerd.io/gc.root': '2024-01-01T00:00:00Z', 'containerd.io/gc.ref.content': child.digest}})
    const leased = testBlob('leased')
    store.leases.create(ns, {id: 'keep'})
    await putBlob(store, ns, leased, {leaseId: 'keep'})
    const stray = testBlob('dry stray')
    await putBlob(store, ns, stray)
    store.leases.create(ns, {id: 'old', expiresAt: 1})

    const snapshot = () => ({
      rows: ['content', 'blobs', 'leases', 'images', 'events'].map((tb) => countRows(store, tb)),
      files: blobFiles(store),
    })
    const before = snapshot()
    const dry = await collectGarbage(store, {dryRun: true})
    assert.deepEqual(snapshot(), before, 'a dry run changes nothing')
    assert.deepEqual(ids(dry.removed), [`lease ${ns} old`, `content ${ns} ${stray.digest}`, `blob - ${stray.digest}`])
    const reasons = Object.fromEntries(dry.kept.filter((k) => k.namespace === ns).map((k) => [k.id, k.reason]))
    assert.deepEqual(reasons, {
      [index.digest]: 'image docker.io/library/idx:1 -> index',
      [manifest.digest]: `image docker.io/library/idx:1 -> index ${index.digest} -> manifest`,
      [config.digest]: `image docker.io/library/idx:1 -> index ${index.digest} -> manifest ${manifest.digest} -> config`,
      [layer.digest]: `image docker.io/library/idx:1 -> index ${index.digest} -> manifest ${manifest.digest} -> layer`,
      [rooted.digest]: 'label containerd.io/gc.root',
      [child.digest]: `label containerd.io/gc.root -> content ${rooted.digest} -> content`,
      [leased.digest]: 'lease keep',
    })
    const real = await collectGarbage(store)
    assert.deepEqual(real.removed, dry.removed)
    assert.deepEqual(real.kept, dry.kept)
    assert.throws(() => store.leases.get(ns, 'old'))
  })

  test('a blob whose lock is held is skipped (its record still goes); the next run deletes it', async () => {
    const {store} = t
    const blob = testBlob('locked blob')
    await putBlob(store, 'gc-lock', blob)
    store.content.delete('gc-lock', blob.digest)
    const lock = await acquireLock(store.root, `blob-sha256-${blob.digest.slice(7)}`)
    try {
      const dry = await collectGarbage(store, {dryRun: true})
      assert.ok(dry.kept.some((k) => k.kind === 'blob' && k.id === blob.digest && k.reason === 'locked by a writer'))
      const report = await collectGarbage(store)
      assert.equal(
        report.removed.some((r) => r.id === blob.digest),
        false,
      )
      assert.deepEqual(
        report.kept.filter((k) => k.kind === 'blob'),
        [{kind: 'blob', id: blob.digest, reason: 'locked by a writer'}],
      )
      assert.ok(blobFiles(store).includes(blob.digest))
    } finally {
      lock.release()
    }
    const report = await collectGarbage(store)
    assert.deepEqual(ids(report.removed), [`blob - ${blob.digest}`])
    assert.equal(blobFiles(store).includes(blob.digest), false)
  })

  test('leases protect until they expire; expired ones are deleted', async () => {
    const {store} = t
    const blob = testBlob('lease-protected')
    store.leases.create('gc-lease', {id: 'short', expiresAt: Date.now() * 1000 + 60_000_000})
    await putBlob(store, 'gc-lease', blob, {leaseId: 'short'})
    assert.equal((await collectGarbage(store)).removed.length, 0)
    store.db.prepare("UPDATE leases SET expires_at = 1 WHERE id = 'short'").run()
    const report = await collectGarbage(store)
    assert.deepEqual(ids(report.removed), ['lease gc-lease short', `content gc-lease ${blob.digest}`, `blob - ${blob.digest}`])
  })

  test("ingests: a live owner's are kept, a dead owner's removed at once, unowned idle ones after the age, locked ones left alone", async () => {
    const {store} = t
    const blob = testBlob('ingesting', 5000)
    const idle = await store.content.openWriter('gc-ing', {ref: 'idle-ref', expected: {digest: blob.digest, size: blob.size}})
    if (idle.status !== 'write') return assert.fail('expected write')
    await idle.writer.write(blob.bytes.subarray(0, 100))
    await idle.writer.close()
    let report = await collectGarbage(store, {ingestMaxAgeMs: 0})
    // Closed, idle, but this (live) process owns it: never touched, whatever its age.
    assert.ok(
      report.kept.some(
        (k) => k.kind === 'ingest' && k.id === 'idle-ref' && k.namespace === 'gc-ing' && k.reason === `in progress (owner pid ${process.pid} is alive)`,
      ),
    )
    assert.equal(store.content.activeIngests().length, 1)
    assert.equal(store.content.activeIngests()[0].ownerAlive, true)
    // An ingest of an older version (no owner): the 24 h rule.
    const legacyBlob = testBlob('legacy', 5000)
    const legacy = await store.content.openWriter('gc-ing', {ref: 'legacy-ref', expected: {digest: legacyBlob.digest, size: legacyBlob.size}})
    if (legacy.status !== 'write') return assert.fail('expected write')
    await legacy.writer.write(legacyBlob.bytes.subarray(0, 100))
    await legacy.writer.close()
    rmSync(join(store.root, 'content', 'ingest', ingestKey('legacy-ref'), 'owner'))
    report = await collectGarbage(store)
    assert.ok(report.kept.some((k) => k.kind === 'ingest' && k.id === 'legacy-ref' && k.reason === 'in progress'))
    // The process that owns idle-ref is gone (an owner whose file does not exist).
    writeFileSync(join(store.root, 'content', 'ingest', ingestKey('idle-ref'), 'owner'), '999999-0badf00d')
    assert.equal(store.content.activeIngests().find((s) => s.ref === 'idle-ref')!.ownerAlive, false)

    const other = testBlob('busy', 5000)
    const busy = await store.content.openWriter('gc-ing', {ref: 'busy-ref', expected: {digest: other.digest, size: other.size}})
    if (busy.status !== 'write') return assert.fail('expected write')
    await busy.writer.write(other.bytes.subarray(0, 10))
    // Debris: an ingest directory a crash left without its data file.
    mkdirSync(join(store.root, 'content', 'ingest', 'f'.repeat(64)))
    // Its owner looks dead, but a writer holds its lock (as one that just took it over would).
    writeFileSync(join(store.root, 'content', 'ingest', ingestKey('busy-ref'), 'owner'), '999998-0badf00d')
    report = await collectGarbage(store)
    assert.deepEqual(ids(report.removed.filter((r) => r.kind === 'ingest')), ['ingest - ' + 'f'.repeat(64), 'ingest gc-ing idle-ref'])
    assert.ok(report.kept.some((k) => k.kind === 'ingest' && k.id === 'legacy-ref'))
    report = await collectGarbage(store, {ingestMaxAgeMs: 0})
    assert.deepEqual(ids(report.removed.filter((r) => r.kind === 'ingest')), ['ingest gc-ing legacy-ref'])
    assert.ok(report.kept.some((k) => k.kind === 'ingest' && k.id === 'busy-ref' && k.reason === 'locked by a writer'))
    assert.deepEqual(
      store.content.activeIngests().map((s) => s.ref),
      ['busy-ref'],
    )
    await busy.writer.write(other.bytes.subarray(10))
    await busy.writer.commit()
    assert.equal(store.content.info('gc-ing', other.digest).size, other.size)
  })

  test("leases: a dead owner's goes at once, a live owner's and an unowned one stay (a killed pull's lease needs no leases rm)", async () => {
    const {store} = t
    store.leases.create('gc-own', {id: 'dead-pull', owner: '999999-0badf00d'})
    store.leases.create('gc-own', {id: 'live-pull', owner: processOwner(store.root)})
    store.leases.create('gc-own', {id: 'by-hand'})
    assert.equal(store.leases.get('gc-own', 'dead-pull').owner, '999999-0badf00d')
    const dry = await collectGarbage(store, {dryRun: true})
    assert.deepEqual(ids(dry.removed.filter((r) => r.kind === 'lease')), ['lease gc-own dead-pull'])
    const report = await collectGarbage(store)
    assert.deepEqual(ids(report.removed.filter((r) => r.kind === 'lease')), ['lease gc-own dead-pull'])
    assert.deepEqual(
      store.leases.list('gc-own').map((l) => l.id),
      ['by-hand', 'live-pull'],
    )
    assert.ok(readdirSync(join(store.root, 'owners')).includes(processOwner(store.root)), 'a live owner file stays')
  })

  test('a blob file without a row (crash after rename) is removed', async () => {
    const {store} = t
    const orphan = testBlob('orphan file')
    const dir = join(store.root, 'content', 'blobs', 'sha256')
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, orphan.digest.slice(7)), orphan.bytes)
    writeFileSync(join(dir, 'not-a-digest'), 'x')
    const report = await collectGarbage(store)
    assert.deepEqual(ids(report.removed.filter((r) => r.id === orphan.digest)), [`blob - ${orphan.digest}`])
    assert.equal(blobFiles(store).includes(orphan.digest), false)
    assert.ok(existsSync(join(dir, 'not-a-digest')), 'files that are not blobs are not ours to delete')
  })

  test('label cycles terminate and keep both ends; image labels reference content too', async () => {
    const {store} = t
    const x = testBlob('cycle x')
    const y = testBlob('cycle y')
    await putBlob(store, 'gc-cycle', x)
    await putBlob(store, 'gc-cycle', y, {labels: {'containerd.io/gc.ref.content.a': x.digest}})
    store.content.setLabels('gc-cycle', x.digest, {'containerd.io/gc.ref.content/b': y.digest, 'containerd.io/gc.root': 'yes'})
    const z = testBlob('image-labelled')
    await putBlob(store, 'gc-cycle', z)
    const target = testBlob('cycle target')
    await putBlob(store, 'gc-cycle', target)
    store.images.put('gc-cycle', {
      name: 'img:1',
      target: {mediaType: OCI_MANIFEST, digest: target.digest, size: target.size},
      labels: {'containerd.io/gc.ref.content.extra': z.digest},
    })
    const report = await collectGarbage(store)
    assert.equal(report.removed.filter((r) => r.namespace === 'gc-cycle').length, 0)
    const kept = Object.fromEntries(report.kept.filter((k) => k.namespace === 'gc-cycle').map((k) => [k.id, k.reason]))
    assert.equal(kept[y.digest], `label containerd.io/gc.root -> content ${x.digest} -> content`)
    assert.equal(kept[z.digest], 'image img:1 -> content')
    assert.equal(kept[target.digest], 'image img:1 -> manifest')
  })

  test('namespace rm lists images, blobs and leases; --force removes every row; GC then deletes its files', async () => {
    const {store} = t
    const layer = testBlob('ns-rm layer', 1000)
    const pulled = await pullLike(store, 'gc-ns', 'docker.io/library/ns:1', [layer], 'ns config')
    store.leases.create('gc-ns', {id: 'l'})
    store.leases.addResource('gc-ns', 'l', 'content', layer.digest)
    assert.throws(
      () => store.namespaces.remove('gc-ns'),
      (err) => (err as Error).message === 'namespace "gc-ns" must be empty, but it still has images, blobs, leases',
    )
    store.namespaces.remove('gc-ns', {force: true})
    for (const table of ['images', 'content', 'leases', 'lease_resources']) assert.equal(countRows(store, table, 'gc-ns'), 0, table)
    await collectGarbage(store)
    for (const b of [pulled.manifest, pulled.config, layer]) assert.equal(blobFiles(store).includes(b.digest), false)
  })
})

// Issue 11 item 3: a hostile layer left a directory that made every later `ctr gc` fail before it
// deleted anything, so nothing was ever collected again.
describe('regression: one object GC cannot remove stopped the whole collection', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())
  const snapDir = (id: string) => join(t.store.root, 'snapshots', 'overlayfs', id)
  const failedIds = (r: GcReport) => r.failed.map((f) => `${f.kind} ${f.id}`)

  test('a leftover snapshot directory deeper than PATH_MAX is removed with the rest', async () => {
    const stray = testBlob('stray next to a deep tree')
    await putBlob(t.store, 'gc-deep', stray)
    makeDeepTree(join(snapDir('deepdir'), 'fs'), 2100) // 4.2 kB: past PATH_MAX
    mkdirSync(join(snapDir('plaindir'), 'fs'), {recursive: true})
    const report = await collectGarbage(t.store)
    assert.deepEqual(report.failed, [])
    assert.deepEqual(ids(report.removed), [
      `content gc-deep ${stray.digest}`,
      `blob - ${stray.digest}`,
      'snapshot-dir - overlayfs/deepdir',
      'snapshot-dir - overlayfs/plaindir',
    ])
    assert.deepEqual(readdirSync(join(t.store.root, 'snapshots', 'overlayfs')), [])
    assert.equal(gcIncomplete(report), undefined)
  })

  test('an immutable blob file and an immutable file in a snapshot directory are reported; everything else goes', {
    skip: !isRoot && !process.env['CI'] ? 'needs root (chattr)' : false,
  }, async () => {
    const {store} = t
    const [gone, stuck] = [testBlob('collectable'), testBlob('immutable blob')]
    await putBlob(store, 'gc-stuck', gone)
    await putBlob(store, 'gc-stuck', stuck)
    for (const id of ['dirone', 'dirtwo', 'dirthree']) mkdirSync(join(snapDir(id), 'fs', 'etc'), {recursive: true})
    writeFileSync(join(snapDir('dirtwo'), 'fs', 'etc', 'stuck'), 'x')
    makeDeepTree(join(snapDir('dirthree'), 'fs'), 300)
    const immutable = [blobPath(store.root, stuck.digest), join(snapDir('dirtwo'), 'fs', 'etc', 'stuck')]
    const chattr = (flag: string) => {
      for (const p of immutable) assert.equal(spawnSync('chattr', [flag, p]).status, 0, `chattr ${flag} ${p}`)
    }
    chattr('+i')
    try {
      const report = await collectGarbage(store)
      assert.deepEqual(failedIds(report), [`blob ${stuck.digest}`, 'snapshot-dir overlayfs/dirtwo'])
      assert.match(report.failed[0].error, /^blob sha256:[0-9a-f]{64}: EPERM: operation not permitted$/)
      assert.match(
        report.failed[1].error,
        /^cannot remove ".*\/dirtwo": unlink .*\/dirtwo\/fs\/etc\/stuck: EPERM: operation not permitted \(and 2 more failures\)$/,
      )
      assert.deepEqual(
        report.failed.map((f) => f.errorKind),
        ['permission denied', 'permission denied'],
      )
      assert.deepEqual(ids(report.removed), [
        `content gc-stuck ${gone.digest}`,
        `content gc-stuck ${stuck.digest}`,
        `blob - ${gone.digest}`,
        'snapshot-dir - overlayfs/dirone',
        'snapshot-dir - overlayfs/dirthree',
      ])
      assert.deepEqual(readdirSync(join(store.root, 'snapshots', 'overlayfs')), ['dirtwo'])
      assert.deepEqual(blobFiles(store), [stuck.digest], 'its row is gone, its file stays for the next run')
      const incomplete = gcIncomplete(report)!
      assert.equal(errorKind(incomplete), 'permission denied')
      assert.equal(incomplete.message, 'gc: 2 objects could not be removed (everything else was collected)')
    } finally {
      chattr('-i')
    }
    // The next run finds both again, as files without a row.
    const again = await collectGarbage(store)
    assert.deepEqual(again.failed, [])
    assert.deepEqual(ids(again.removed), [`blob - ${stuck.digest}`, 'snapshot-dir - overlayfs/dirtwo'])
    assert.deepEqual(blobFiles(store), [])
  })
})

describe('collectGarbage at scale', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('10,000 images sharing layers: one run stays well under a few seconds', async () => {
    const {db} = t.store
    const now = Date.now() * 1000
    const shared = Array.from({length: 5}, (_, i) => testBlob(`base layer ${i}`).digest)
    db.transaction(() => {
      t.store.namespaces.ensureIn('scale')
      const blob = db.prepare('INSERT OR IGNORE INTO blobs (digest, size, created_at) VALUES (?, 1, ?)')
      const content = db.prepare("INSERT OR IGNORE INTO content (namespace, digest, size, labels, created_at, updated_at) VALUES ('scale', ?, 1, ?, ?, ?)")
      const image = db.prepare(
        "INSERT INTO images (namespace, name, target_media_type, target_digest, target_size, labels, created_at, updated_at) VALUES ('scale', ?, " +
          "?, ?, 1, '{}', ?, ?)",
      )
      for (const d of shared) {
        blob.run(d, now)
        content.run(d, '{}', now, now)
      }
      for (let i = 0; i < 10_000; i++) {
        const own = testBlob(`own layer ${i}`).digest
        const cfg = testBlob(`config ${i}`).digest
        const man = testBlob(`manifest ${i}`).digest
        const labels: Record<string, string> = {'containerd.io/gc.ref.content.config': cfg, 'containerd.io/gc.ref.content.l.5': own}
        shared.forEach((d, j) => (labels[`containerd.io/gc.ref.content.l.${j}`] = d))
        for (const [d, l] of [
          [own, '{}'],
          [cfg, '{}'],
          [man, JSON.stringify(labels)],
        ] as const) {
          blob.run(d, now)
          content.run(d, l, now, now)
        }
        image.run(`docker.io/library/img:${i}`, OCI_MANIFEST, man, now, now)
      }
    }).immediate()
    const started = performance.now()
    const report = await collectGarbage(t.store)
    const ms = performance.now() - started
    assert.equal(report.removed.length, 0)
    assert.equal(report.kept.length, 30_005)
    // A guard against a quadratic sweep (minutes), not a speed target: the bench measures speed, and
    // CI runs this beside CPU-heavy tests (the install test compiles better-sqlite3).
    assert.ok(ms < 30_000, `took ${ms.toFixed(0)} ms`)
    const quick = performance.now()
    await collectGarbage(t.store, {explain: false})
    process.stdout.write(`# gc over 30,005 records: ${ms.toFixed(0)} ms with reasons, ${(performance.now() - quick).toFixed(0)} ms without\n`)
    assert.deepEqual(
      readdirSync(join(t.store.root, 'locks')).filter((n) => n.startsWith('blob-')),
      [],
      'no blob needed a lock',
    )
  })
})
