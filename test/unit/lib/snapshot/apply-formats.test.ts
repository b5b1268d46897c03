// Layer formats and failures: gzip (multi-member too), zstd, uncompressed, Docker's sniffed
// rootfs.diff.tar; the diffId covers the whole uncompressed stream; refused types, garbage,
// truncation, wrong declarations; progress, abort; and the worker pool (also from a bundle).
// Entries are owned by the running user, so this runs without root.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {gzipSync} from 'node:zlib'
import * as esbuild from 'esbuild'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {applyLayer, applyLayerHere, type ApplyLayerOptions} from '../../../../src/lib/snapshot/apply/index.js'
import {poolWorkers} from '../../../../src/lib/snapshot/apply/pool.js'
import {scratch, type Scratch} from '../../../helpers/apply-layers.js'
import {REPO_ROOT} from '../../../helpers/cli.js'
import {readTree} from '../../../helpers/fs-tree.js'
import {compress, MEDIA_TYPES} from '../../../helpers/oci-image.js'
import {runToolOk} from '../../../helpers/run-tool.js'
import {writeTar, type TarEntry} from '../../../helpers/tar-writer.js'

const uid = process.getuid?.() ?? 0
const gid = process.getgid?.() ?? 0
const mine = (e: TarEntry): TarEntry => ({uid, gid, ...e})
const ENTRIES: TarEntry[] = (<TarEntry[]>[
  {path: 'bin/', type: 'dir'},
  {path: 'bin/tool', type: 'file', content: Buffer.alloc(300_000, 'abc'), mode: 0o755},
  {path: 'bin/link', type: 'symlink', linkname: 'tool'},
  {path: 'etc/conf', type: 'file', content: 'x = 1\n'},
]).map(mine)
const TAR = writeTar(ENTRIES)
const BIG_TAR = writeTar([...ENTRIES, mine({path: 'random', type: 'file', content: randomBytes(5 << 20)})])
const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`
const OCI = MEDIA_TYPES.oci.layer
const DOCKER = MEDIA_TYPES.docker.layer

describe('layer formats', () => {
  let s: Scratch
  const blobs: Record<string, string> = {}
  const put = (name: string, bytes: Buffer): string => {
    const p = join(s.dir, name)
    writeFileSync(p, bytes)
    blobs[name] = p
    return p
  }
  before(async () => {
    s = scratch('berth-formats-')
    put('tar', TAR)
    put('gzip', await compress(TAR, 'gzip'))
    put('zstd', await compress(TAR, 'zstd'))
    put('gzip-multi', Buffer.concat([gzipSync(TAR.subarray(0, 100_000)), gzipSync(TAR.subarray(100_000))]))
    put('tar-trailing', Buffer.concat([TAR, Buffer.from('bytes after the end-of-archive blocks')]))
    put('garbage', Buffer.from('this is not a layer at all, not even close to a tar header'.repeat(20)))
    // Big enough for the worker pool (smaller blobs are applied in the calling thread).
    put('big-gzip', await compress(BIG_TAR, 'gzip'))
    put('big-zstd', await compress(BIG_TAR, 'zstd'))
    put('big-garbage', randomBytes(5 << 20))
  })
  after(() => s?.cleanup())

  const apply = (blob: string, mediaType: string, extra: Partial<ApplyLayerOptions> = {}) =>
    applyLayerHere({blobPath: blobs[blob] ?? blob, mediaType, target: s.mkdir('t'), mode: 'merged', ...extra})

  const cases: [string, string, string][] = [
    ['uncompressed', 'tar', OCI.none],
    ['gzip', 'gzip', OCI.gzip],
    ['zstd', 'zstd', OCI.zstd],
    ['multi-member gzip', 'gzip-multi', OCI.gzip],
    ['Docker rootfs.diff.tar, gzip content (sniffed)', 'gzip', DOCKER.none],
    ['Docker rootfs.diff.tar, plain content', 'tar', DOCKER.none],
    ['Docker rootfs.diff.tar.gzip', 'gzip', DOCKER.gzip],
    ['non-distributable OCI gzip', 'gzip', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'],
  ]
  for (const [name, blob, mediaType] of cases) {
    test(`${name}: same tree, diffId = sha256 of the tar, size`, async () => {
      const target = s.mkdir('t')
      const r = await applyLayerHere({blobPath: blobs[blob], mediaType, target, mode: 'merged'})
      assert.deepEqual(r, {diffId: sha256(TAR), size: TAR.length})
      const t = readTree(target)
      assert.equal(t.get('bin/tool')?.size, 300_000)
      assert.equal(t.get('bin/link')?.link, 'tool')
    })
  }

  test('regression: a tar without end-of-archive blocks, even without its last padding (umoci), applies', async () => {
    const bare = writeTar(ENTRIES, {omitTrailer: true})
    const umoci = bare.subarray(0, bare.length - (512 - 6)) // etc/conf's 6 bytes, none of its padding
    for (const [name, bytes] of [
      ['bare', bare],
      ['umoci', umoci],
    ] as const) {
      for (const compression of ['none', 'gzip', 'zstd'] as const) {
        const target = s.mkdir('t')
        const r = await applyLayerHere({
          blobPath: put(`${name}-${compression}`, await compress(bytes, compression)),
          mediaType: OCI[compression],
          target,
          mode: 'merged',
        })
        assert.deepEqual(r, {diffId: sha256(bytes), size: bytes.length}, `${name} ${compression}`)
        assert.equal(readTree(target).get('etc/conf')?.size, 6)
      }
    }
  })

  test('the diffId covers bytes after the end-of-archive blocks', async () => {
    const bytes = readFileSync(blobs['tar-trailing'])
    assert.deepEqual(await apply('tar-trailing', OCI.none), {diffId: sha256(bytes), size: bytes.length})
  })

  const refusals: [string, () => Promise<Buffer | string>, string, RegExp][] = [
    ['garbage declared gzip', async () => 'garbage', OCI.gzip, /^data loss: .*declares gzip/],
    ['garbage declared uncompressed', async () => 'garbage', OCI.none, /^data loss: .*invalid header checksum/],
    ['gzip declared uncompressed', async () => 'gzip', OCI.none, /^data loss: .*declares an uncompressed tar, but the data is gzip-compressed/],
    ['zstd declared gzip', async () => 'zstd', OCI.gzip, /^data loss: .*declares gzip/],
    ['truncated gzip', async () => readFileSync(blobs['gzip']).subarray(0, -8), OCI.gzip, /^data loss: .*corrupt gzip data: unexpected end of file/],
    [
      'gzip followed by garbage',
      async () => Buffer.concat([readFileSync(blobs['gzip']), Buffer.from('garbage')]),
      OCI.gzip,
      /^data loss: .*corrupt gzip data: incorrect header check/,
    ],
    [
      'corrupt gzip',
      async () => Buffer.concat([readFileSync(blobs['gzip']).subarray(0, 20), Buffer.alloc(500, 0x55)]),
      OCI.gzip,
      /^data loss: .*corrupt gzip data/,
    ],
    ['truncated zstd', async () => readFileSync(blobs['zstd']).subarray(0, 200), OCI.zstd, /^data loss: .*corrupt zstd data/],
    // Without end-of-archive blocks a tar is whole (umoci's: see the test below); cut further it is not.
    [
      'a tar without end-of-archive blocks cut in its last padding',
      async () => writeTar(ENTRIES, {omitTrailer: true}).subarray(0, -1),
      OCI.none,
      /^data loss: .*tar archive truncated at byte \d+ in entry "etc\/conf" \(inside its padding\)/,
    ],
    ['a tar cut inside a file', async () => TAR.subarray(0, 200_000), OCI.none, /^data loss: .*truncated at byte 200000 in entry "bin\/tool"/],
    ['a gzip member of a truncated tar', async () => gzipSync(TAR.subarray(0, 200_000)), OCI.gzip, /^data loss: .*truncated/],
    ['bzip2', async () => Buffer.from('BZh91AY&SY' + 'x'.repeat(100)), DOCKER.none, /^not implemented: .*bzip2-compressed layers are not supported/],
    ['xz', async () => Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.alloc(100)]), DOCKER.none, /^not implemented: .*xz-compressed/],
    ['an encrypted layer', async () => 'gzip', 'application/vnd.oci.image.layer.v1.tar+gzip+encrypted', /^not implemented: .*is not supported/],
    ['an unknown layer suffix', async () => 'gzip', 'application/vnd.oci.image.layer.v1.tar+lz4', /^not implemented: /],
    ['not a layer type', async () => 'gzip', 'application/json', /^invalid argument: .*is not a layer/],
    [
      'an unsupported entry type',
      async () => writeTar([{path: 's', type: 'file', typeflag: 'S'}]),
      OCI.none,
      /^not implemented: .*tar entry "s": unsupported entry type 'S'/,
    ],
  ]
  for (const [name, bytes, mediaType, want] of refusals) {
    test(`refused: ${name}`, async () => {
      const b = await bytes()
      const blob = typeof b === 'string' ? b : put(`refusal-${name.replace(/\W+/g, '-')}`, b)
      await assert.rejects(apply(blob, mediaType), (err) => {
        assert.match(`${errorKind(err)}: ${(err as Error).message}`, want)
        assert.ok(!(err as Error).message.includes('\n'), 'one-line message')
        return true
      })
    })
  }

  test('a missing blob is NotFound; a relative or non-empty overlay target is refused', async () => {
    await assert.rejects(apply(join(s.dir, 'no-such-blob'), OCI.gzip), (err) => errorKind(err) === 'not found')
    await assert.rejects(
      applyLayerHere({blobPath: blobs['gzip'], mediaType: OCI.gzip, target: 'relative/dir', mode: 'merged'}),
      (err) => errorKind(err) === 'invalid argument',
    )
    const busy = s.mkdir('busy')
    writeFileSync(join(busy, 'x'), '')
    await assert.rejects(
      applyLayerHere({blobPath: blobs['gzip'], mediaType: OCI.gzip, target: busy, mode: 'overlay'}),
      (err) => errorKind(err) === 'failed precondition',
    )
    await assert.rejects(
      applyLayerHere({blobPath: blobs['gzip'], mediaType: OCI.gzip, target: s.mkdir('t'), mode: 'copy' as 'merged'}),
      (err) => errorKind(err) === 'invalid argument',
    )
  })

  test('progress counts compressed bytes up to the blob size', async () => {
    for (const blob of ['gzip', 'zstd', 'tar']) {
      const seen: number[] = []
      await apply(blob, blob === 'tar' ? OCI.none : OCI[blob as 'gzip'], {onProgress: (n) => seen.push(n)})
      assert.ok(seen.length > 0)
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        seen,
        'monotonic',
      )
      assert.equal(seen.at(-1), statSync(blobs[blob]).size)
    }
  })

  test('an abort signal stops the extraction with its reason', async () => {
    // Random content: big enough (compressed) for the pool too.
    const big = put(
      'big',
      await compress(writeTar(Array.from({length: 400}, (_, i) => mine({path: `f${i}`, type: 'file', content: randomBytes(20_000)}))), 'gzip'),
    )
    for (const run of [applyLayerHere, applyLayer]) {
      const controller = new AbortController()
      const reason = new Error('stop now')
      const p = run({
        blobPath: big,
        mediaType: OCI.gzip,
        target: s.mkdir('t'),
        mode: 'merged',
        signal: controller.signal,
        onProgress: () => controller.abort(reason),
      })
      await assert.rejects(p, (err) => err === reason)
      await assert.rejects(
        run({blobPath: big, mediaType: OCI.gzip, target: s.mkdir('t'), mode: 'merged', signal: AbortSignal.abort(reason)}),
        (err) => err === reason,
      )
    }
  })

  test('the worker pool: same results, error kinds kept, callbacks on this thread, many layers at once', async (t) => {
    const saved = process.env['BERTH_APPLY_WORKERS']
    process.env['BERTH_APPLY_WORKERS'] = '2'
    t.after(() => (saved === undefined ? delete process.env['BERTH_APPLY_WORKERS'] : (process.env['BERTH_APPLY_WORKERS'] = saved)))
    const targets = Array.from({length: 6}, () => s.mkdir('pool'))
    const lowersAsked: number[] = []
    const progress = new Map<number, number>()
    const results = await Promise.all(
      targets.map((target, i) =>
        applyLayer({
          blobPath: blobs[i % 2 ? 'big-zstd' : 'big-gzip'],
          mediaType: i % 2 ? OCI.zstd : OCI.gzip,
          target,
          mode: 'overlay',
          lowers: async () => (lowersAsked.push(i), []),
          onProgress: (n) => progress.set(i, n),
        }),
      ),
    )
    assert.ok(poolWorkers() >= 1, 'the pool ran them')
    for (const r of results) assert.deepEqual(r, {diffId: sha256(BIG_TAR), size: BIG_TAR.length})
    assert.deepEqual(lowersAsked.sort(), [0, 1, 2, 3, 4, 5])
    for (let i = 0; i < 6; i++) assert.equal(progress.get(i), statSync(blobs[i % 2 ? 'big-zstd' : 'big-gzip']).size)
    for (const t of targets) assert.equal(readTree(t).get('random')?.size, 5 << 20)
    await assert.rejects(applyLayer({blobPath: blobs['big-garbage'], mediaType: OCI.gzip, target: s.mkdir('t'), mode: 'merged'}), (err) => {
      assert.equal(errorKind(err), 'data loss')
      assert.equal((err as Error).constructor.name, 'DataLoss')
      assert.match((err as Error).message, /declares gzip/)
      return true
    })
    const lowersFailure = new Error('parent failed')
    await assert.rejects(
      applyLayer({blobPath: blobs['big-gzip'], mediaType: OCI.gzip, target: s.mkdir('t'), mode: 'overlay', lowers: () => Promise.reject(lowersFailure)}),
      (err) => err === lowersFailure,
    )
  })

  test('the worker pool works from the esbuild bundle (dist/bundle/apply-worker.cjs) and is off by default', async () => {
    const worker = join(REPO_ROOT, 'dist', 'bundle', 'apply-worker.cjs')
    assert.ok(statSync(worker).isFile(), 'npm run build makes dist/bundle/apply-worker.cjs')
    // A probe bundled like ctr.cjs and placed next to it, so the pool looks for its worker there.
    const probe = join(REPO_ROOT, 'dist', 'bundle', `apply-probe-${process.pid}.cjs`)
    await esbuild.build({
      absWorkingDir: REPO_ROOT,
      stdin: {
        contents: `const {applyLayerPooled, poolWorkers} = require('./src/lib/snapshot/apply/pool.ts');
          applyLayerPooled({blobPath: process.argv[2], mediaType: ${JSON.stringify(OCI.gzip)}, target: process.argv[3], mode: 'merged'})
            .then((r) => console.log(JSON.stringify({...r, workers: poolWorkers()})), (e) => { console.error(e); process.exit(1) })`,
        resolveDir: REPO_ROOT,
        loader: 'ts',
      },
      outfile: probe,
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      define: {'import.meta.url': '__berthModuleUrl'},
      banner: {js: "const __berthModuleUrl = require('node:url').pathToFileURL(__filename).href;"},
      logLevel: 'error',
    })
    try {
      const target = s.mkdir('bundle')
      const r = spawnSync(process.execPath, [probe, blobs['big-gzip'], target], {encoding: 'utf8', env: {...process.env, BERTH_APPLY_WORKERS: '2'}})
      assert.equal(r.status, 0, r.stderr)
      assert.deepEqual(JSON.parse(r.stdout), {diffId: sha256(BIG_TAR), size: BIG_TAR.length, workers: 1})
      assert.equal(readTree(target).get('random')?.size, 5 << 20)
      // Off by default: no worker at all.
      const env: NodeJS.ProcessEnv = {...process.env}
      delete env['BERTH_APPLY_WORKERS']
      const off = spawnSync(process.execPath, [probe, blobs['big-gzip'], s.mkdir('bundle')], {encoding: 'utf8', env})
      assert.equal(off.status, 0, off.stderr)
      assert.equal(JSON.parse(off.stdout).workers, 0)
    } finally {
      rmSync(probe, {force: true})
    }
  })

  test('GNU tar reads what the fixture helper wrote (sanity of the inputs)', async () => {
    const out = await runToolOk('tar', ['-tf', blobs['tar']])
    assert.deepEqual(out.trim().split('\n'), ['bin/', 'bin/tool', 'bin/link', 'etc/conf'])
  })
})
