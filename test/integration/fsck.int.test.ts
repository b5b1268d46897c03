// `ctr fsck` against real damage: each kind of problem is made by hand (a deleted, truncated or
// flipped blob, an orphan snapshot directory, a missing snapshot directory, a stale mount, a task
// whose processes were killed, leftover runc state, ingests and temp files, a damaged meta.db page),
// must be reported with exit 8, fixed by --repair, and gone on a second run (exit 0); data a row
// references is never deleted. Runs as root with runc, conmon and docker-registry; skips elsewhere
// unless CI is set.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync, writeSync, closeSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {type Sandbox, sandbox} from '../helpers/cli.js'
import {busyboxImage} from '../helpers/oci-image.js'
import {pushImage, type RunningRegistry, startRegistry} from '../helpers/registry.js'
import {cleanupSandbox, eventsOf, isMountPoint, mountsUnder, openDb, processAlive, runtimeSkipReason, waitFor} from '../helpers/tasks.js'

const skip = runtimeSkipReason()

describe('ctr fsck', {skip}, () => {
  let reg: RunningRegistry
  let ref: string
  const sandboxes: Sandbox[] = []
  before(async () => {
    reg = await startRegistry()
    await pushImage(reg, 'library/bb:1', await busyboxImage())
    ref = `${reg.host}/library/bb:1`
  })
  after(async () => {
    for (const sb of sandboxes) cleanupSandbox(sb)
    await reg?.stop()
  })

  /** A new store holding the pulled (and unpacked) busybox image. */
  const fresh = (): Sandbox => {
    const sb = sandbox('berth-fsck-')
    sandboxes.push(sb)
    sb.ok(['images', 'pull', '-q', '--plain-http', ref])
    sb.ok(['fsck'])
    return sb
  }
  const blobs = (sb: Sandbox) => {
    const db = openDb(sb, {readonly: true})
    try {
      return db.prepare('SELECT digest, size FROM blobs ORDER BY size DESC').all() as Array<{digest: string; size: number}>
    } finally {
      db.close()
    }
  }
  const blobFile = (sb: Sandbox, digest: string) => join(sb.root, 'content', 'blobs', ...digest.split(':'))
  /** Run fsck expecting `code`; returns stdout. */
  const fsck = (sb: Sandbox, args: string[], code: number) => {
    const r = sb.run(['fsck', ...args])
    assert.equal(r.code, code, `fsck ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`)
    if (code === 8) assert.match(r.stderr, /^ctr: fsck: \d+ problems? remains?\n$/)
    return r.stdout
  }
  /** Report, repair, then a clean second run; returns the first report. */
  const reportRepairClean = (sb: Sandbox, line: RegExp, args: string[] = []) => {
    const report = fsck(sb, args, 8)
    assert.match(report, line)
    const repaired = fsck(sb, [...args, '--repair'], 0)
    assert.match(repaired, /repaired: /)
    assert.doesNotMatch(repaired, /not repaired/)
    assert.equal(fsck(sb, args, 0), '')
    return report
  }
  /** Every blob file other than `except` is still there. */
  const assertBlobsKept = (sb: Sandbox, before: Array<{digest: string}>, except: string) => {
    for (const b of before) if (b.digest !== except) assert.ok(existsSync(blobFile(sb, b.digest)), `${b.digest} was deleted`)
  }

  test('a clean store: exit 0, nothing printed, json lists nothing', () => {
    const sb = fresh()
    assert.equal(fsck(sb, ['--full'], 0), '')
    assert.deepEqual(JSON.parse(fsck(sb, ['--format', 'json'], 0)), {problems: [], remaining: []})
  })

  test('a deleted blob file: reported, its records dropped, a pull fetches it again', () => {
    const sb = fresh()
    const all = blobs(sb)
    const layer = all[0].digest
    rmSync(blobFile(sb, layer))
    const report = reportRepairClean(sb, new RegExp(`blob\\s+${layer}\\s+file is missing\\s+drop its records`))
    assert.equal(report.trim().split('\n').length, 2) // header + one line
    assertBlobsKept(sb, all, layer)
    const events = openDb(sb, {readonly: true})
    const deletes = events.prepare("SELECT count(*) AS n FROM events WHERE topic = '/content/delete' AND payload LIKE ?").get(`%${layer}%`) as {n: number}
    events.close()
    assert.equal(deletes.n, 1)
    sb.ok(['images', 'pull', '-q', '--plain-http', ref])
    assert.ok(existsSync(blobFile(sb, layer)))
    sb.ok(['fsck', '--full'])
  })

  test('a truncated blob: moved to lost+found, not deleted', () => {
    const sb = fresh()
    const all = blobs(sb)
    const layer = all[0]
    truncateSync(blobFile(sb, layer.digest), 10)
    reportRepairClean(sb, new RegExp(`blob\\s+${layer.digest}\\s+file has 10 bytes, its record ${layer.size}`))
    const lost = readdirSync(join(sb.root, 'lost+found'))
    assert.equal(lost.length, 1)
    assert.equal(statSync(join(sb.root, 'lost+found', lost[0])).size, 10)
    assertBlobsKept(sb, all, layer.digest)
  })

  test('a flipped byte: only --full sees it, and --repair keeps the bytes aside', () => {
    const sb = fresh()
    const all = blobs(sb)
    const layer = all[0]
    const fd = openSync(blobFile(sb, layer.digest), 'r+')
    const byte = Buffer.alloc(1)
    readSync(fd, byte, 0, 1, 100)
    byte[0] ^= 0xff
    writeSync(fd, byte, 0, 1, 100)
    closeSync(fd)
    assert.equal(fsck(sb, [], 0), '')
    reportRepairClean(sb, new RegExp(`blob\\s+${layer.digest}\\s+content hashes to sha256:`), ['--full'])
    assert.equal(readdirSync(join(sb.root, 'lost+found')).length, 1)
    assertBlobsKept(sb, all, layer.digest)
  })

  test("an orphan snapshot directory, a leftover blob file and a dead writer's ingest go; a fresh ingest stays", () => {
    const sb = fresh()
    const all = blobs(sb)
    const orphan = join(sb.root, 'snapshots', 'overlayfs', 'zzzzfsckorphan')
    mkdirSync(join(orphan, 'fs'), {recursive: true})
    writeFileSync(join(orphan, 'fs', 'file'), 'x')
    const stray = Buffer.from('stray blob')
    const strayDigest = `sha256:${createHash('sha256').update(stray).digest('hex')}`
    writeFileSync(blobFile(sb, strayDigest), stray)
    const ingest = (ref: string, ageS: number) => {
      const dir = join(sb.root, 'content', 'ingest', createHash('sha256').update(ref).digest('hex'))
      mkdirSync(dir, {recursive: true})
      const at = String((Date.now() - ageS * 1000) * 1000)
      for (const [name, value] of Object.entries({
        ref,
        total: '100',
        startedat: at,
        updatedat: at,
        expected: strayDigest,
        namespace: 'default',
        data: 'partial',
      }))
        writeFileSync(join(dir, name), value)
      const t = new Date(Date.now() - ageS * 1000)
      utimesSync(join(dir, 'data'), t, t)
      return dir
    }
    const stale = ingest('fetch-stale', 25 * 3600)
    const live = ingest('fetch-recent', 10)
    const report = reportRepairClean(sb, /snapshot-dir\s+overlayfs\/zzzzfsckorphan\s+leftover directory/)
    assert.match(report, new RegExp(`blob\\s+${strayDigest}\\s+leftover file`))
    assert.match(report, /ingest\s+default\/fetch-stale\s+leftover download/)
    assert.doesNotMatch(report, /fetch-recent/)
    assert.ok(!existsSync(orphan) && !existsSync(stale) && existsSync(live))
    assertBlobsKept(sb, all, '')
  })

  test('a missing snapshot directory: its records go, and a pull unpacks again', () => {
    const sb = fresh()
    const db = openDb(sb, {readonly: true})
    const dir = db.prepare("SELECT id FROM snapshot_dirs WHERE snapshotter = 'overlayfs' ORDER BY created_at DESC LIMIT 1").get() as {id: string}
    db.close()
    rmSync(join(sb.root, 'snapshots', 'overlayfs', dir.id), {recursive: true})
    reportRepairClean(sb, new RegExp(`snapshot\\s+overlayfs/${dir.id}\\s+directory is missing`))
    sb.ok(['images', 'pull', '-q', '--plain-http', ref])
    sb.ok(['run', '--rm', ref, `fsck-unpacked-${process.pid}`, 'true'])
    sb.ok(['fsck'])
  })

  test("a stale rootfs mount, leftover runc state and a dead writer's temp file", () => {
    const sb = fresh()
    const target = join(sb.state, 'tasks', 'default', 'ghost', 'rootfs')
    mkdirSync(target, {recursive: true})
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', 'none', target]).status, 0)
    mkdirSync(join(sb.state, 'runc', 'default', 'ghost'), {recursive: true})
    writeFileSync(join(sb.state, 'runc', 'default', 'ghost', 'state.json'), '{}')
    const containerDir = join(sb.root, 'containers', 'default', 'ghost')
    mkdirSync(containerDir, {recursive: true})
    writeFileSync(join(containerDir, '.spec.json.99999999.abcdef.tmp'), '{')
    const report = reportRepairClean(sb, new RegExp(`mount\\s+${target}\\s+rootfs of default/ghost is mounted`))
    assert.match(report, /runc-state\s+default\/ghost/)
    assert.match(report, /temp\s+\S+\.spec\.json\.99999999\.abcdef\.tmp/)
    assert.ok(!isMountPoint(target))
    assert.ok(!existsSync(join(sb.state, 'runc', 'default', 'ghost')))
  })

  test('a task whose monitor and process were killed: its exit is recorded once, its mount and runc state go', async () => {
    const sb = fresh()
    const id = `fsck-dead-${process.pid}`
    sb.ok(['run', '-d', ref, id, 'sleep', '1000'])
    const row = await waitFor('a running task', () => {
      const db = openDb(sb)
      const r = db.prepare('SELECT pid, monitor_pid AS monitorPid FROM tasks WHERE namespace = ? AND container_id = ?').get('default', id) as
        | {pid: number; monitorPid: number}
        | undefined
      db.close()
      return r && r.pid > 0 && r.monitorPid > 0 && r
    })
    process.kill(row.monitorPid, 'SIGKILL')
    process.kill(row.pid, 'SIGKILL')
    await waitFor('the processes to go', () => !processAlive(row.pid) && !processAlive(row.monitorPid))
    const report = reportRepairClean(sb, new RegExp(`task\\s+default/${id}\\s+recorded running, but its process \\(pid ${row.pid}\\) is gone`))
    assert.equal(report.trim().split('\n').length, 2) // the task line covers its mount and runc state
    assert.deepEqual(mountsUnder(sb.dir), [])
    assert.equal(eventsOf(sb, 'default', id).filter((e) => e.topic === '/tasks/exit').length, 1)
    sb.ok(['tasks', 'rm', id])
    sb.ok(['containers', 'rm', id])
    sb.ok(['fsck'])
  })

  test('a damaged index page of meta.db is rebuilt; a damaged table page is reported and left alone', () => {
    const sb = fresh()
    const page = (name: string) => {
      const db = openDb(sb, {readonly: false})
      const {rootpage} = db.prepare('SELECT rootpage FROM sqlite_master WHERE name = ?').get(name) as {rootpage: number}
      const size = db.pragma('page_size', {simple: true}) as number
      db.close() // checkpoints the WAL into meta.db
      return {offset: (rootpage - 1) * size, size}
    }
    const flip = (offset: number) => {
      const fd = openSync(join(sb.root, 'meta.db'), 'r+')
      const b = Buffer.alloc(1)
      readSync(fd, b, 0, 1, offset)
      b[0] ^= 0x01
      writeSync(fd, b, 0, 1, offset)
      closeSync(fd)
    }
    const index = page('events_by_time')
    flip(index.offset + index.size - 1) // a key byte of the last cell: the index no longer matches its table
    reportRepairClean(sb, /database\s+meta\.db\s+integrity check failed: .*missing from index events_by_time\s+rebuild the indexes/)

    const table = page('events')
    flip(table.offset + (table.offset === 0 ? 100 : 0)) // the page type byte
    const report = fsck(sb, [], 8)
    assert.match(report, /database\s+meta\.db\s+integrity check failed: .*cannot repair: .*restore meta\.db from a backup/)
    assert.match(fsck(sb, ['--repair'], 8), /not repaired: cannot repair/)
    assert.ok(readdirSync(join(sb.root, 'content', 'blobs', 'sha256')).length >= 3, 'no blob deleted')
  })
})
