// `npm run bench`: medians of repeated runs, as ratios against an anchor measured in the same run.
// Runs are interleaved (one of each command per round) so that machine noise hits all alike.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {berthBin, median, NODE_E_0} from './bench-containerd.mjs'

const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
const ctrBin = berthBin(repo)
const {openStore, appendEvent} = await import(join(repo, 'dist/src/lib/store/index.js'))
const {interpret} = await import(join(repo, 'dist/src/lib/config/index.js'))
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 31)
const PULL_ROUNDS = Number(process.env.BENCH_PULL_ROUNDS ?? 5)
const RUN_ROUNDS = Number(process.env.BENCH_RUN_ROUNDS ?? 15)
const RUN_CYCLE_ROUNDS = Number(process.env.BENCH_RUN_CYCLE_ROUNDS ?? 3)
const ARCHIVE_ROUNDS = Number(process.env.BENCH_ARCHIVE_ROUNDS ?? 3)
// BENCH_ONLY=startup,pull,run,archive,checkpoint,pods,cpu,scale,smallfiles runs only those sections (all by default).
const ONLY = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',')) : undefined
const want = (section) => !ONLY || ONLY.has(section)
// One line per target, printed together at the end (the speed issue: a verdict per target).
const verdicts = []
const verdict = (what, ok, detail) => verdicts.push(`${ok ? 'met   ' : 'MISSED'}  ${what}: ${detail}`)
process.on('exit', (code) => {
  if (code === 0 && verdicts.length)
    console.log(
      `\nVerdicts (${verdicts.filter((v) => v.startsWith('met')).length} of ${verdicts.length} targets met):\n${verdicts.map((v) => `  ${v}`).join('\n')}`,
    )
})

const work = mkdtempSync(join(tmpdir(), 'berth-bench-'))
process.on('exit', () => rmSync(work, {recursive: true, force: true}))
// Ctrl-C and kill still run the exit hooks (this directory, the registry, containerd).
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => process.exit(130))

async function freshStore(name) {
  const root = join(work, name, 'root')
  const state = join(work, name, 'state')
  const store = await openStore({root, state, config: {source: undefined, ...interpret({})}})
  return {root, state, store}
}

/** Time each command ROUNDS times, interleaved; returns median ms per name. */
function timeInterleaved(commands) {
  const samples = Object.fromEntries(Object.keys(commands).map((k) => [k, []]))
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, {argv, env}] of Object.entries(commands)) {
      const t = process.hrtime.bigint()
      const res = spawnSync(argv[0], argv.slice(1), {env: {...process.env, ...env}, stdio: ['ignore', 'ignore', 'pipe']})
      const ms = Number(process.hrtime.bigint() - t) / 1e6
      if (res.status !== 0) throw new Error(`${name} failed: ${res.stderr}`)
      if (r > 0) samples[name].push(ms) // the first round warms the page cache
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]))
}

