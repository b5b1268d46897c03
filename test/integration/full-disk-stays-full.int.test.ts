// Regression (issue 14, "a full disk stays full"): a pull that hit ENOSPC kept its lease and its
// partial downloads, `ctr gc` kept idle ingests for 24 hours even after `leases rm`, and no
// command removed them. Now a pull's lease and ingests belong to the pulling process: once it is
// gone (failed, killed) the next `ctr gc` frees them at once, while a live pull's are never
// touched; `content active -v` shows whose they are; `content rm <ref>` discards an ingest.
// The store is a small tmpfs (root is needed to mount it; CI runs as root and never skips).
import assert from 'node:assert/strict'
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {CTR_BIN, type Sandbox, sandbox} from '../helpers/cli.js'
import {startFakeRegistry, type FakeRegistry} from '../helpers/fake-registry.js'
import {buildImage, generatedLayers, type BuiltImage} from '../helpers/oci-image.js'

const asRoot = process.env['CI'] || process.getuid?.() === 0 ? undefined : 'needs root (mount -t tmpfs)'

/** Ingest directories left on disk. */
const ingestDirs = (s: Sandbox): string[] => {
  const dir = join(s.root, 'content', 'ingest')
  return existsSync(dir) ? readdirSync(dir) : []
}
/** Lease ids of the default namespace. */
const leases = (s: Sandbox): string[] => s.ok(['leases', 'ls', '-q']).split('\n').filter(Boolean)

interface Active {
  ref: string
  offset: number
  ownerPid?: number
  ownerAlive?: boolean
}
const active = (s: Sandbox): Active[] => {
  const out = s.ok(['content', 'active', '--format', 'json'])
  return out.trim() ? (JSON.parse(out) as Active[]) : []
}

