// `npm run bench`, hardening issue: applying a layer of 200,000 empty files (200 directories of
// 1000), Berth's layer applier (what `images pull`/`import` unpack with, overlay mode into an
// empty snapshot directory) against GNU `tar -xf` of the same layer, interleaved in one run.
//
// Both sides run as child processes and each round alternates which goes first; the ratio is the
// median of the per-round ratios, so that load from other processes on the machine (creating
// 200,000 inodes is kernel-bound, and a loaded machine slows both by 5x or more) cancels out as
// far as it can. CPU time (user + sys) is reported beside wall time: it is much less sensitive to
// such load. The outputs are removed only at the end of a round, followed by `sync` and a pause:
// ext4 skips recently freed inodes when it allocates new ones (`recently_deleted`, seen with perf),
// so whichever side ran right after 200,000 deletions paid for them, 5-10x in measurements here.
// Run alone: node scripts/bench-smallfiles.mjs (BENCH_SMALLFILES_COUNT, _ROUNDS).
import {spawn, spawnSync} from 'node:child_process'
import {closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** Pause after removing a round's outputs (ext4 treats inodes freed in the last 35 s as recently deleted). */
const SETTLE_MS = Number(process.env.BENCH_SMALLFILES_SETTLE_MS ?? 40_000)
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN
}

/** One ustar header block (512 bytes) for an entry with no data. */
function header(name, type, mode) {
  const h = Buffer.alloc(512)
  h.write(name, 0, 100, 'utf8')
  h.write(`${mode.toString(8).padStart(7, '0')}\0`, 100)
  h.write('0000000\0', 108) // uid
  h.write('0000000\0', 116) // gid
  h.write('00000000000\0', 124) // size
  h.write(`${(1_700_000_000).toString(8).padStart(11, '0')}\0`, 136)
  h.write(type, 156)
  h.write('ustar\0', 257)
  h.write('00', 263)
  h.fill(' ', 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148)
  return h
}

/** Writes the layer: `count` empty files in directories of 1000, as a plain (uncompressed) tar. */
function writeLayer(path, count) {
  const fd = openSync(path, 'w')
  try {
    const blocks = []
    const flush = () => {
      writeSync(fd, Buffer.concat(blocks))
      blocks.length = 0
    }
    for (let i = 0; i < count; i++) {
      if (i % 1000 === 0) blocks.push(header(`d${i / 1000}/`, '5', 0o755))
      blocks.push(header(`d${Math.floor(i / 1000)}/f${i % 1000}`, '0', 0o644))
      if (blocks.length >= 4096) flush()
    }
    blocks.push(Buffer.alloc(1024))
    flush()
  } finally {
    closeSync(fd)
  }
}

/** Runs argv; resolves with wall ms and CPU seconds (user + sys, from the child's rusage via /usr/bin/time). */
function measure(argv) {
  return new Promise((resolve, reject) => {
    const t = process.hrtime.bigint()
    const child = spawn('/usr/bin/time', ['-f', 'cpu %U %S', ...argv], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t) / 1e6
      if (code !== 0) return reject(new Error(`${argv.join(' ')} failed (${code}): ${stderr.trim()}`))
      const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr)
      resolve({ms, cpu: m ? Number(m[1]) + Number(m[2]) : NaN})
    })
  })
}

/** The Berth side: a child process that applies the layer the way the unpacker does. */
const APPLY_SCRIPT = `
const [, modulePath, blobPath, target] = process.argv
const {applyLayerHere} = await import(modulePath)
await applyLayerHere({blobPath, mediaType: 'application/vnd.oci.image.layer.v1.tar', target, mode: 'overlay', lowers: async () => []})
`

/**
 * Runs the small-files benchmark.
 * @param {{repo: string, work: string, rounds: number, count?: number, log: (s: string) => void}} o
 * @returns {{title: string, anchor: string, rows: object[], notes: string[]}}
 */