if (want('startup')) {
  // Stores: empty-ish, 1000 namespaces, 100,000 events.
  const small = await freshStore('small')
  small.store.namespaces.create('default')
  small.store.close()
  const big = await freshStore('ns1000')
  big.store.db.transaction(() => {
    for (let i = 0; i < 1000; i++) big.store.namespaces.create(`ns-${String(i).padStart(4, '0')}`, {team: `t${i % 10}`, 'example.com/tier': 'gold'})
  })()
  big.store.close()
  const events = await freshStore('ev100k')
  events.store.db.transaction(() => {
    for (let i = 0; i < 100_000; i++) {
      const containerId = `c-${i}`
      const event =
        i % 2
          ? {topic: '/tasks/exit', containerId, id: containerId, pid: 1000 + i, exitStatus: 0, exitedAt: Date.now() * 1000}
          : {topic: '/tasks/start', containerId, pid: 1000 + i}
      appendEvent(events.store.db, `ns${i % 50}`, event)
    }
  })()
  events.store.close()

  const env = (s) => ({BERTH_ROOT: s.root, BERTH_STATE: s.state})
  // One image for `images ls` (the speed issue's row): the tests' busybox image, imported.
  const oneImage = await freshStore('one-image')
  oneImage.store.close()
  {
    const {busyboxImage, writeOciLayout} = await import(join(repo, 'dist/test/helpers/oci-image.js'))
    const layout = join(work, 'one-image-layout')
    await writeOciLayout(layout, {image: await busyboxImage(), refName: 'latest'})
    spawnSync('tar', ['-C', layout, '-cf', `${layout}.tar`, '.'])
    const r = spawnSync(ctrBin, ['images', 'import', '--base-name', 'bench/one', `${layout}.tar`], {env: {...process.env, ...env(oneImage)}, encoding: 'utf8'})
    if (r.status !== 0) throw new Error(`images import failed: ${r.stderr}`)
  }
  const rows = timeInterleaved({
    'node -e 0': {argv: NODE_E_0, env: {}},
    'ctr version': {argv: [ctrBin, 'version'], env: env(small)},
    'ctr namespaces ls': {argv: [ctrBin, 'namespaces', 'ls'], env: env(small)},
    'ctr images ls (1 image)': {argv: [ctrBin, 'images', 'ls'], env: env(oneImage)},
    'ctr namespaces ls (1000)': {argv: [ctrBin, 'namespaces', 'ls'], env: env(big)},
    'ctr events --no-follow (100k)': {argv: [ctrBin, 'events', '--no-follow'], env: env(events)},
  })

  /** Delivery latency: a follower process, and events committed by this process. */
  async function followLatency(samplesWanted = 15) {
    const s = await freshStore('follow')
    const child = spawn(ctrBin, ['events'], {env: {...process.env, ...env(s)}, stdio: ['ignore', 'pipe', 'inherit']})
    const arrivals = []
    let buffer = ''
    child.stdout.on('data', (d) => {
      const now = performance.now()
      buffer += d.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop()
      for (let k = 0; k < lines.length; k++) arrivals.push(now)
    })
    // Until the follower shows an event it is not following yet (a loaded machine starts it slowly).
    for (let k = 0; arrivals.length === 0; k++) {
      if (k % 20 === 0) s.store.namespaces.create(`ready${k}`)
      await new Promise((r) => setTimeout(r, 10))
    }
    await new Promise((r) => setTimeout(r, 200))
    arrivals.length = 0
    const latencies = []
    for (let k = 0; k < samplesWanted; k++) {
      const sent = performance.now()
      s.store.namespaces.create(`lat${k}`)
      while (arrivals.length <= k) await new Promise((r) => setTimeout(r, 1))
      latencies.push(arrivals[k] - sent)
      await new Promise((r) => setTimeout(r, 37))
    }
    child.kill('SIGINT')
    s.store.close()
    return {median: median(latencies), max: Math.max(...latencies)}
  }
  const latency = await followLatency()

  const anchor = rows['node -e 0']
  const fmt = (ms) => `${ms.toFixed(1)} ms`.padStart(10)
  console.log(`Berth bench — medians of ${ROUNDS - 1} interleaved runs; anchor: node -e 0 (${anchor.toFixed(1)} ms)\n`)
  console.log(`${'what'.padEnd(34)}${'median'.padStart(10)}  ratio  target`)
  const targets = {'ctr version': 1.15, 'ctr namespaces ls': 1.25, 'ctr images ls (1 image)': 1.35}
  for (const [name, ms] of Object.entries(rows)) {
    const target = targets[name] ? `≤ ${targets[name]}×` : ''
    console.log(`${name.padEnd(34)}${fmt(ms)}  ${(ms / anchor).toFixed(2)}×  ${target}`)
    if (targets[name]) verdict(`start-up: ${name}`, ms / anchor <= targets[name], `${(ms / anchor).toFixed(2)}× node -e 0, target ${target}`)
  }
  console.log(`${'ctr events: delivery latency'.padEnd(34)}${fmt(latency.median)}  (max ${latency.max.toFixed(1)} ms; target < 100 ms)`)
  verdict('ctr events: delivery latency', latency.max < 100, `max ${latency.max.toFixed(1)} ms, target < 100 ms`)
}