/** Start a pull in the background and wait until `ref`'s ingest holds more than `bytes`. */
async function pullUntil(s: Sandbox, image: string, digest: string, bytes: number): Promise<ReturnType<typeof spawn>> {
  const child = spawn(CTR_BIN, ['images', 'pull', '-q', image], {env: s.env, stdio: 'ignore'})
  const deadline = Date.now() + 120_000 // a loaded CI machine starts slowly
  for (;;) {
    if (active(s).some((a) => a.ref.includes(digest) && a.offset > bytes)) return child
    if (child.exitCode !== null) throw new Error(`the pull ended early (${child.exitCode})`)
    if (Date.now() > deadline) throw new Error('the download never started')
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('a full disk stays full', {skip: asRoot}, () => {
  let reg: FakeRegistry
  let image: BuiltImage
  let big: BuiltImage['layers'][number]
  const sbs: Sandbox[] = []
  const mounts: string[] = []
  const fresh = () => {
    const s = sandbox()
    sbs.push(s)
    return s
  }
  const ref = () => `${reg.host}/app/full:1`
  before(async () => {
    // Random bytes: ~9 MB that gzip cannot shrink.
    image = await buildImage({layers: generatedLayers({count: 3, bytesPerLayer: 3 * 1024 * 1024, seed: 14, textFraction: 0}), compression: 'gzip'})
    big = image.layers.reduce((a, l) => (l.size > a.size ? l : a))
    reg = await startFakeRegistry({images: {'app/full:1': image}})
  })
  after(async () => {
    await reg.stop()
    for (const m of mounts) spawn('umount', ['-l', m]).on('error', () => undefined)
    await new Promise((r) => setTimeout(r, 200))
    for (const s of sbs) s.cleanup()
  })

  test('ENOSPC: one ctr: line and exit 6; gc alone frees the partial ingests and the lease; after growing the disk the same pull works', async () => {
    const s = fresh()
    mkdirSync(s.root, {recursive: true})
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m,mode=0700', 'tmpfs', s.root])
    mounts.push(s.root)
    const r = await s.spawn(['images', 'pull', '-q', ref()])
    assert.equal(r.code, 6, r.stderr)
    // Wherever it struck (an ingest, an unpack, the database), one line and the same kind.
    assert.match(r.stderr, /^ctr: [^\n]*(no space left on device|disk is full)[^\n]*\n$/)
    assert.ok(ingestDirs(s).length > 0, 'the failed pull left partial downloads')
    assert.equal(leases(s).length, 1, 'and its lease')
    // No `leases rm`, no waiting: the pulling process is gone, so are its lease and ingests.
    const gc = s.run(['gc'])
    assert.equal(gc.code, 0, gc.stderr)
    assert.match(gc.stdout, /^removed\s+ingest\s/m)
    assert.match(gc.stdout, /^removed\s+lease\s/m)
    assert.deepEqual(ingestDirs(s), [])
    assert.deepEqual(leases(s), [])
    execFileSync('mount', ['-o', 'remount,size=64m', s.root])
    const again = await s.spawn(['images', 'pull', '-q', ref()])
    assert.equal(again.code, 0, again.stderr)
    assert.match(s.ok(['images', 'ls', '-q']), new RegExp(`^${ref().replace(/[.]/g, '\\.')}$`, 'm'))
    assert.deepEqual(ingestDirs(s), [])
    assert.deepEqual(leases(s), [])
  })

  test('a live pull (slow registry, then SIGSTOPped) keeps its ingests and lease through gc; kill -9 lets the next gc free them at once', async () => {
    const s = fresh()
    const slow = reg.rules.add({path: big.digest, method: 'GET', kind: 'slow', bytesPerSecond: 128 * 1024})
    const child = await pullUntil(s, ref(), big.digest, 32 * 1024)
    try {
      const gc = s.run(['gc'])
      assert.equal(gc.code, 0, gc.stderr)
      assert.doesNotMatch(gc.stdout, /removed\s+(ingest|lease)/)
      child.kill('SIGSTOP') // stopped, not dead: its lock is held, which is the point
      const stopped = s.run(['gc'])
      assert.equal(stopped.code, 0, stopped.stderr)
      assert.doesNotMatch(stopped.stdout, /removed\s+(ingest|lease)/)
      const mine = active(s).find((a) => a.ref.includes(big.digest))!
      assert.equal(mine.ownerPid, child.pid)
      assert.equal(mine.ownerAlive, true)
      assert.ok(ingestDirs(s).length > 0)
      assert.equal(leases(s).length, 1)
      const verbose = s.ok(['content', 'active', '-v'])
      assert.match(verbose, /^REF\t+SIZE\t+TOTAL\t+AGE\t+OWNER\t+\n/)
      assert.match(verbose, new RegExp(`${big.digest}\\t[^\\n]*\\t${child.pid}\\t+\\n`))
      // ctr's own format, byte for byte: REF SIZE AGE, tab-padded, each line ending in a tab.
      assert.match(s.ok(['content', 'active']), /^REF\t+SIZE\t+AGE\t+\n(\S+\t+\d+(\.\d+)?[kMG]?B\t+[^\t\n]+\t+\n)+$/)
      const busy = s.run(['content', 'rm', mine.ref])
      assert.equal(busy.code, 5, busy.stderr)
      child.kill('SIGKILL')
      await new Promise((r) => child.once('exit', r))
      const dead = active(s).find((a) => a.ref.includes(big.digest))!
      assert.equal(dead.ownerAlive, false)
      assert.match(s.ok(['content', 'active', '-v']), new RegExp(`\\t${child.pid} \\(exited\\)\\t`))
      const after = s.run(['gc'])
      assert.equal(after.code, 0, after.stderr)
      assert.match(after.stdout, /^removed\s+ingest\s/m)
      assert.match(after.stdout, /^removed\s+lease\s/m)
      assert.deepEqual(ingestDirs(s), [])
      assert.deepEqual(leases(s), [])
      assert.deepEqual(readdirSync(join(s.root, 'owners')), [], 'the dead owner file went too')
    } finally {
      child.kill('SIGKILL')
      reg.rules.remove(slow)
    }
  })

  test("content rm of an ingest ref discards a dead pull's partial download; content prune references drops layer labels and collects", async () => {
    const s = fresh()
    const slow = reg.rules.add({path: big.digest, method: 'GET', kind: 'slow', bytesPerSecond: 128 * 1024})
    try {
      const child = await pullUntil(s, ref(), big.digest, 32 * 1024)
      child.kill('SIGKILL')
      await new Promise((r) => child.once('exit', r))
    } finally {
      reg.rules.remove(slow)
    }
    const partial = active(s).find((a) => a.ref.includes(big.digest))!
    assert.equal(s.ok(['content', 'rm', partial.ref]), `${partial.ref}\n`)
    assert.equal(
      active(s).find((a) => a.ref === partial.ref),
      undefined,
    )
    const missing = s.run(['content', 'rm', partial.ref])
    assert.equal(missing.code, 2, missing.stderr) // neither a digest nor an ingest any more
    const pulled = await s.spawn(['images', 'pull', '-q', ref()]) // not spawnSync: the registry lives in this process
    assert.equal(pulled.code, 0, pulled.stderr)
    const layers = image.layers.map((l) => l.digest)
    assert.ok(layers.every((d) => s.ok(['content', 'ls', '-q']).includes(d)))
    const dry = s.run(['content', 'prune', 'references', '--dry'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.match(dry.stderr, /level=debug msg="Removing label" digest="sha256:[0-9a-f]{64}" label=containerd\.io\/gc\.ref\.content\.l\.0/)
    assert.ok(
      layers.every((d) => s.ok(['content', 'ls', '-q']).includes(d)),
      'a dry run changes nothing',
    )
    assert.equal(s.ok(['content', 'prune', 'references']), '')
    const left = s.ok(['content', 'ls', '-q'])
    assert.ok(
      layers.every((d) => !left.includes(d)),
      'layers only the labels held are collected',
    )
    assert.match(s.ok(['images', 'ls', '-q']), /app\/full:1/)
  })
})
