// The chaos suite: kill -9 at random points of real commands (pulls, unpacks, `run -d`, `tasks
// start`, `containers rm`, `gc`, `namespaces rm --force`) and of conmon, 16 mixed commands at once,
// a pull into a full tmpfs, and a hostile registry. After each: `ctr gc` then `ctr fsck` finds
// nothing, the next commands work, no mount, process or runc state is left once the round's
// containers are removed; at the end, replaying the event log gives exactly the namespaces,
// images, containers and tasks the tables hold (every change has exactly one event).
// Randomness comes from one printed seed (`CHAOS_SEED=` replays a run). Used by `npm run chaos`
// (scripts/chaos.mjs, long) and test/chaos/chaos.test.ts (short, inside `npm test`).
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {CTR_BIN, type Sandbox, sandbox} from '../helpers/cli.js'
import {startFakeRegistry} from '../helpers/fake-registry.js'
import {buildImage, busyboxImage} from '../helpers/oci-image.js'
import {pushImage, startRegistry} from '../helpers/registry.js'
import {cleanupSandbox, mountsUnder, openDb, pidsMentioning} from '../helpers/tasks.js'

/** How much chaos. */
export interface ChaosOptions {
  seed: number
  /** Kill rounds (each picks an operation and a moment). */
  kills: number
  /** Concurrent bursts of 16 mixed commands. */
  bursts: number
  /** Run the full-disk round. */
  enospc: boolean
  /** Run the hostile-registry cases: all of them (with hostile layers), a quick few, or none. */
  hostile: 'all' | 'quick' | false
  log?: (line: string) => void
}

/** What happened. */
export interface ChaosSummary {
  seed: number
  killsTried: number
  killsSurvived: number
  operations: number
  eventsChecked: number
  eventsMatched: number
  failures: string[]
}

/** A seeded generator (mulberry32): the same seed, the same run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The seed to use: `CHAOS_SEED`, else a random one. */
export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env['CHAOS_SEED']
  return given !== undefined && given !== '' ? Number(given) >>> 0 : Math.floor(Math.random() * 2 ** 32)
}

