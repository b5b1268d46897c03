// `npm run bench`, checkpoint issue: checkpoint + restore of a task holding about 100 MiB of
// resident memory, Berth (`ctr tasks checkpoint --exit` + `ctr containers restore --live`, into and
// out of a checkpoint image) against the same `runc checkpoint` + `runc restore -d` done by hand
// with the same CRIU, the same kind of process and the same runc, interleaved in one run.
// Also reports the checkpoint image's size. Run alone: node scripts/bench-checkpoint.mjs.
import {spawnSync} from 'node:child_process'
import {cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {berthBin} from './bench-containerd.mjs'

/** Holds ~100 MiB of non-zero bytes in the shell's memory, then idles. */
const HOG = ['sh', '-c', 'x=$(head -c 104857600 /dev/zero | tr "\\000" a); echo ready; while true; do sleep 1; done']
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN
}

function check(what, r) {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${r.stderr ?? ''}`)
  return r.stdout
}

/** With BERTH_CHECKPOINT_TIMING=1, Berth prints its step timing on stderr: pass it on. */
function timing(r, log) {
  for (const line of (r.stderr ?? '').split('\n')) if (line.startsWith('checkpoint-timing')) log(line)
  return r
}

function timed(fn) {
  const t = process.hrtime.bigint()
  fn()
  return Number(process.hrtime.bigint() - t) / 1e6
}

/** Resident KiB of the processes of a pid's cgroup-less tree (the init and its children). */
function rssOf(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
  } catch {
    return 0
  }
}

async function waitUntil(what, fn, ms = 60_000) {
  const end = Date.now() + ms
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

export async function benchCheckpoint({repo, work, rounds = 3, log = () => {}}) {
  const title = 'Checkpoint + restore of a task with ~100 MiB resident'
  const {findCriu} = await import(join(repo, 'dist/src/lib/checkpoint/criu.js'))
  let criu
  try {
    criu = findCriu({criuPath: undefined})
  } catch (err) {
    return {title, anchor: 'n/a', notes: [`skipped: ${err.message}`], rows: []}
  }
  const {startRegistry, pushImage} = await import(join(repo, 'dist/test/helpers/registry.js'))
  const {busyboxImage} = await import(join(repo, 'dist/test/helpers/oci-image.js'))
  const base = join(work, 'checkpoint-store')
  const env = {...process.env, BERTH_ROOT: join(base, 'root'), BERTH_STATE: join(base, 'state')}
  // The installed command, as every other section runs it: bin/ctr starts node without
  // NODE_EXTRA_CA_CERTS (`node bin/run.js` would parse that CA bundle first, 30-40 ms a call here).
  const ctrBin = berthBin(repo)
  const ctr = (args) => spawnSync(ctrBin, args, {env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
  const runc = 'runc'
  const handRoot = join(base, 'hand-runc')
  const handBundle = join(base, 'hand-bundle')
  const ids = {berth: `ckb-${process.pid}`, hand: `ckh-${process.pid}`}
  const notes = [`CRIU ${criu.version} (${criu.source}); process: busybox sh holding a 100 MiB string; ${rounds} rounds, interleaved`]
  const samples = {berth: [], hand: []}
  let imageSize = NaN
  const registry = await startRegistry()
  try {
    await pushImage(registry, 'bench/ckpt:1', await busyboxImage())
    const ref = `${registry.host}/bench/ckpt:1`
    check('pull', ctr(['images', 'pull', '-q', ref]))
    check('run', ctr(['run', '-d', ref, ids.berth, ...HOG]))
    const berthLog = join(env.BERTH_STATE, 'tasks', 'default', ids.berth, 'log')
    await waitUntil('the Berth task to fill its memory', () => {
      try {
        return readFileSync(berthLog, 'utf8').includes('ready')
      } catch {
        return false
      }
    })
    const berthPid = () =>
      Number(
        /^\S+\s+(\d+)/m.exec(
          check('tasks ls', ctr(['tasks', 'ls']))
            .split('\n')
            .slice(1)
            .join('\n'),
        )?.[1] ?? 0,
      )
    notes.push(`resident: ${(rssOf(berthPid()) / 1024).toFixed(0)} MiB (Berth's task)`)

    // The hand-made container: a copy of the same rootfs and spec, run by runc directly, stdio /dev/null.
    const taskDir = join(env.BERTH_STATE, 'tasks', 'default', ids.berth)
    mkdirSync(handBundle, {recursive: true})
    cpSync(join(taskDir, 'rootfs'), join(handBundle, 'rootfs'), {recursive: true, verbatimSymlinks: true})
    const spec = JSON.parse(readFileSync(join(taskDir, 'config.json'), 'utf8'))
    spec.root.path = join(handBundle, 'rootfs')
    spec.linux.cgroupsPath = `/berth-bench-hand/${ids.hand}`
    spec.process.args = ['sh', '-c', 'x=$(head -c 104857600 /dev/zero | tr "\\000" a); touch /ready; while true; do sleep 1; done']
    writeFileSync(join(handBundle, 'config.json'), JSON.stringify(spec))
    // stdio all /dev/null: a detached container inherits them, and a pipe would never close.
    check('runc run', spawnSync(runc, ['--root', handRoot, 'run', '-d', '--bundle', handBundle, ids.hand], {stdio: 'ignore'}))
    await waitUntil('the hand task to fill its memory', () => {
      try {
        readFileSync(join(handBundle, 'rootfs', 'ready'))
        return true
      } catch {
        return false
      }
    })

    for (let r = 0; r < rounds; r++) {
      log(`checkpoint round ${r + 1}/${rounds}`)
      // Berth: checkpoint into an image, then restore in place from it.
      const name = `bench/ckpt-image:${r}`
      let ms = timed(() => check('tasks checkpoint', timing(ctr(['tasks', 'checkpoint', '--exit', '--name', name, ids.berth]), log)))
      const db = ctr(['images', 'ls', '--all', '--format', 'json'])
      const row = JSON.parse(db.stdout || '[]').find((i) => i.name === `docker.io/${name}`)
      if (row) imageSize = row.size
      await waitUntil('the checkpointed task to be recorded stopped', () => /STOPPED/.test(ctr(['tasks', 'ls']).stdout))
      check('tasks rm', ctr(['tasks', 'rm', ids.berth]))
      check('containers rm', ctr(['containers', 'rm', ids.berth]))
      ms += timed(() => check('containers restore', timing(ctr(['containers', 'restore', '--rw', '--live', ids.berth, name]), log)))
      samples.berth.push(ms)
      check('images rm', ctr(['images', 'rm', `docker.io/${name}`]))

      // By hand: the same two steps with runc and the same CRIU.
      const dir = mkdtempSync(join(base, 'hand-image-'))
      const hms =
        timed(() =>
          check(
            'runc checkpoint',
            spawnSync(runc, ['--root', handRoot, '--criu', criu.path, 'checkpoint', '--image-path', dir, '--work-path', dir, ids.hand], {encoding: 'utf8'}),
          ),
        ) +
        timed(() =>
          check(
            'runc restore',
            spawnSync(
              runc,
              ['--root', handRoot, '--criu', criu.path, 'restore', '-d', '--image-path', dir, '--work-path', dir, '--bundle', handBundle, ids.hand],
              {stdio: 'ignore'},
            ),
          ),
        )
      samples.hand.push(hms)
      rmSync(dir, {recursive: true, force: true})
    }
  } finally {
    ctr(['tasks', 'rm', '-f', ids.berth])
    ctr(['containers', 'rm', ids.berth])
    spawnSync(runc, ['--root', handRoot, 'delete', '--force', ids.hand], {stdio: 'ignore'})
    // runc delete removes the container's cgroups; their parent is ours (every v1 controller, or v2).
    spawnSync('sh', ['-c', 'rmdir /sys/fs/cgroup/*/berth-bench-hand /sys/fs/cgroup/berth-bench-hand 2>/dev/null'], {stdio: 'ignore'})
    await registry.stop()
  }
  const rows = [
    {what: 'checkpoint + restore (~100 MiB)', berth: median(samples.berth), anchor: median(samples.hand), target: '≤ 1.3×'},
    {what: 'checkpoint image size', text: `${(imageSize / 1048576).toFixed(1)} MiB (dump tar, spec, rw layer; not compressed)`},
  ]
  return {title, anchor: `runc checkpoint + runc restore -d by hand, same CRIU`, notes, rows}
}

// Alone: print the rows.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..')
  const work = mkdtempSync(join(tmpdir(), 'berth-bench-ckpt-'))
  try {
    const res = await benchCheckpoint({repo, work, rounds: Number(process.env.BENCH_CHECKPOINT_ROUNDS ?? 3), log: (m) => process.stderr.write(`bench: ${m}\n`)})
    console.log(`${res.title}; anchor: ${res.anchor}`)
    for (const n of res.notes) console.log(`  ${n}`)
    for (const r of res.rows)
      console.log(
        r.text !== undefined
          ? `${r.what}: ${r.text}`
          : `${r.what}: Berth ${r.berth.toFixed(0)} ms, by hand ${r.anchor.toFixed(0)} ms, ratio ${(r.berth / r.anchor).toFixed(2)}× (target ${r.target})`,
      )
  } finally {
    spawnSync('sh', ['-c', `grep ' ${work}' /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l`])
    rmSync(work, {recursive: true, force: true})
  }
}
