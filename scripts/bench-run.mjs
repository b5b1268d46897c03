// For `npm run bench`: the run issue's benchmark, Berth side by side with containerd (the anchor, a
// private daemon from scripts/bench-containerd.mjs) in the same run.
//
// The image: the tests' tiny busybox image (test/helpers/oci-image.ts busyboxImage, the host's
// static busybox), pushed to Debian's docker-registry on 127.0.0.1 and pulled into both tools.
// Measured:
//  - `ctr run --rm IMG ID /bin/true`, a fresh id per round, interleaved with `node -e 0` (what one
//    Node start-up costs: the lifecycle below pays four per container);
//  - the bucketbench-style lifecycle: `containers create IMG ID /bin/sleep 60`, `tasks start -d`,
//    `tasks kill -s SIGKILL`, `containers rm` (retried after 10 ms while the task is still
//    stopping, for both tools alike, and counted), 20 containers in sequence and 4 loops of 20 in
//    parallel: total wall time per mode;
//  - the monitor's memory per running task: RSS of each task's conmon (Berth) and of each
//    containerd-shim-runc-v2 (containerd, one shim per task), 5 tasks started with `run -d`.
//
// Cleanup: every task either tool started is killed and removed (also on failure). An exit hook,
// ahead of bench-containerd.mjs's (which kills the daemon and unmounts its directory), SIGKILLs the
// clients still running, then what is left (conmons, shims, containers through `runc delete
// --force`), and removes killed shims' sockets. Mounts under Berth's state are unmounted; the
// bench namespace's cgroup directories and containerd's runc state root for it are removed when
// empty, and /run/containerd too when this run created it.
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync, rmdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {berthBin, containerdAvailable, CTR, ctrVersion, median, NODE_E_0, run, startContainerd} from './bench-containerd.mjs'