const KILL_OPS = ['pull', 'unpack', 'run -d', 'tasks start', 'containers rm', 'gc', 'namespaces rm --force', 'conmon'] as const
type KillOp = (typeof KILL_OPS)[number]

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Run the chaos described by `options`. Never throws for a finding: each goes into `failures`. */
export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const log = options.log ?? (() => undefined)
  const rand = seededRandom(options.seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]
  const summary: ChaosSummary = {seed: options.seed, killsTried: 0, killsSurvived: 0, operations: 0, eventsChecked: 0, eventsMatched: 0, failures: []}
  const fail = (what: string) => {
    summary.failures.push(what)
    log(`FAIL ${what}`)
  }
  const image = await busyboxImage()
  const reg = await startRegistry()
  const sb = sandbox('berth-chaos-')
  const suffix = options.seed.toString(36)
  const run = (args: string[]) => {
    summary.operations++
    return sb.run(args)
  }
  const expectOk = (args: string[], what = args.join(' ')): boolean => {
    const r = run(args)
    if (r.code !== 0) fail(`${what}: exit ${r.code}: ${r.stderr.trim()}`)
    return r.code === 0
  }
  try {
    await pushImage(reg, 'library/bb:1', image)
    const ref = `${reg.host}/library/bb:1`
    const pull = (ns: string) => ['-n', ns, 'images', 'pull', '-q', '--plain-http', ref]
    expectOk(pull('default'))

    /** After a round: collect, check, use, clean up, and look for anything left. */
    const settle = (label: string): boolean => {
      const before = summary.failures.length
      expectOk(['gc'], `${label}: gc`)
      const fsck = run(['fsck'])
      if (fsck.code !== 0) fail(`${label}: fsck exit ${fsck.code}: ${fsck.stdout.trim()} ${fsck.stderr.trim()}`)
      expectOk(['images', 'ls', '-q'], `${label}: images ls`)
      for (const ns of run(['namespaces', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
        for (const id of run(['-n', ns, 'tasks', 'ls', '-q']).stdout.split('\n').filter(Boolean))
          expectOk(['-n', ns, 'tasks', 'rm', '-f', id], `${label}: tasks rm -f ${id}`)
        for (const id of run(['-n', ns, 'containers', 'ls', '-q']).stdout.split('\n').filter(Boolean))
          expectOk(['-n', ns, 'containers', 'rm', id], `${label}: containers rm ${id}`)
      }
      const mounts = mountsUnder(sb.dir)
      if (mounts.length > 0) fail(`${label}: mounts left: ${mounts.join(' ')}`)
      const pids = pidsMentioning(sb.dir)
      if (pids.length > 0) fail(`${label}: processes left: ${pids.join(' ')}`)
      const runcRoot = join(sb.state, 'runc')
      for (const ns of existsSync(runcRoot) ? readdirSync(runcRoot) : []) {
        const left = readdirSync(join(runcRoot, ns))
        if (left.length > 0) fail(`${label}: runc state left in ${ns}: ${left.join(' ')}`)
      }
      const after = run(['fsck'])
      if (after.code !== 0) fail(`${label}: fsck after cleanup exit ${after.code}: ${after.stdout.trim()}`)
      return summary.failures.length === before
    }

    // 1. Kill rounds.
    for (let i = 0; i < options.kills; i++) {
      const op = pick(KILL_OPS)
      const delay = Math.floor(rand() * 700)
      const id = `k${i}-${suffix}`
      const label = `kill ${i} (${op} after ${delay} ms)`
      // Earlier rounds may have removed the image (an unpack round, a gc round): bring it back.
      if (op !== 'unpack') run(pull('default'))
      const args = await prepare(op, id, i)
      let killed: boolean
      if (op === 'conmon') {
        await sleep(delay)
        killed = killConmon(sb, id)
        summary.operations++
      } else {
        killed = await spawnAndKill(sb, args!, delay)
        summary.operations++
      }
      if (killed) summary.killsTried++
      const ok = settle(label)
      if (killed && ok) summary.killsSurvived++
      log(`${label}: ${killed ? 'killed' : 'finished before the kill'}, ${ok ? 'recovered' : 'NOT recovered'}`)
    }

    async function prepare(op: KillOp, id: string, i: number): Promise<string[] | undefined> {
      switch (op) {
        case 'pull':
          return pull(`kp${i}`)
        case 'unpack':
          // Nothing to share: the pull downloads and unpacks.
          for (const ns of run(['namespaces', 'ls', '-q']).stdout.split('\n').filter(Boolean)) run(['-n', ns, 'namespaces', 'rm', '--force', ns])
          run(['gc'])
          return pull('default')
        case 'run -d':
          return ['run', '-d', ref, id, 'sleep', '1000']
        case 'tasks start':
          expectOk(['containers', 'create', ref, id, 'sleep', '1000'])
          return ['tasks', 'start', '-d', id]
        case 'containers rm':
          expectOk(['containers', 'create', ref, id, 'true'])
          return ['containers', 'rm', id]
        case 'gc':
          expectOk(['images', 'rm', ref])
          return ['gc']
        case 'namespaces rm --force':
          expectOk(pull(`kn${i}`))
          expectOk(['-n', `kn${i}`, 'run', '-d', ref, id, 'sleep', '1000'])
          return ['namespaces', 'rm', '--force', `kn${i}`]
        case 'conmon':
          expectOk(['run', '-d', ref, id, 'sleep', '1000'])
          return undefined
      }
    }

    expectOk(pull('default'))

    // 2. Bursts of 16 mixed commands at once: none may fail (no busy errors).
    for (let b = 0; b < options.bursts; b++) {
      const jobs: string[][] = []
      for (let j = 0; j < 16; j++) {
        const mix: string[][] = [
          pull(`c${j % 4}`),
          ['images', 'ls', '-q'],
          ['run', '--rm', ref, `b${b}-${j}-${suffix}`, 'true'],
          ['gc'],
          ['content', 'ls', '-q'],
          ['containers', 'create', ref, `cc${b}-${j}-${suffix}`, 'true'],
          ['fsck'],
        ]
        jobs.push(pick(mix))
      }
      summary.operations += jobs.length
      const results = await Promise.all(jobs.map((args) => sb.spawn(args)))
      results.forEach((r, j) => {
        // fsck may see another command's work in flight as debris; only the final check counts for it.
        if (r.code !== 0 && jobs[j][0] !== 'fsck') fail(`burst ${b}: ${jobs[j].join(' ')}: exit ${r.code}: ${r.stderr.trim()}`)
      })
      settle(`burst ${b}`)
      log(`burst ${b}: 16 commands (${[...new Set(jobs.map((a) => (a[0] === '-n' ? a.slice(2, 4) : a.slice(0, 2)).join(' ')))].join(', ')})`)
      expectOk(pull('default'))
    }

    // 4. Events: replaying the log gives the tables.
    const events = checkEvents(sb)
    summary.eventsChecked += events.checked
    summary.eventsMatched += events.matched
    for (const f of events.failures) fail(f)
  } finally {
    cleanupSandbox(sb)
    await reg.stop()
  }

  if (options.enospc) await fullDisk(image, summary, fail, log)
  if (options.hostile) await hostileRegistry(image, options.hostile === 'quick', summary, fail, log)
  return summary
}

/** Start `args`, SIGKILL it after `delayMs`; true when it was still running then. */
async function spawnAndKill(sb: Sandbox, args: string[], delayMs: number): Promise<boolean> {
  const child = spawn(CTR_BIN, args, {env: sb.env, stdio: 'ignore', detached: false})
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()))
  const outcome = await Promise.race([done.then(() => 'exited' as const), sleep(delayMs).then(() => 'due' as const)])
  if (outcome === 'exited') return false
  child.kill('SIGKILL')
  await done
  return true
}