export async function benchSmallFiles({repo, work, rounds, count = 200_000, log}) {
  const title = `Apply a layer of ${count.toLocaleString('en')} empty files`
  const layer = join(work, 'smallfiles-layer.tar')
  writeLayer(layer, count)
  spawnSync('sync')
  const modulePath = join(repo, 'dist/src/lib/snapshot/apply/index.js')
  const s = {berth: [], tar: [], berthCpu: [], tarCpu: [], ratio: []}
  for (let r = 0; r < rounds; r++) {
    const t0 = Date.now()
    const round = {}
    const sides = {
      berth: async () => {
        const target = join(work, 'smallfiles-berth')
        mkdirSync(target)
        round.berth = await measure([process.execPath, '--input-type=module', '-e', APPLY_SCRIPT, '--', modulePath, layer, target])
      },
      tar: async () => {
        const target = join(work, 'smallfiles-tar')
        mkdirSync(target)
        round.tar = await measure(['tar', '-xf', layer, '-C', target])
      },
    }
    for (const side of r % 2 === 0 ? ['tar', 'berth'] : ['berth', 'tar']) await sides[side]()
    for (const side of ['berth', 'tar']) rmSync(join(work, `smallfiles-${side}`), {recursive: true, force: true})
    spawnSync('sync')
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS))
    s.berth.push(round.berth.ms)
    s.tar.push(round.tar.ms)
    s.berthCpu.push(round.berth.cpu)
    s.tarCpu.push(round.tar.cpu)
    s.ratio.push(round.berth.ms / round.tar.ms)
    log(
      `smallfiles round ${r + 1}/${rounds}: Berth ${(round.berth.ms / 1000).toFixed(1)} s, tar ${(round.tar.ms / 1000).toFixed(1)} s ` +
        `(${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    )
  }
  rmSync(layer, {force: true})
  const ratio = median(s.ratio)
  const cpuRatio = median(s.berthCpu) / median(s.tarCpu)
  const met = ratio <= 2
  return {
    title,
    anchor: 'GNU tar -xf of the same layer',
    notes: [
      `layer: ${count.toLocaleString('en')} empty files in directories of 1000, plain tar ` +
        `(${(((count + count / 1000) * 512) / 2 ** 20).toFixed(0)} MiB); Berth: applyLayer, overlay mode, as unpack does`,
    ],
    rows: [
      {
        what: `apply ${Math.round(count / 1000)}k empty files (wall)`,
        berth: median(s.berth),
        anchor: median(s.tar),
        unit: 'ms',
        target: '≤ 2×',
        note: `median of per-round ratios ${ratio.toFixed(2)}×`,
      },
      {what: '  CPU time (user + sys)', text: `Berth ${median(s.berthCpu).toFixed(1)} s, tar ${median(s.tarCpu).toFixed(1)} s: ${cpuRatio.toFixed(2)}×`},
      {what: '  verdict', text: met ? `within 2× of GNU tar (${ratio.toFixed(2)}×)` : `slower than 2× GNU tar (${ratio.toFixed(2)}×)`, ok: met},
    ],
  }
}

// Run alone.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-smallfiles-'))
  try {
    const rounds = Number(process.env.BENCH_SMALLFILES_ROUNDS ?? 3)
    const count = Number(process.env.BENCH_SMALLFILES_COUNT ?? 200_000)
    const res = await benchSmallFiles({repo, work, rounds, count, log: (m) => process.stderr.write(`bench: ${m}\n`)})
    console.log(`${res.title} — ${rounds} interleaved rounds; anchor: ${res.anchor}`)
    for (const n of res.notes) console.log(`  ${n}`)
    for (const row of res.rows)
      console.log(
        row.text !== undefined
          ? `${row.what}: ${row.text}`
          : `${row.what}: Berth ${(row.berth / 1000).toFixed(2)} s, tar ${(row.anchor / 1000).toFixed(2)} s ` +
              `(${(row.berth / row.anchor).toFixed(2)}×; ${row.note})`,
      )
  } finally {
    rmSync(work, {recursive: true, force: true})
  }
}