const REPO_NAME = 'bench/run'
/** containerd's machine-wide state directory (shim sockets in `s/`), whatever the daemon's config says. */
const CONTAINERD_RUN = '/run/containerd'
/** Where containerd-shim-runc-v2 keeps runc's state unless told otherwise (`<root>/<namespace>`). */
const SHIM_RUNC_ROOT = join(CONTAINERD_RUN, 'runc')
const CGROUP_V1 = '/sys/fs/cgroup'
const KiB = 1024

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function check(what, r) {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().slice(-2000)}`)
  return r
}

/** A process's resident memory from /proc/<pid>/status and smaps_rollup, in KiB (NaN when gone). */
function memoryOf(pid) {
  let rss = NaN
  let pss = NaN
  try {
    rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
  } catch {
    /* gone */
  }
  try {
    pss = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1])
  } catch {
    /* gone or no smaps_rollup */
  }
  return {rss, pss}
}

/** Every process: [{pid, ppid, argv}]. */
function processes() {
  const found = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean)
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      found.push({pid: Number(name), ppid, argv})
    } catch {
      /* gone */
    }
  }
  return found
}

/** Sleeps synchronously (for the exit hook, where nothing asynchronous runs any more). */
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function dirEntries(dir) {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}

function killPid(pid) {
  try {
    if (pid > 0) process.kill(pid, 'SIGKILL')
  } catch {
    /* gone */
  }
}

function readPidFile(path) {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim())
    return pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/** Mount points under `dir` (decoded), deepest first. */
function mountsUnder(dir) {
  let mounts
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter(Boolean)
  } catch {
    return []
  }
  const decode = (p) => p.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
  return mounts
    .map(decode)
    .filter((m) => m.startsWith(dir + '/'))
    .sort((a, b) => b.length - a.length)
}

/** Removes the (empty) cgroup directory `rel` in every cgroup v1 hierarchy (and v2's unified one). */
function removeCgroupDirs(rel) {
  let hierarchies
  try {
    hierarchies = readdirSync(CGROUP_V1)
  } catch {
    return
  }
  for (const h of ['', ...hierarchies]) {
    const dir = join(CGROUP_V1, h, rel)
    let children = []
    try {
      children = readdirSync(dir, {withFileTypes: true}).filter((e) => e.isDirectory())
    } catch {
      continue // absent, or not a hierarchy
    }
    // Containers' cgroups runc could not remove (cpuset's sometimes stays busy a moment): empty ones go.
    for (const c of children) {
      try {
        rmdirSync(join(dir, c.name))
      } catch {
        /* still has processes */
      }
    }
    try {
      rmdirSync(dir)
    } catch {
      /* not empty */
    }
  }
}

/** The runc binary, through $PATH (with the sbin directories root usually has). */
function findRunc() {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin']) {
    if (dir && existsSync(join(dir, 'runc'))) return join(dir, 'runc')
  }
  return 'runc'
}

/**
 * Runs the run benchmark.
 * @param {{repo: string, work: string, rounds: number, cycleRounds?: number, log: (s: string) => void}} o
 * @returns {{title: string, anchor: string, rows: object[], notes: string[]}}
 */
export async function benchRun({repo, work, rounds, cycleRounds = 3, log}) {
  const {startRegistry, pushImage} = await import(join(repo, 'dist/test/helpers/registry.js'))
  const {busyboxImage} = await import(join(repo, 'dist/test/helpers/oci-image.js'))
  const haveContainerd = containerdAvailable()
  const anchorName = haveContainerd
    ? `containerd ${ctrVersion().split(' ').pop()} (/usr/bin/ctr, private daemon, containerd-shim-runc-v2)`
    : 'n/a (containerd not installed: bash scripts/setup.sh bench)'
  const notes = []
  const rows = []
  const runc = findRunc()
  // One namespace name for both tools, unique to this run: it names containerd's runc state root
  // (/run/containerd/runc/<ns>) and both tools' cgroups, which are removed again at the end.
  const ns = `berth-bench-run-${process.pid}`

  // Berth's store.
  const base = join(work, 'run-store')
  const bEnv = {BERTH_ROOT: join(base, 'root'), BERTH_STATE: join(base, 'state')}
  const berthArgv = (args) => [berthBin(repo), '-n', ns, ...args]
  const berth = (args) => run(berthArgv(args), {env: bEnv})
  const berthTaskDir = (id) => join(bEnv.BERTH_STATE, 'tasks', ns, id)
  const berthIds = new Set() // containers Berth may still have
  const ctrIds = new Set() // containers containerd may still have

  const hadRunDir = existsSync(CONTAINERD_RUN)
  let d // the containerd daemon
  const fifoDir = () => join(d.dir, 'fifo') // ctr's stdio FIFOs: in the daemon's private directory, not /run/containerd/fifo
  const ctr = (args) => d.ctr(['-n', ns, ...args])

  /**
   * Kills whatever either tool still runs for this bench and removes its traces, synchronously:
   * SIGKILL to Berth's conmons and runc calls (any process with an argument under Berth's store) and
   * to the daemon's shims, `runc delete --force` for every container runc knows or Berth has a task
   * directory for (it kills the container's processes), then unmounts, empty cgroups and run
   * directories. As the exit hook (`clients`), the clients still running go first, daemon and
   * registry included: a `tasks start` in flight would otherwise start a task after the sweep. Two
   * sweeps 50 ms apart catch a container a killed client's conmon or shim was still creating.
   */
  const killEverythingNow = ({clients = false} = {}) => {
    const berthRuncRoot = join(bEnv.BERTH_STATE, 'runc', ns)
    const berthTasks = join(bEnv.BERTH_STATE, 'tasks', ns)
    const shimRuncRoot = join(SHIM_RUNC_ROOT, ns)
    const shimIds = new Set(ctrIds)
    if (clients) for (const p of processes()) if (p.ppid === process.pid) killPid(p.pid)
    for (let sweep = 0; sweep < 2; sweep++) {
      if (sweep > 0) sleepSync(50)
      for (const p of processes()) {
        if (p.pid === process.pid) continue
        if (p.argv.some((a) => a.startsWith(base + '/')) || (d && p.argv.includes(d.address))) killPid(p.pid)
        if (d && p.argv.includes(d.address) && p.argv.includes('-id')) shimIds.add(p.argv[p.argv.indexOf('-id') + 1])
      }
      for (const id of new Set([...dirEntries(berthRuncRoot), ...dirEntries(berthTasks)])) {
        spawnSync(runc, ['--root', berthRuncRoot, 'delete', '--force', id], {stdio: 'ignore'})
        killPid(readPidFile(join(berthTasks, id, 'pid'))) // in case runc never recorded it
      }
      for (const id of dirEntries(shimRuncRoot)) shimIds.add(id)
      for (const id of shimIds) spawnSync(runc, ['--root', shimRuncRoot, 'delete', '--force', id], {stdio: 'ignore'})
    }
    // A killed shim leaves its socket: /run/containerd/s/<sha256 of "<address>/<namespace>/<id>">.
    if (d)
      for (const id of shimIds)
        rmSync(
          join(
            CONTAINERD_RUN,
            's',
            createHash('sha256')
              .update(join(d.address, ns, id))
              .digest('hex'),
          ),
          {force: true},
        )
    for (const m of mountsUnder(base)) spawnSync('umount', ['-l', m], {stdio: 'ignore'})
    removeCgroupDirs(join('berth', ns))
    removeCgroupDirs(ns)
    // containerd's machine-wide run directory: the namespace's runc root, and the whole directory
    // again when this run made it (its shim socket and runc directories then are this run's).
    const runDirs = [shimRuncRoot, ...(hadRunDir ? [] : [...['runc', 's', 'fifo'].map((x) => join(CONTAINERD_RUN, x)), CONTAINERD_RUN])]
    for (const dir of runDirs) {
      try {
        rmdirSync(dir)
      } catch {
        /* absent or not empty */
      }
    }
  }
  const onExit = () => killEverythingNow({clients: true})

  /** Kill and remove a container of either tool, whatever state it is in; tolerates absence. */
  const removeQuietly = async (tool, id) => {
    const call = tool === 'berth' ? berth : ctr
    await call(['tasks', 'kill', '-s', 'SIGKILL', id])
    for (let i = 0; i < 200; i++) {
      const r = await call(['containers', 'rm', id])
      if (r.status === 0 || new RegExp(`container "${id}".*not found`).test(r.stderr)) break
      await sleep(10)
    }
    ;(tool === 'berth' ? berthIds : ctrIds).delete(id)
  }

  const registry = await startRegistry()
  try {
    const image = await busyboxImage()
    await pushImage(registry, `${REPO_NAME}:1`, image)
    const ref = `${registry.host}/${REPO_NAME}:1`
    const layerBytes = [...image.blobs.values()].reduce((n, b) => n + b.length, 0)
    notes.push(
      `image: busybox (test/helpers busyboxImage, ${(layerBytes / KiB).toFixed(0)} KiB), from docker-registry on 127.0.0.1 over plain http; namespace ${ns}`,
    )
    check('berth images pull', await berth(['images', 'pull', '-q', ref]))
    if (haveContainerd) {
      d = await startContainerd()
      check('ctr images pull', await ctr(['images', 'pull', '--plain-http', ref]))
      notes.push(`containerd's ctr gets --fifo-dir <daemon dir>/fifo (its stdio FIFOs stay in the private directory); Berth takes the same commands without it`)
    }
    if (process.env.NODE_EXTRA_CA_CERTS)
      notes.push(
        `this environment sets NODE_EXTRA_CA_CERTS: a plain \`node\` start-up reads and parses that bundle first ` +
          `(${process.env.NODE_EXTRA_CA_CERTS}); Berth's bin starts node without it and loads it only for TLS (bin/ctr), and the node -e 0 row is ` +
          `measured the same way`,
      )
    notes.push(
      "Berth's conmon runs its exit command, berth-exit (a small C program; `ctr tasks cleanup` for networked tasks), when a task exits; " +
        "containerd's shim reports the exit itself",
    )
    // Before any task starts, and ahead of every other exit hook: bench-containerd.mjs's (installed
    // by the first run() above: it kills the daemon and unmounts its directory) and bench.mjs's
    // (which removes the work directory).
    process.prependListener('exit', onExit)
    const tools = haveContainerd ? ['berth', 'ctr'] : ['berth']
    const call = (tool, args) => (tool === 'berth' ? berth(args) : ctr(args))
    const fifo = (tool) => (tool === 'berth' ? [] : ['--fifo-dir', fifoDir()])

    // --- 1. run --rm /bin/true, interleaved with node -e 0 and ctr --version; round 0 warms up ---
    const t1 = {node: [], goCtr: [], berth: [], ctr: []}
    for (let r = 0; r <= rounds; r++) {
      const node = check('node -e 0', await run(NODE_E_0))
      if (r > 0) t1.node.push(node.ms)
      for (const tool of tools) {
        const id = `rm-${tool}-${r}`
        ;(tool === 'berth' ? berthIds : ctrIds).add(id)
        const res = check(`${tool} run --rm`, await call(tool, ['run', ...fifo(tool), '--rm', ref, id, '/bin/true']))
        ;(tool === 'berth' ? berthIds : ctrIds).delete(id)
        if (r > 0) t1[tool].push(res.ms)
      }
      if (haveContainerd) {
        const v = check('ctr --version', await run([CTR, '--version']))
        if (r > 0) t1.goCtr.push(v.ms)
      }
    }
    log(
      `run --rm: Berth ${median(t1.berth).toFixed(1)} ms${haveContainerd ? `, ctr ${median(t1.ctr).toFixed(1)} ms` : ''}, node -e 0 ` +
        `${median(t1.node).toFixed(1)} ms`,
    )
    rows.push({
      what: 'run --rm IMG ID /bin/true',
      berth: median(t1.berth),
      anchor: median(t1.ctr),
      unit: 'ms',
      target: '≤ 0.8×', // the speed issue's second round (the first asked ≤ 1.0×)
      note: `medians of ${rounds} interleaved runs (a fresh id each)`,
    })
    rows.push({
      what: 'start-up: node -e 0 | ctr --version',
      berth: median(t1.node),
      anchor: median(t1.goCtr),
      unit: 'ms',
      target: '',
      note: `Node's start-up alone: 4 of them ≈ ${(4 * median(t1.node)).toFixed(0)} ms per lifecycle cycle`,
    })

    // --- 2. the lifecycle: create, start -d, kill -s SIGKILL, containers rm (retried) ---
    const calls = {berth: {create: [], start: [], kill: [], rm: []}, ctr: {create: [], start: [], kill: [], rm: []}}
    const retries = {berth: {seq: 0, par: 0}, ctr: {seq: 0, par: 0}}
    // A failed call does not end the bench: it is counted and shown on the row (which then does
    // not count as met), and the container is killed and removed before the loop goes on.
    const failures = {berth: {seq: [], par: []}, ctr: {seq: [], par: []}}
    const cycle = async (tool, id, mode, record) => {
      const ids = tool === 'berth' ? berthIds : ctrIds
      ids.add(id)
      const steps = [
        ['create', ['containers', 'create', ref, id, '/bin/sleep', '60']],
        ['start', ['tasks', 'start', ...fifo(tool), '-d', id]],
        ['kill', ['tasks', 'kill', '-s', 'SIGKILL', id]],
      ]
      try {
        for (const [step, args] of steps) {
          const r = check(`${tool} ${args.slice(0, 2).join(' ')} ${id}`, await call(tool, args))
          if (record) calls[tool][step].push(r.ms)
        }
        const t = process.hrtime.bigint()
        for (let attempt = 0; ; attempt++) {
          const r = await call(tool, ['containers', 'rm', id])
          if (r.status === 0) break
          if (!/non stopped|running/i.test(r.stderr) || attempt >= 500) check(`${tool} containers rm ${id}`, r)
          retries[tool][mode]++
          await sleep(10)
        }
        if (record) calls[tool].rm.push(Number(process.hrtime.bigint() - t) / 1e6)
        ids.delete(id)
      } catch (err) {
        failures[tool][mode].push(err.message)
        log(`lifecycle: ${err.message}`)
        await removeQuietly(tool, id)
      }
    }
    const COUNT = 20
    const LOOPS = 4
    const seqT = {berth: [], ctr: []}
    const parT = {berth: [], ctr: []}
    // One untimed cycle each first (page cache, first shim start).
    for (const tool of tools) await cycle(tool, `warm-${tool}`, 'seq', false)
    retries.berth.seq = retries.ctr.seq = 0
    failures.berth.seq.length = failures.ctr.seq.length = 0
    for (let r = 0; r < cycleRounds; r++) {
      for (const tool of tools) {
        let t = Date.now()
        for (let i = 0; i < COUNT; i++) await cycle(tool, `seq-${tool}-${r}-${i}`, 'seq', true)
        seqT[tool].push(Date.now() - t)
        t = Date.now()
        await Promise.all(
          Array.from({length: LOOPS}, async (_, loop) => {
            for (let i = 0; i < COUNT; i++) await cycle(tool, `par-${tool}-${r}-${loop}-${i}`, 'par', false)
          }),
        )
        parT[tool].push(Date.now() - t)
      }
      const vs = (t) => (haveContainerd ? ` vs ctr ${t.ctr.at(-1)} ms` : '')
      log(
        `lifecycle round ${r + 1}/${cycleRounds}: sequential Berth ${seqT.berth.at(-1)} ms${vs(seqT)}; ${LOOPS} parallel Berth ` +
          `${parT.berth.at(-1)} ms${vs(parT)}`,
      )
    }
    const per = (tool, what) => median(calls[tool][what])
    const retryText = (mode) =>
      `rm retries: Berth ${retries.berth[mode]}, containerd ${haveContainerd ? retries.ctr[mode] : 'n/a'} (over ${cycleRounds} rounds)`
    const failureText = (mode) =>
      tools
        .filter((tool) => failures[tool][mode].length)
        .map(
          (tool) =>
            `; ${tool === 'berth' ? 'Berth' : 'containerd'}: ${failures[tool][mode].length} failed cycles, first: ${failures[tool][mode][0].slice(0, 200)}`,
        )
        .join('')
    const failed = (mode) => failures.berth[mode].length + failures.ctr[mode].length
    rows.push({
      what: `lifecycle, ${COUNT} in sequence (${COUNT * 4} calls)`,
      berth: median(seqT.berth),
      anchor: median(seqT.ctr),
      unit: 'ms',
      target: '≤ 1.3×',
      failures: failed('seq'),
      note: `median of ${cycleRounds} rounds; ${retryText('seq')}${failureText('seq')}`,
    })
    rows.push({
      what: `lifecycle, ${LOOPS} loops of ${COUNT} in parallel`,
      berth: median(parT.berth),
      anchor: median(parT.ctr),
      unit: 'ms',
      target: '≤ 1.4×',
      failures: failed('par'),
      note: `median of ${cycleRounds} rounds; ${retryText('par')}${failureText('par')}`,
    })
    for (const what of ['create', 'start', 'kill', 'rm']) {
      const label = {create: 'containers create', start: 'tasks start -d', kill: 'tasks kill -s SIGKILL', rm: 'containers rm (incl. retries)'}[what]
      rows.push({what: `  one ${label}`, berth: per('berth', what), anchor: haveContainerd ? per('ctr', what) : NaN, unit: 'ms', target: ''})
    }
    const cyc = (tool) => ['create', 'start', 'kill', 'rm'].reduce((n, w) => n + per(tool, w), 0)
    rows.push({
      what: '  one cycle (sum of the medians)',
      berth: cyc('berth'),
      anchor: haveContainerd ? cyc('ctr') : NaN,
      unit: 'ms',
      target: '',
      note: 'machine notes: containerd create+start+stop+delete 185 ms',
    })

    // --- 3. the monitor's memory per running task ---
    const N = 5
    const mem = {berth: [], ctr: []}
    for (const tool of tools) {
      const ids = Array.from({length: N}, (_, k) => `mem-${tool}-${k}`)
      for (const id of ids) {
        ;(tool === 'berth' ? berthIds : ctrIds).add(id)
        check(`${tool} run -d ${id}`, await call(tool, ['run', ...fifo(tool), '-d', ref, id, '/bin/sleep', '60']))
      }
      await sleep(300) // let the monitors settle after start-up
      for (const id of ids) {
        if (tool === 'berth') {
          const pid = readPidFile(join(berthTaskDir(id), 'conmon.pid'))
          if (!pid) throw new Error(`berth run -d ${id}: no conmon.pid in ${berthTaskDir(id)}`)
          mem.berth.push(memoryOf(pid))
        } else {
          const shims = processes().filter((p) => p.argv.includes(d.address) && p.argv.includes(id) && p.argv.includes('-id') && !p.argv.includes('start'))
          if (shims.length !== 1) throw new Error(`ctr run -d ${id}: found ${shims.length} containerd-shim-runc-v2 processes`)
          mem.ctr.push(memoryOf(shims[0].pid))
        }
      }
      for (const id of ids) await removeQuietly(tool, id)
    }
    const avg = (xs, k) => (xs.length ? xs.reduce((n, x) => n + x[k], 0) / xs.length / KiB : NaN)
    rows.push({
      what: `monitor RSS per running task (${N})`,
      berth: avg(mem.berth, 'rss'),
      anchor: avg(mem.ctr, 'rss'),
      unit: 'MiB',
      target: '',
      note:
        `Berth: conmon; containerd: containerd-shim-runc-v2 (one per task). PSS: Berth ${avg(mem.berth, 'pss').toFixed(2)} MiB, containerd ` +
        `${avg(mem.ctr, 'pss').toFixed(2)} MiB`,
    })
  } finally {
    // Orderly cleanup of whatever a failure left, then the last resort, then the daemon.
    for (const id of [...berthIds]) await removeQuietly('berth', id).catch(() => {})
    if (d) for (const id of [...ctrIds]) await removeQuietly('ctr', id).catch(() => {})
    process.off('exit', onExit)
    killEverythingNow()
    if (d) await d.stop()
    await registry.stop()
    const left = mountsUnder(base)
    if (left.length) log(`warning: mounts left under ${base}: ${left.join(', ')}`)
    rmSync(base, {recursive: true, force: true})
  }
  return {title: 'run and the task lifecycle (the run issue)', anchor: anchorName, rows, notes}
}