/** SIGKILL the conmon of task `id` (default namespace); true when there was one. */
function killConmon(sb: Sandbox, id: string): boolean {
  const db = openDb(sb)
  let row: {monitor_pid: number} | undefined
  try {
    row = db.prepare("SELECT monitor_pid FROM tasks WHERE namespace = 'default' AND container_id = ?").get(id) as typeof row
  } finally {
    db.close()
  }
  if (!row || row.monitor_pid <= 0) return false
  try {
    process.kill(row.monitor_pid, 'SIGKILL')
    return true
  } catch {
    return false
  }
}

interface EventRow {
  namespace: string
  topic: string
  payload: string
}

/**
 * Replay the create/delete events of namespaces, images, containers and tasks and compare with the
 * tables: a create of something that exists, a delete of something that does not, or a final set
 * that differs from the rows is a change without exactly one event.
 */
export function checkEvents(sb: Sandbox): {checked: number; matched: number; failures: string[]} {
  const db = openDb(sb)
  const failures: string[] = []
  let checked = 0
  let matched = 0
  try {
    const rows = db
      .prepare(
        "SELECT namespace, topic, payload FROM events WHERE topic GLOB '/namespaces/*' OR topic GLOB '/images/*' OR topic GLOB '/containers/*' OR " +
          "topic GLOB '/tasks/create' OR topic GLOB '/tasks/delete' ORDER BY seq",
      )
      .all() as EventRow[]
    const sets: Record<string, Set<string>> = {namespaces: new Set(), images: new Set(), containers: new Set(), tasks: new Set()}
    const keyOf = (e: EventRow, p: Record<string, unknown>): [string, string] | undefined => {
      const [, kind, verb] = e.topic.split('/')
      if (verb !== 'create' && verb !== 'delete') return undefined
      if (kind === 'namespaces') return ['namespaces', String(p['name'])]
      if (kind === 'images') return ['images', `${e.namespace}/${String(p['name'])}`]
      if (kind === 'containers') return ['containers', `${e.namespace}/${String(p['id'])}`]
      if (kind === 'tasks') return ['tasks', `${e.namespace}/${String(p['container_id'])}`]
      return undefined
    }
    for (const e of rows) {
      const key = keyOf(e, JSON.parse(e.payload) as Record<string, unknown>)
      if (!key) continue
      const [kind, id] = key
      checked++
      const set = sets[kind]
      const creating = e.topic.endsWith('/create')
      if (creating === set.has(id)) failures.push(`events: ${e.topic} ${id} while it ${creating ? 'existed' : 'did not exist'}`)
      else matched++
      if (creating) set.add(id)
      else set.delete(id)
    }
    const tables: Record<string, string[]> = {
      namespaces: (db.prepare('SELECT name AS k FROM namespaces').all() as Array<{k: string}>).map((r) => r.k),
      images: (db.prepare("SELECT namespace || '/' || name AS k FROM images").all() as Array<{k: string}>).map((r) => r.k),
      containers: (db.prepare("SELECT namespace || '/' || id AS k FROM containers").all() as Array<{k: string}>).map((r) => r.k),
      tasks: (db.prepare("SELECT namespace || '/' || container_id AS k FROM tasks").all() as Array<{k: string}>).map((r) => r.k),
    }
    for (const [kind, keys] of Object.entries(tables)) {
      const replayed = sets[kind]
      for (const k of keys) if (!replayed.has(k)) failures.push(`events: ${kind} ${k} exists without its create event`)
      const present = new Set(keys)
      for (const k of replayed) if (!present.has(k)) failures.push(`events: ${kind} ${k} is gone without its delete event`)
    }
  } finally {
    db.close()
  }
  return {checked, matched, failures}
}