const cell = (v, unit) =>
  Number.isFinite(v) ? (unit === 'MiB' ? `${v.toFixed(v < 10 ? 1 : 0)} MiB` : v >= 10_000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`) : 'n/a'
/** Prints a Berth-against-anchor section's rows (see bench-pull.mjs and bench-run.mjs for their shape). */
function printRows(rows) {
  console.log(`\n${'what'.padEnd(38)}${'Berth median'.padStart(13)}${'anchor median'.padStart(15)}${'ratio'.padStart(8)}  target`)
  for (const row of rows) {
    if (row.text !== undefined) {
      console.log(`${row.what.padEnd(38)}${row.text}${row.ok === undefined ? '' : row.ok ? '  (met)' : '  (missed)'}`)
      if (row.ok !== undefined) verdict(row.what.trim(), row.ok, row.text)
      continue
    }
    const ratio = Number.isFinite(row.berth / row.anchor) ? `${(row.berth / row.anchor).toFixed(2)}×` : 'n/a'
    let met = ''
    const limit = /^≤ ([\d.]+)×$/.exec(row.target)
    if (limit && Number.isFinite(row.berth / row.anchor)) met = row.berth / row.anchor <= Number(limit[1]) ? ' (met)' : ' (missed)'
    if (row.abs !== undefined) met = row.berth <= row.abs ? ' (met)' : ' (missed)'
    if (row.failures) met = ` (invalid: ${row.failures} failed)`
    if (met)
      verdict(
        row.what.trim(),
        met === ' (met)',
        `${row.abs === undefined ? ratio : cell(row.berth, row.unit)}, target ${row.target || `≤ ${cell(row.abs, row.unit)}`}`,
      )
    console.log(
      `${row.what.padEnd(38)}${cell(row.berth, row.unit).padStart(13)}${cell(row.anchor, row.unit).padStart(15)}${ratio.padStart(8)}  ${row.target}${met}`,
    )
    if (row.note) console.log(`${''.padEnd(38)}${row.note}`)
  }
}

if (want('pull')) {
  // The pull issue: Berth against containerd (a private daemon) in the same run.
  const {benchPull} = await import('./bench-pull.mjs')
  const pull = await benchPull({repo, work, rounds: PULL_ROUNDS, log: (m) => process.stderr.write(`bench: ${m}\n`)})
  console.log(`\n${pull.title} — medians of ${PULL_ROUNDS} runs, cold runs on a fresh store / fresh containerd root; anchor: ${pull.anchor}`)
  for (const note of pull.notes) console.log(`  ${note}`)
  printRows(pull.rows)
}

if (want('run')) {
  // The run issue: run --rm, the create/start/kill/rm lifecycle and the monitor's memory, against containerd.
  const {benchRun} = await import('./bench-run.mjs')
  const runBench = await benchRun({repo, work, rounds: RUN_ROUNDS, cycleRounds: RUN_CYCLE_ROUNDS, log: (m) => process.stderr.write(`bench: ${m}\n`)})
  console.log(`\n${runBench.title} — medians of ${RUN_ROUNDS} interleaved runs (lifecycle: ${RUN_CYCLE_ROUNDS} rounds); anchor: ${runBench.anchor}`)
  for (const note of runBench.notes) console.log(`  ${note}`)
  printRows(runBench.rows)
}

if (want('archive')) {
  // The drop-in issue: images export, import and push against containerd.
  const {benchArchive} = await import('./bench-archive.mjs')
  const archive = await benchArchive({repo, work, rounds: ARCHIVE_ROUNDS, log: (m) => process.stderr.write(`bench: ${m}\n`)})
  console.log(`\n${archive.title} — medians of ${ARCHIVE_ROUNDS} runs, each on a fresh store / containerd root / registry; anchor: ${archive.anchor}`)
  for (const note of archive.notes) console.log(`  ${note}`)
  printRows(archive.rows)
}

if (want('checkpoint')) {
  // The checkpoint issue: checkpoint + restore through an image, against runc + CRIU by hand.
  const {benchCheckpoint} = await import('./bench-checkpoint.mjs')
  const CHECKPOINT_ROUNDS = Number(process.env.BENCH_CHECKPOINT_ROUNDS ?? 3)
  const ck = await benchCheckpoint({repo, work, rounds: CHECKPOINT_ROUNDS, log: (m) => process.stderr.write(`bench: ${m}\n`)})
  console.log(`\n${ck.title} — medians of ${CHECKPOINT_ROUNDS} interleaved rounds; anchor: ${ck.anchor}`)
  for (const note of ck.notes) console.log(`  ${note}`)
  printRows(ck.rows)
}

if (want('pods')) {
  // The pods issue: a networked run --rm and a two-member pod, against containerd with the same CNI plugins.
  const {benchPods} = await import('./bench-pods.mjs')
  const PODS_ROUNDS = Number(process.env.BENCH_PODS_ROUNDS ?? 5)
  const pods = await benchPods({repo, work, rounds: PODS_ROUNDS, log: (m) => process.stderr.write(`bench: ${m}\n`)})
  console.log(`\n${pods.title} — medians of ${PODS_ROUNDS} interleaved rounds; anchor: ${pods.anchor}`)
  for (const note of pods.notes) console.log(`  ${note}`)
  printRows(pods.rows)
}

if (want('cpu')) {
  // The speed issue: CPU of the lifecycle (idle and under a CPU hog) and the exit path, against containerd.
  const {benchCpu} = await import('./bench-cpu.mjs')
  const cpu = await benchCpu({repo, work, cycles: Number(process.env.BENCH_CPU_CYCLES ?? 10), log: (m) => process.stderr.write(`bench: ${m}\n`)})
  console.log(`\n${cpu.title}; anchor: ${cpu.anchor}`)
  for (const note of cpu.notes) console.log(`  ${note}`)
  printRows(cpu.rows)
}

if (want('scale')) {
  // The speed issue: 0, 50 and 200 detached containers running (about two and a half minutes).
  const {benchScale} = await import('./bench-scale.mjs')
  const levels = (process.env.BENCH_SCALE_LEVELS ?? '0,50,200').split(',').map(Number)
  const scale = await benchScale({repo, work, levels, log: (m) => process.stderr.write(`bench: ${m}\n`)})
  console.log(`\n${scale.title}; anchor: ${scale.anchor}`)
  for (const note of scale.notes) console.log(`  ${note}`)
  printRows(scale.rows)
}

if (want('smallfiles')) {
  // The hardening issue: a layer of 200,000 empty files, Berth's applier against GNU tar -xf.
  const {benchSmallFiles} = await import('./bench-smallfiles.mjs')
  const SMALLFILES_ROUNDS = Number(process.env.BENCH_SMALLFILES_ROUNDS ?? 3)
  const sf = await benchSmallFiles({
    repo,
    work,
    rounds: SMALLFILES_ROUNDS,
    count: Number(process.env.BENCH_SMALLFILES_COUNT ?? 200_000),
    log: (m) => process.stderr.write(`bench: ${m}\n`),
  })
  console.log(`\n${sf.title} — ${SMALLFILES_ROUNDS} interleaved rounds, alternating order; anchor: ${sf.anchor}`)
  for (const note of sf.notes) console.log(`  ${note}`)
  printRows(sf.rows)
}
