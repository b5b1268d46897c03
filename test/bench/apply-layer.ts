// Benchmark: applyLayer against GNU tar on generated gzip layers (many small files; a few big
// files; the 8 layers of `npm run bench`'s pull image), one at a time and several at once. Not a
// test: run `node dist/test/bench/apply-layer.js [runs] [dir] [label-filter]` after
// `npm run build`, as root. Prints medians in milliseconds. Before each run the
// page cache is synced and the disk left to settle, so one run's writeback does not slow the next
// (on a small VM disk, ext4 stalls file creation while a journal commit waits for data writeback).
import {spawn} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {applyLayer, applyLayerHere} from '../../src/lib/snapshot/apply/index.js'
import {compress, generatedLayers} from '../helpers/oci-image.js'
import {writeTar, type TarEntry} from '../helpers/tar-writer.js'

const runs = Number(process.argv[2] ?? 5)
const work = mkdtempSync(join(process.argv[3] ?? tmpdir(), 'berth-bench-apply-'))
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip'

/** ~bytes of content in small files (0.5-12 KiB) spread over directories of 100. */
function manySmallFiles(bytes: number): TarEntry[] {
  const entries: TarEntry[] = [
    {path: 'usr/', type: 'dir'},
    {path: 'usr/share/', type: 'dir'},
  ]
  const text = Buffer.from('lorem ipsum dolor sit amet container image layer snapshot overlay whiteout\n'.repeat(200))
  let seed = 12345
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff
  let total = 0
  for (let i = 0; total < bytes; i++) {
    if (i % 100 === 0) entries.push({path: `usr/share/d${i / 100}/`, type: 'dir'})
    const size = 512 + Math.floor(rnd() * 12 * 1024)
    const content = Buffer.alloc(size)
    for (let o = 0; o < size; o += 4) content.writeUInt32LE((rnd() * 0xffffffff) >>> 0, o > size - 4 ? size - 4 : o)
    if (i % 2 === 0) text.copy(content, 0, 0, Math.min(size, text.length))
    entries.push({path: `usr/share/d${Math.floor(i / 100)}/f${i}`, type: 'file', content, mode: 0o644})
    total += size
  }
  return entries
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {stdio: 'inherit'})
    child.on('error', reject)
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}`))))
  })
}

/** Sync, then wait until no dirty or writeback pages remain and a little longer. */
async function settle(): Promise<void> {
  await run('sync', [])
  for (let i = 0; i < 100; i++) {
    const meminfo = readFileSync('/proc/meminfo', 'utf8')
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(meminfo)?.[1] ?? 0)
    if (kb('Dirty') + kb('Writeback') < 1024) break
    await new Promise((r) => setTimeout(r, 100))
  }
  await new Promise((r) => setTimeout(r, 2000))
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

const only = process.argv[4] // run only the scenarios whose label contains this

async function time(label: string, prepare: () => void, body: () => Promise<unknown>): Promise<number> {
  if (only !== undefined && !label.includes(only)) return NaN
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    prepare()
    await settle()
    const t0 = performance.now()
    await body()
    times.push(performance.now() - t0)
  }
  const m = median(times)
  console.log(`${label.padEnd(56)} ${m.toFixed(0).padStart(6)} ms   (runs: ${times.map((t) => t.toFixed(0)).join(' ')})`)
  return m
}

async function main(): Promise<void> {
  const layers: Record<string, Buffer> = {}
  const big = generatedLayers({count: 3, bytesPerLayer: 30_000_000, seed: 'bench-apply'})
  for (let i = 0; i < 3; i++) layers[`big${i}`] = await compress(writeTar(big[i]), 'gzip')
  for (let i = 0; i < 3; i++) layers[`small${i}`] = await compress(writeTar(manySmallFiles(26_000_000 + i)), 'gzip')
  // The layers of `npm run bench`'s pull image (scripts/bench-pull.mjs): 8 x 25 MiB.
  const image = generatedLayers({count: 8, bytesPerLayer: 25 * 1024 * 1024, seed: 42})
  for (let i = 0; i < 8; i++) layers[`image${i}`] = await compress(writeTar(image[i]), 'gzip')
  for (const [name, bytes] of Object.entries(layers)) writeFileSync(join(work, `${name}.tar.gz`), bytes)
  console.log(
    `layers: ${Object.entries(layers)
      .map(([n, b]) => `${n} ${(b.length / 1e6).toFixed(1)} MB gzip`)
      .join(', ')}`,
  )

  // Every run extracts into new directories, removed only at the end: on this VM's ext4
  // (mounted with discard), deleting thousands of files stalls file creation for seconds after.
  let round = 0
  const out = (n: string) => join(work, `out-${round}-${n}`)
  const fresh = (names: string[]) => () => {
    round++
    for (const n of names) mkdirSync(out(n))
  }
  const tar = (n: string) => run('tar', ['--xattrs', '--xattrs-include=*', '-xzpf', join(work, `${n}.tar.gz`), '-C', out(n)])
  const ours = (n: string) => applyLayerHere({blobPath: join(work, `${n}.tar.gz`), mediaType: GZIP, target: out(n), mode: 'overlay'})
  const pooled = (n: string) => applyLayer({blobPath: join(work, `${n}.tar.gz`), mediaType: GZIP, target: out(n), mode: 'overlay'})
  fresh(['big0'])()
  process.env['BERTH_APPLY_WORKERS'] = '2' // the pool is opt-in; applyLayerHere ignores it
  await pooled('big0').catch(() => undefined) // start the pool's first worker outside the timings

  for (const kind of ['small', 'big']) {
    const one = [`${kind}0`]
    const three = [`${kind}0`, `${kind}1`, `${kind}2`]
    await time(`${kind}: GNU tar -xzf, 1 layer`, fresh(one), () => tar(one[0]))
    await time(`${kind}: applyLayerHere, 1 layer`, fresh(one), () => ours(one[0]))
    await time(`${kind}: applyLayer (worker pool), 1 layer`, fresh(one), () => pooled(one[0]))
    await time(`${kind}: GNU tar -xzf, 3 layers at once`, fresh(three), () => Promise.all(three.map(tar)))
    await time(`${kind}: applyLayerHere, 3 layers at once`, fresh(three), () => Promise.all(three.map(ours)))
    await time(`${kind}: applyLayer (worker pool), 3 layers at once`, fresh(three), () => Promise.all(three.map(pooled)))
  }
  const eight = Array.from({length: 8}, (_, i) => `image${i}`)
  await time(`bench image: GNU tar -xzf, 8 layers at once`, fresh(eight), () => Promise.all(eight.map(tar)))
  await time(`bench image: applyLayerHere, 8 layers at once`, fresh(eight), () => Promise.all(eight.map(ours)))
  await time(`bench image: applyLayer (worker pool), 8 at once`, fresh(eight), () => Promise.all(eight.map(pooled)))
  await time(`bench image: GNU tar -xzf, 8 layers in turn`, fresh(eight), async () => {
    for (const n of eight) await tar(n)
  })
  await time(`bench image: applyLayerHere, 8 layers in turn`, fresh(eight), async () => {
    for (const n of eight) await ours(n)
  })
}

try {
  await main()
} finally {
  rmSync(work, {recursive: true, force: true})
}