/** A pull into a store on a small tmpfs fails with one `ctr:` line; after growing it, everything works. */
async function fullDisk(
  image: Awaited<ReturnType<typeof busyboxImage>>,
  summary: ChaosSummary,
  fail: (s: string) => void,
  log: (s: string) => void,
): Promise<void> {
  const reg = await startRegistry()
  const sb = sandbox('berth-chaos-full-')
  try {
    await pushImage(reg, 'library/bb:1', image)
    const ref = `${reg.host}/library/bb:1`
    mkdirSync(sb.root, {recursive: true})
    if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'chaos', sb.root]).status !== 0) return fail('enospc: cannot mount a tmpfs')
    try {
      const full = sb.run(['images', 'pull', '-q', '--plain-http', ref])
      summary.operations++
      if (full.code === 0) fail('enospc: a pull into 256 KiB succeeded')
      else if (!/^ctr: [^\n]+\n$/.test(full.stderr) || /TypeError|RangeError|ReferenceError/.test(full.stderr))
        fail(`enospc: not one ctr: line: ${JSON.stringify(full.stderr)}`)
      spawnSync('mount', ['-o', 'remount,size=64m', sb.root])
      for (const args of [['images', 'pull', '-q', '--plain-http', ref], ['gc'], ['fsck'], ['run', '--rm', ref, `full-${summary.seed.toString(36)}`, 'true']]) {
        summary.operations++
        const r = sb.run(args)
        if (r.code !== 0) fail(`enospc: after growing the disk, ${args.join(' ')}: exit ${r.code}: ${r.stdout.trim()} ${r.stderr.trim()}`)
      }
      log(`enospc: pull failed with exit ${full.code} (${full.stderr.trim()}); after growing the disk everything works`)
    } finally {
      cleanupSandbox(sb) // unmounts the tmpfs with the rest
    }
  } finally {
    await reg.stop()
  }
}

