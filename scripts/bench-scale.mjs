// For `npm run bench` (section `scale`: it starts hundreds of containers): does Berth stay flat
// as the host fills up? With 0, 50 and 200 detached containers running (BENCH_SCALE_LEVELS),
// side by side with containerd: the time of one more `run -d`, of `tasks ls`, and the memory per
// running task (Berth: its conmon; containerd: its shim plus the daemon's growth divided by the
// tasks).
//
// Cleanup: Berth's containers go with `namespaces rm --force` (one call kills and removes them
// all); containerd's with kill, tasks rm and containers rm per container, then the daemon stops.
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {berthBin, containerdAvailable, ctrVersion, median, run, startContainerd} from './bench-containerd.mjs'

const KiB = 1024
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function check(what, r) {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(-2000)}`)
  return r
}

/** VmRSS of a process in KiB (0 when gone). */
function rssKiB(pid) {
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
  } catch {
    return 0
  }
}

/** Pids whose command line contains every one of `words`. */
function pidsWith(...words) {
  const found = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0')
      if (words.every((w) => argv.includes(w))) found.push(Number(name))
    } catch {
      /* gone */
    }
  }
  return found
}

/**
 * Runs the scale bench.
 * @param {{repo: string, work: string, levels?: number[], log: (s: string) => void}} o
 * @returns {{title: string, anchor: string, rows: object[], notes: string[]}}
 */
export async function benchScale({repo, work, levels = [0, 50, 200], log}) {
  const notes = []
  const rows = []
  const haveContainerd = containerdAvailable()
  const anchor = haveContainerd ? `containerd ${ctrVersion().split(' ').pop()}` : 'n/a (containerd not installed)'
  const {startRegistry, pushImage} = await import(join(repo, 'dist/test/helpers/registry.js'))
  const {busyboxImage} = await import(join(repo, 'dist/test/helpers/oci-image.js'))
  const ns = `berth-bench-scale-${process.pid}`
  const base = join(work, 'scale-store')
  const bEnv = {BERTH_ROOT: join(base, 'root'), BERTH_STATE: join(base, 'state')}
  const berth = (args) => run([berthBin(repo), '-n', ns, ...args], {env: bEnv})
  let d
  const ctr = (args) => d.ctr(['-n', ns, ...args])
  const ctrIds = []
  const registry = await startRegistry()
  try {
    await pushImage(registry, 'bench/scale:1', await busyboxImage())
    const ref = `${registry.host}/bench/scale:1`
    check('berth images pull', await berth(['images', 'pull', '-q', ref]))
    const tools = ['berth']
    if (haveContainerd) {
      d = await startContainerd()
      check('ctr images pull', await ctr(['images', 'pull', '--plain-http', ref]))
      tools.push('ctr')
    }
    const call = (tool, args) => (tool === 'berth' ? berth(args) : ctr(args))
    const fifo = (tool) => (tool === 'berth' ? [] : ['--fifo-dir', join(d.dir, 'fifo')])
    const running = {berth: 0, ctr: 0}
    const daemonBase = d ? rssKiB(d.pid) : 0
    for (const level of levels) {
      for (const tool of tools) {
        while (running[tool] < level) {
          const id = `scale-${running[tool]}`
          check(`${tool} run -d ${id}`, await call(tool, ['run', ...fifo(tool), '-d', ref, id, '/bin/sleep', '3600']))
          if (tool === 'ctr') ctrIds.push(id)
          running[tool]++
        }
      }
      log(`scale: ${level} running per tool`)
      await sleep(500)
      const t = {berth: {runD: [], ls: []}, ctr: {runD: [], ls: []}}
      for (let r = 0; r < 3; r++) {
        for (const tool of tools) {
          const id = `extra-${level}-${r}`
          t[tool].runD.push(check(`${tool} run -d ${id}`, await call(tool, ['run', ...fifo(tool), '-d', ref, id, '/bin/sleep', '3600'])).ms)
          await call(tool, ['tasks', 'kill', '-s', 'SIGKILL', id])
          for (let k = 0; k < 300; k++) {
            if (tool === 'ctr') await call(tool, ['tasks', 'rm', id])
            if ((await call(tool, ['containers', 'rm', id])).status === 0) break
            await sleep(10)
          }
        }
      }
      for (let r = 0; r < 5; r++) for (const tool of tools) t[tool].ls.push(check(`${tool} tasks ls`, await call(tool, ['tasks', 'ls'])).ms)
      const at = `${level} running`
      rows.push({what: `one more run -d, ${at}`, berth: median(t.berth.runD), anchor: median(t.ctr.runD), unit: 'ms', target: ''})
      rows.push({
        what: `tasks ls, ${at}`,
        berth: median(t.berth.ls),
        anchor: median(t.ctr.ls),
        unit: 'ms',
        target: level === Math.max(...levels) ? '≤ 1.0×' : '',
      })
      if (level > 0) {
        const conmons = pidsWith('--exit-dir').filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(base))
        const berthPer = conmons.reduce((n, p) => n + rssKiB(p), 0) / level / KiB
        let ctrPer = NaN
        if (d) {
          const shims = pidsWith(d.address, '-id').filter((p) => !readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('start'))
          ctrPer = (shims.reduce((n, p) => n + rssKiB(p), 0) + Math.max(0, rssKiB(d.pid) - daemonBase)) / level / KiB
        }
        rows.push({
          what: `memory per running task, ${at}`,
          berth: berthPer,
          anchor: ctrPer,
          unit: 'MiB',
          target: '',
          note: `Berth: ${conmons.length} conmons (RSS); containerd: shims' RSS + the daemon's growth, per task`,
        })
      }
    }
    notes.push(
      `levels ${levels.join(', ')} (BENCH_SCALE_LEVELS); run -d: median of 3, tasks ls: median of 5, per level and tool; image: busybox from ` +
        `docker-registry on 127.0.0.1`,
    )
    return {title: 'flat as the host fills up (speed, second round)', anchor, rows, notes}
  } finally {
    await berth(['namespaces', 'rm', '--force', ns]).catch(() => {})
    if (d) {
      for (const id of ctrIds) {
        await ctr(['tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => {})
      }
      await sleep(500)
      for (const id of ctrIds) {
        await ctr(['tasks', 'rm', id]).catch(() => {})
        await ctr(['containers', 'rm', id]).catch(() => {})
      }
      await d.stop()
    }
    await registry.stop()
  }
}
