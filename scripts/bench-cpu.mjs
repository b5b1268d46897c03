// For `npm run bench` (section `cpu`): the CPU time of the task lifecycle, Berth against containerd,
// idle and with both cores kept busy, and the exit path of a detached task (conmon's exit command).
//
// CPU is counted with cgroup v1's cpuacct, so that processes that leave their parent are counted
// too: this bench process moves itself into a `client` group (every ctr it starts, Berth's conmons,
// their exit commands and runc calls inherit it; containers go to their own cgroups, for both
// tools alike), containerd's daemon into a `daemon` group (its shims inherit it). A cycle's CPU is
// the groups' delta minus this process's own CPU (process.cpuUsage). The hog (`yes >/dev/null`,
// one per core) runs in a third group and is not counted. Everything goes back to the root groups
// and the groups are removed at the end. Without cpuacct the section says so and measures nothing.
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {cpus} from 'node:os'
import {join} from 'node:path'
import {berthBin, containerdAvailable, ctrVersion, median, NODE_E_0, run, startContainerd} from './bench-containerd.mjs'

const CPUACCT = '/sys/fs/cgroup/cpuacct'
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function check(what, r) {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(-2000)}`)
  return r
}

/**
 * Runs the CPU bench.
 * @param {{repo: string, work: string, cycles?: number, log: (s: string) => void}} o
 * @returns {{title: string, anchor: string, rows: object[], notes: string[]}}
 */
export async function benchCpu({repo, work, cycles = 10, log}) {
  const notes = []
  const rows = []
  const title = 'CPU of the task lifecycle, and the exit path (speed, second round)'
  if (!existsSync(join(CPUACCT, 'cpuacct.usage'))) {
    return {title, anchor: 'n/a', rows, notes: ['no cgroup v1 cpuacct hierarchy at /sys/fs/cgroup/cpuacct: nothing measured']}
  }
  const haveContainerd = containerdAvailable()
  const anchor = haveContainerd ? `containerd ${ctrVersion().split(' ').pop()}: ctr + daemon + shims` : 'n/a (containerd not installed)'
  const {startRegistry, pushImage} = await import(join(repo, 'dist/test/helpers/registry.js'))
  const {busyboxImage} = await import(join(repo, 'dist/test/helpers/oci-image.js'))
  const Database = createRequire(join(repo, 'package.json'))('better-sqlite3')

  const top = join(CPUACCT, `berth-bench-cpu-${process.pid}`)
  const group = (name) => join(top, name)
  const usage = (name) => Number(readFileSync(join(group(name), 'cpuacct.usage'), 'utf8')) / 1e6 // ms
  const moveTo = (dir, pid) => writeFileSync(join(dir, 'cgroup.procs'), String(pid))
  const selfMs = () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1000
  }
  for (const g of ['client', 'daemon', 'hog']) mkdirSync(group(g), {recursive: true})
  moveTo(group('client'), process.pid)

  const ns = `berth-bench-cpu-${process.pid}`
  const base = join(work, 'cpu-store')
  const bEnv = {BERTH_ROOT: join(base, 'root'), BERTH_STATE: join(base, 'state')}
  const berth = (args) => run([berthBin(repo), '-n', ns, ...args], {env: bEnv})
  let d
  const ctr = (args) => d.ctr(['-n', ns, ...args])
  const hogs = []
  const registry = await startRegistry()
  try {
    const image = await busyboxImage()
    await pushImage(registry, 'bench/cpu:1', image)
    const ref = `${registry.host}/bench/cpu:1`
    check('berth images pull', await berth(['images', 'pull', '-q', ref]))
    const tools = ['berth']
    if (haveContainerd) {
      d = await startContainerd()
      moveTo(group('daemon'), d.pid)
      check('ctr images pull', await ctr(['images', 'pull', '--plain-http', ref]))
      tools.push('ctr')
    }
    const call = (tool, args) => (tool === 'berth' ? berth(args) : ctr(args))
    const fifo = (tool) => (tool === 'berth' ? [] : ['--fifo-dir', join(d.dir, 'fifo')])

    /** One create → start -d → kill → rm cycle (rm retried every 10 ms while the task stops). */
    const cycle = async (tool, id) => {
      check(`${tool} create`, await call(tool, ['containers', 'create', ref, id, '/bin/sleep', '60']))
      check(`${tool} start`, await call(tool, ['tasks', 'start', ...fifo(tool), '-d', id]))
      check(`${tool} kill`, await call(tool, ['tasks', 'kill', '-s', 'SIGKILL', id]))
      for (let attempt = 0; ; attempt++) {
        const r = await call(tool, ['containers', 'rm', id])
        if (r.status === 0) break
        if (!/non stopped|running/i.test(r.stderr) || attempt >= 500) check(`${tool} containers rm ${id}`, r)
        await sleep(10)
      }
    }
    /** CPU (ms) and wall (ms) of `cycles` cycles in sequence, counted until everything settled. */
    const measure = async (tool, label) => {
      const c0 = usage('client')
      const d0 = usage('daemon')
      const s0 = selfMs()
      const t = performance.now()
      for (let i = 0; i < cycles; i++) await cycle(tool, `${label}-${tool}-${i}`)
      const wall = performance.now() - t
      await sleep(300) // exit commands and shims still finishing count too
      const client = usage('client') - c0 - (selfMs() - s0)
      const daemon = usage('daemon') - d0
      return {wall, client, daemon, total: client + daemon}
    }
    const result = {idle: {}, loaded: {}}
    for (const tool of tools) await cycle(tool, `warm-${tool}`) // page cache, first shim
    for (const tool of tools) result.idle[tool] = await measure(tool, 'idle')
    // The hog: one busy loop per core, in its own group (not counted).
    for (let i = 0; i < cpus().length; i++) {
      const hog = spawn('sh', ['-c', 'while :; do :; done'], {stdio: 'ignore'})
      moveTo(group('hog'), hog.pid)
      hogs.push(hog)
    }
    await sleep(200)
    for (const tool of tools) result.loaded[tool] = await measure(tool, 'loaded')
    for (const h of hogs.splice(0)) h.kill('SIGKILL')
    const per = (x) => x / cycles
    for (const mode of ['idle', 'loaded']) {
      const b = result[mode].berth
      const c = result[mode].ctr
      const label = mode === 'idle' ? 'idle machine' : `both cores busy (${cpus().length} hogs)`
      rows.push({
        what: `CPU per lifecycle cycle, ${label}`,
        berth: per(b.total),
        anchor: c ? per(c.total) : NaN,
        unit: 'ms',
        target: '≤ 1.2×',
        note:
          `Berth: ctr + conmon + exit command + runc ${per(b.client).toFixed(1)} ms; containerd: ctr ${c ? per(c.client).toFixed(1) : 'n/a'} + ` +
          `daemon and shims ${c ? per(c.daemon).toFixed(1) : 'n/a'} ms (${cycles} cycles)`,
      })
      rows.push({what: `  wall per cycle, ${label}`, berth: per(b.wall), anchor: c ? per(c.wall) : NaN, unit: 'ms', target: mode === 'idle' ? '≤ 1.3×' : ''})
    }

    // --- the exit path: a detached task that exits by itself ---
    const nodeCpu = []
    for (let i = 0; i < 5; i++) {
      const c0 = usage('client')
      const s0 = selfMs()
      check('node -e 0', await run(NODE_E_0))
      nodeCpu.push(usage('client') - c0 - (selfMs() - s0))
    }
    const exitCpu = []
    const latency = []
    const db = new Database(join(bEnv.BERTH_ROOT, 'meta.db'), {readonly: true})
    try {
      const row = db.prepare('SELECT status, exited_at, updated_at FROM tasks WHERE namespace = ? AND container_id = ?')
      for (let i = 0; i < 5; i++) {
        const id = `exit-${i}`
        check('berth run -d', await berth(['run', '-d', ref, id, '/bin/sleep', '0.5']))
        await sleep(200) // run -d is done; the task sleeps on
        const c0 = usage('client')
        const s0 = selfMs()
        let r
        for (let k = 0; k < 500; k++) {
          r = row.get(ns, id)
          if (r?.status === 'stopped') break
          await sleep(5)
        }
        await sleep(300) // the rest of the exit command (runc state, unmount) counts too
        exitCpu.push(usage('client') - c0 - (selfMs() - s0))
        if (r?.status === 'stopped') latency.push((r.updated_at - r.exited_at) / 1000)
        check('berth rm', await berth(['containers', 'rm', id]))
      }
    } finally {
      db.close()
    }
    rows.push({
      what: 'exit path CPU (conmon exit command)',
      berth: median(exitCpu),
      anchor: median(nodeCpu),
      unit: 'ms',
      target: '≤ 1.0×',
      note: 'anchor: the CPU of one node -e 0; Berth: everything from the task exit on (conmon and its exit command, berth-exit: record, runc state, unmount)',
    })
    rows.push({
      what: 'exit recorded after the task exited',
      text: `${median(latency).toFixed(1)} ms median, ${Math.max(...latency).toFixed(1)} ms max (target ≤ 100 ms)`,
      ok: Math.max(...latency) <= 100,
    })
    notes.push(
      `CPU from cgroup v1 cpuacct (client, daemon and hog groups); this bench process's own CPU subtracted; ${cycles} cycles per row; container ` +
        `processes run in their own cgroups for both tools and are not counted`,
    )
    return {title, anchor, rows, notes}
  } finally {
    for (const h of hogs) h.kill('SIGKILL')
    for (const id of [
      'warm-berth',
      ...Array.from({length: cycles}, (_, i) => [`idle-berth-${i}`, `loaded-berth-${i}`]).flat(),
      ...Array.from({length: 5}, (_, i) => `exit-${i}`),
    ]) {
      await berth(['tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => {})
      await berth(['containers', 'rm', id]).catch(() => {})
    }
    if (d) await d.stop()
    await registry.stop()
    // Back to the root groups, then the groups go (rmdir fails while a process is left in one).
    moveTo(CPUACCT, process.pid)
    for (const g of ['client', 'daemon', 'hog', '']) {
      try {
        rmdirSync(group(g))
      } catch {
        log(`warning: cgroup ${group(g)} not removed`)
      }
    }
  }
}