/** Hostile registry answers: each pull fails with one `ctr:` line and leaves nothing fsck finds; then a clean pull works. */
async function hostileRegistry(
  image: Awaited<ReturnType<typeof busyboxImage>>,
  quick: boolean,
  summary: ChaosSummary,
  fail: (s: string) => void,
  log: (s: string) => void,
): Promise<void> {
  const reg = await startFakeRegistry({images: {'library/bb:1': image}})
  const layer = image.layers[0].digest
  const manifest = reg.manifestPath('library/bb', '1')
  const cases: Array<{name: string; rule: Parameters<typeof reg.rules.add>[0]; extra?: string[]}> = [
    {name: 'tampered bytes', rule: {path: layer, method: 'GET', kind: 'corrupt'}},
    {name: 'wrong length', rule: {path: layer, method: 'GET', kind: 'truncate', bytes: 100, declare: 'actual'}},
    {name: 'endless body', rule: {path: layer, method: 'GET', kind: 'slow', bytesPerSecond: 64}, extra: ['--timeout', '2s']},
    {name: 'redirect loop', rule: {path: '/manifests/', kind: 'status', status: 307, headers: {Location: manifest}}},
  ]
  const chosen = cases.filter((c) => !quick || c.name === 'tampered bytes' || c.name === 'redirect loop')
  // Hostile layers: a path deeper than PATH_MAX (refused), entries climbing out of the root
  // (kept inside the snapshot: the pull may succeed, but nothing appears outside), and a bomb.
  const escapee = `/tmp/berth-chaos-escape-${summary.seed.toString(36)}`
  const deep = Array.from({length: 5000}, () => 'a').join('/')
  if (!quick) reg.addImage('hostile/deep:1', await buildImage({layers: [[{path: `${deep}/f`, type: 'file', content: 'deep\n'}]]}))
  reg.addImage('hostile/escape:1', await buildImage({layers: [[{path: `../../../../../..${escapee}`, type: 'file', content: 'out\n'}]]}))
  // A decompression bomb: 128 MiB of zeros in a layer of about 128 KiB (gzip's ratio on zeros).
  // OCI sets no limit on a layer's size, so the pull may succeed; what must hold is the same as
  // everywhere: one ctr: line if it fails, and gc + fsck clean afterwards.
  if (!quick) reg.addImage('hostile/bomb:1', await buildImage({layers: [[{path: 'zeros', type: 'file', content: Buffer.alloc(128 * 1024 * 1024)}]]}))
  const sb = sandbox('berth-chaos-hostile-')
  try {
    const ref = `${reg.host}/library/bb:1`
    for (const c of chosen) {
      reg.rules.clear()
      reg.rules.add(c.rule)
      // Asynchronously: the fake registry answers from this very process.
      const r = await sb.spawn([...(c.extra ?? ['--timeout', '120s']), 'images', 'pull', '-q', '--plain-http', ref])
      summary.operations++
      if (r.code === 0) fail(`hostile ${c.name}: pull succeeded`)
      else if (!/^ctr: [^\n]+\n$/.test(r.stderr) || /TypeError|RangeError|ReferenceError/.test(r.stderr))
        fail(`hostile ${c.name}: not one ctr: line: ${JSON.stringify(r.stderr)}`)
      reg.rules.clear()
      for (const args of [['gc'], ['fsck']]) {
        summary.operations++
        const after = await sb.spawn(args)
        if (after.code !== 0) fail(`hostile ${c.name}: ${args.join(' ')}: exit ${after.code}: ${after.stdout.trim()} ${after.stderr.trim()}`)
      }
      log(`hostile ${c.name}: exit ${r.code} (${r.stderr.trim()})`)
    }
    for (const name of quick ? ['escape'] : ['deep', 'escape', 'bomb']) {
      const r = await sb.spawn(['--timeout', '60s', 'images', 'pull', '-q', '--plain-http', `${reg.host}/hostile/${name}:1`])
      summary.operations++
      if (r.code !== 0 && (!/^ctr: [^\n]+\n$/.test(r.stderr) || /TypeError|RangeError|ReferenceError/.test(r.stderr)))
        fail(`hostile layer ${name}: not one ctr: line: ${JSON.stringify(r.stderr.slice(0, 300))}`)
      if (name === 'deep' && r.code === 0) fail('hostile layer deep: a path deeper than PATH_MAX was accepted')
      if (existsSync(escapee)) fail(`hostile layer ${name}: wrote ${escapee} outside its snapshot`)
      for (const args of [['gc'], ['fsck']]) {
        summary.operations++
        const after = await sb.spawn(args)
        if (after.code !== 0) fail(`hostile layer ${name}: ${args.join(' ')}: exit ${after.code}: ${after.stdout.trim()} ${after.stderr.trim()}`)
      }
      log(`hostile layer ${name}: exit ${r.code}${r.code === 0 ? '' : ` (${r.stderr.trim().slice(0, 120)})`}`)
    }
    summary.operations++
    const clean = await sb.spawn(['images', 'pull', '-q', '--plain-http', ref])
    if (clean.code !== 0) fail(`hostile: a clean pull afterwards: exit ${clean.code}: ${clean.stderr.trim()}`)
  } finally {
    cleanupSandbox(sb)
    await reg.stop()
  }
}

/** One line per figure, for people. */
export function formatSummary(s: ChaosSummary): string {
  return [
    `chaos seed ${s.seed} (replay: CHAOS_SEED=${s.seed})`,
    `kills survived ${s.killsSurvived} / tried ${s.killsTried}`,
    `operations ${s.operations}`,
    `events matched ${s.eventsMatched} / ${s.eventsChecked}`,
    `failures ${s.failures.length}`,
    ...s.failures.map((f) => `  ${f}`),
  ].join('\n')
}
