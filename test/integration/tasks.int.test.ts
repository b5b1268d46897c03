// `ctr tasks` end to end with real runc and conmon: exits recorded while no ctr runs (read straight
// from meta.db), OOM kills, exec, pause/resume, kill's default signal and --all, two namespaces with
// one id, namespaces rm --force, the spec rendered from its template at each start, containers rm
// of a running task, and repair after a killed ctr or a reboot. Runs as root; skips elsewhere
// unless CI is set.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {RUN_JS, type Sandbox} from '../helpers/cli.js'
import {formatRfc3339Nano} from '../../src/lib/events/index.js'
import {cgroupParentFor} from '../../src/lib/runtime/index.js'
import {busyboxImage} from '../helpers/oci-image.js'
import {
  eventsOf,
  hostDir,
  isMountPoint,
  mountsUnder,
  openDb,
  pidsMentioning,
  processAlive,
  type RuntimeEnv,
  runtimeSkipReason,
  startCtr,
  startRuntimeEnv,
  taskFiles,
  taskList,
  taskRow,
  waitFor,
} from '../helpers/tasks.js'

const skip = runtimeSkipReason()
const MEMORY_LIMIT = String(16 << 20)
/** Doubles a shell string until the memory cgroup's limit is hit. */
const EAT_MEMORY = 'x=a; while true; do x=$x$x; done'

const bind = (dir: string) => ['--mount', `type=bind,src=${dir},dst=/data,options=rbind:rw`]
const readText = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The memory cgroup runc makes for a container of the store with this state dir (cgroup v1). */
const memoryCgroup = (state: string, ns: string, id: string) => join('/sys/fs/cgroup/memory', cgroupParentFor(state), ns, id)

/** The task's row once its exit is recorded (read straight from meta.db, no ctr involved). */
const exitRecorded = (sb: Sandbox, id: string) =>
  waitFor('the exit to be recorded', () => {
    const r = taskRow(sb, 'default', id)
    return r?.status === 'stopped' ? r : undefined
  })

describe('ctr tasks', {skip}, () => {
  let env: RuntimeEnv
  let sb: Sandbox
  let bb: string
  let stopsig: string
  before(async () => {
    const plain = await busyboxImage()
    const usr1 = await busyboxImage({config: {config: {StopSignal: 'SIGUSR1'}}})
    env = await startRuntimeEnv({bb: plain, stopsig: usr1}, ['default', 'nsa', 'nsb'])
    sb = env.sb
    bb = env.ref('bb')
    stopsig = env.ref('stopsig')
  })
  after(async () => {
    await env?.close()
  })

  test('a -d task that exits while no ctr runs: conmon records it in meta.db and unmounts the rootfs', async () => {
    const id = env.id('detached-exit')
    const f = taskFiles(sb, 'default', id)
    sb.ok(['run', '-d', bb, id, 'sh', '-c', 'sleep 0.5; exit 5'])
    assert.equal(isMountPoint(f.rootfs), true, 'the rootfs is mounted while it runs')
    const conmonPid = Number(readFileSync(join(f.dir, 'conmon.pid'), 'utf8'))
    // No ctr from here until the checks are done: only the database and /proc are read.
    const row = await exitRecorded(sb, id)
    assert.equal(row.exit_status, 5)
    assert.equal(row.exit_known, 1)
    assert.equal(row.oom, 0)
    const db = openDb(sb)
    try {
      const rows = db.prepare("SELECT topic, payload FROM events WHERE namespace = 'default' AND topic = '/tasks/exit'").all() as {
        topic: string
        payload: string
      }[]
      const mine = rows.map((r) => JSON.parse(r.payload) as Record<string, unknown>).filter((p) => p['container_id'] === id)
      assert.equal(mine.length, 1)
      assert.equal(mine[0]['id'], id)
      assert.equal(mine[0]['exit_status'], 5)
      assert.equal(mine[0]['pid'], row.pid)
    } finally {
      db.close()
    }
    await waitFor('the rootfs to be unmounted', () => !isMountPoint(f.rootfs), 5000)
    await waitFor('conmon to exit', () => !processAlive(conmonPid), 5000)
    assert.equal(existsSync(f.runcState), false, 'runc state removed by the exit command')
    // Removed in-process by Runc.delete (no runc process): the container's cgroups go too.
    assert.equal(existsSync(memoryCgroup(sb.state, 'default', id)), false, "the task's cgroup removed by the exit command")
    // ctr agrees, and tasks rm warns about the status as ctr does.
    assert.equal(taskList(sb).get(id)?.status, 'STOPPED')
    const rm = sb.run(['tasks', 'rm', id])
    assert.equal(rm.code, 0, rm.stderr)
    assert.match(rm.stderr, new RegExp(`level=warning msg="task ${id} exit with non-zero exit code 5"\\n$`))
    sb.ok(['containers', 'rm', id])
  })

  test("a plain -d task's exit command is berth-exit, not a Node start-up; a --config spec with a poststop hook gets ctr tasks cleanup", async () => {
    const id = env.id('exit-recorder')
    sb.ok(['run', '-d', bb, id, 'sleep', '30'])
    const conmonArgv = (task: string) =>
      readFileSync(`/proc/${readFileSync(join(taskFiles(sb, 'default', task).dir, 'conmon.pid'), 'utf8').trim()}/cmdline`, 'utf8').split('\0')
    const argv = conmonArgv(id)
    const command = argv[argv.indexOf('--exit-command') + 1]
    assert.match(command ?? '', /\/native\/berth-exit$/)
    // The full cleanup stays its fallback: every --exit-command-arg after `--` is ctr's.
    const args = argv.flatMap((a, i) => (argv[i - 1] === '--exit-command-arg' ? [a] : []))
    assert.deepEqual(args.slice(args.indexOf('--') + 1).slice(-5), ['tasks', 'cleanup', '--instance', taskRow(sb, 'default', id)!.instance, id])
    sb.ok(['tasks', 'rm', '-f', id])
    sb.ok(['containers', 'rm', id])

    // runc runs the poststop hook at its delete: the exit must go through ctr, which runs runc delete.
    const hooked = env.id('exit-hooked')
    const dir = hostDir(sb, `hooked-${hooked}`)
    const marker = join(dir, 'poststop-ran')
    const rootfs = join(dir, 'rootfs')
    sb.ok(['run', '--rm', '--dump-config', join(dir, 'base.json'), bb, `${hooked}-tmpl`, 'true'])
    const spec = JSON.parse(readFileSync(join(dir, 'base.json'), 'utf8')) as Record<string, unknown> & {root: {path: string}; process: {args: string[]}}
    mkdirSync(rootfs, {recursive: true})
    assert.equal(spawnSync('cp', ['-a', '/bin/busybox', join(rootfs, 'busybox')]).status, 0)
    spec.root = {path: rootfs}
    spec.process.args = ['/busybox', 'true']
    spec['hooks'] = {poststop: [{path: '/bin/sh', args: ['sh', '-c', `echo ran > ${marker}`]}]}
    const specFile = join(dir, 'spec.json')
    writeFileSync(specFile, JSON.stringify(spec))
    sb.ok(['run', '-d', '--config', specFile, hooked])
    await exitRecorded(sb, hooked)
    await waitFor('runc delete to run the poststop hook', () => existsSync(marker), 5000)
    await waitFor("runc's state to go", () => !existsSync(taskFiles(sb, 'default', hooked).runcState), 5000)
    sb.ok(['tasks', 'rm', hooked])
    sb.ok(['containers', 'rm', hooked])
  })

  test('berth-exit hands over to ctr tasks cleanup when it cannot remove runc state itself: the exit is recorded once and nothing is left', async () => {
    const id = env.id('exit-handover')
    const f = taskFiles(sb, 'default', id)
    sb.ok(['run', '-d', bb, id, 'sh', '-c', 'sleep 0.5; exit 3'])
    // A directory in runc's state directory: berth-exit removes flat files only, so runc's own
    // removal (ctr's Runc.delete) must take over.
    mkdirSync(join(f.runcState, 'unexpected'))
    const row = await exitRecorded(sb, id)
    assert.equal(row.exit_status, 3)
    await waitFor("runc's state to go", () => !existsSync(f.runcState), 5000)
    await waitFor('the rootfs to be unmounted', () => !isMountPoint(f.rootfs), 5000)
    assert.equal(existsSync(memoryCgroup(sb.state, 'default', id)), false, "the task's cgroup removed")
    const exits = eventsOf(sb, 'default', id).filter((e) => e.topic === '/tasks/exit')
    assert.equal(exits.length, 1, 'one /tasks/exit, whoever recorded it')
    sb.ok(['tasks', 'rm', id])
    sb.ok(['containers', 'rm', id])
  })

  test("ctr events: /tasks/exit of a -d task has exited_at in RFC 3339 with the exit file's nanoseconds (seed 001, ctr 1.6/1.7)", async () => {
    const id = env.id('exit-nanos')
    const f = taskFiles(sb, 'default', id)
    sb.ok(['run', '-d', bb, id, 'sh', '-c', 'exit 5'])
    await exitRecorded(sb, id)
    const exitFile = join(f.dir, 'exits', id)
    assert.equal(existsSync(exitFile), true, 'conmon wrote its exit file')
    const exitedAt = formatRfc3339Nano(statSync(exitFile, {bigint: true}).mtimeNs)
    const out = sb.ok(['events', '--no-follow', `topic=="/tasks/exit",event.container_id==${id}`])
    const pid = taskRow(sb, 'default', id)!.pid
    assert.match(out, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC default \/tasks\/exit /)
    assert.equal(out.slice(out.indexOf(' /tasks/exit ') + 13), `{"container_id":"${id}","id":"${id}","pid":${pid},"exit_status":5,"exited_at":"${exitedAt}"}\n`)
    assert.match(exitedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/)
    sb.ok(['tasks', 'rm', id])
    sb.ok(['containers', 'rm', id])
  })

  test('conmon, and so its exit command, starts without NODE_EXTRA_CA_CERTS (carried as BERTH_NODE_EXTRA_CA_CERTS)', () => {
    const id = env.id('extra-ca')
    const ca = '/nonexistent/extra-ca.pem'
    // Started through node itself, which has paid for the bundle already: its children must not pay again.
    const r = spawnSync(process.execPath, [RUN_JS, 'run', '-d', bb, id, 'sleep', '30'], {env: {...sb.env, NODE_EXTRA_CA_CERTS: ca}, encoding: 'utf8'})
    assert.equal(r.status, 0, r.stderr)
    try {
      const conmonPid = Number(readFileSync(join(taskFiles(sb, 'default', id).dir, 'conmon.pid'), 'utf8'))
      const environ = readFileSync(`/proc/${conmonPid}/environ`, 'utf8').split('\0')
      assert.equal(environ.filter((e) => e.startsWith('NODE_EXTRA_CA_CERTS=')).length, 0)
      assert.deepEqual(
        environ.filter((e) => e.startsWith('BERTH_NODE_EXTRA_CA_CERTS=')),
        [`BERTH_NODE_EXTRA_CA_CERTS=${ca}`],
      )
    } finally {
      sb.ok(['tasks', 'rm', '-f', id])
      sb.ok(['containers', 'rm', id])
    }
  })

  describe('OOM', () => {
    test('-d: tasks wait prints "137 (oom)", tasks ls "STOPPED (oom)", /tasks/oom before /tasks/exit', () => {
      const id = env.id('oom-d')
      sb.ok(['run', '-d', '--memory-limit', MEMORY_LIMIT, bb, id, 'sh', '-c', EAT_MEMORY])
      assert.equal(sb.ok(['tasks', 'wait', id]), '137 (oom)\n')
      assert.equal(taskList(sb).get(id)?.status, 'STOPPED (oom)')
      const topics = eventsOf(sb, 'default', id).map((e) => e.topic)
      assert.deepEqual(
        topics.filter((t) => t === '/tasks/oom' || t === '/tasks/exit'),
        ['/tasks/oom', '/tasks/exit'],
      )
      assert.deepEqual(eventsOf(sb, 'default', id).find((e) => e.topic === '/tasks/oom')!.event, {container_id: id})
      assert.equal(eventsOf(sb, 'default', id).find((e) => e.topic === '/tasks/exit')!.event['exit_status'], 137)
      sb.run(['tasks', 'rm', id])
      sb.ok(['containers', 'rm', id])
      assert.equal(existsSync(memoryCgroup(sb.state, 'default', id)), false, 'cgroup removed')
    })

    test('foreground: exit 137 and /tasks/oom; the kept cgroup is removed afterwards', () => {
      const id = env.id('oom-fg')
      const r = sb.run(['run', '--rm', '--memory-limit', MEMORY_LIMIT, bb, id, 'sh', '-c', EAT_MEMORY])
      assert.equal(r.code, 137, r.stderr)
      assert.deepEqual(
        eventsOf(sb, 'default', id)
          .filter((e) => e.topic === '/tasks/oom')
          .map((e) => e.event),
        [{container_id: id}],
      )
      assert.equal(existsSync(memoryCgroup(sb.state, 'default', id)), false, 'cgroup removed')
      assert.deepEqual(mountsUnder(taskFiles(sb, 'default', id).dir), [])
    })

    test('a SIGKILL from outside under a memory limit is not reported as OOM (foreground and -d)', async () => {
      const id = env.id('kill-not-oom')
      const run = startCtr(sb, ['run', '--rm', '--memory-limit', MEMORY_LIMIT, bb, id, 'sleep', '1000'])
      await waitFor('the task to run', () => taskList(sb).get(id)?.status === 'RUNNING')
      sb.ok(['tasks', 'kill', '-s', 'SIGKILL', id])
      const r = await run.result
      assert.equal(r.code, 137, r.stderr)
      assert.equal(
        eventsOf(sb, 'default', id).some((e) => e.topic === '/tasks/oom'),
        false,
      )
      const did = env.id('kill-not-oom-d')
      sb.ok(['run', '-d', '--memory-limit', MEMORY_LIMIT, bb, did, 'sleep', '1000'])
      sb.ok(['tasks', 'kill', '-s', 'SIGKILL', did])
      assert.equal(sb.ok(['tasks', 'wait', did]), '137\n')
      assert.equal(taskList(sb).get(did)?.status, 'STOPPED')
      assert.equal(
        eventsOf(sb, 'default', did).some((e) => e.topic === '/tasks/oom'),
        false,
      )
      sb.run(['tasks', 'rm', did])
      sb.ok(['containers', 'rm', did])
    })
  })

  describe('exec', () => {
    let id: string
    before(() => {
      id = env.id('exec')
      sb.ok(['run', '-d', bb, id, 'sleep', '1000'])
    })

    test('foreground: exit code, stdout and stderr pass through', () => {
      const r = sb.run(['tasks', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo out; echo err >&2; exit 3'])
      assert.deepEqual([r.code, r.stdout, r.stderr], [3, 'out\n', 'err\n'])
      const ok = sb.run(['tasks', 'exec', '--exec-id', 'e2', id, 'cat', '/etc/hostname'])
      assert.deepEqual([ok.code, ok.stdout], [0, 'berth-test\n'])
    })

    test('--exec-id is required', () => {
      const r = sb.run(['tasks', 'exec', id, 'true'])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /^ctr: .*exec-id/)
    })

    test('a duplicate exec id is refused while the first runs, and free again after it exits', async () => {
      const first = startCtr(sb, ['tasks', 'exec', '--exec-id', 'dup', id, 'sleep', '1.5'])
      await waitFor('the first exec to start', () => eventsOf(sb, 'default', id).some((e) => e.topic === '/tasks/exec-started' && e.event['exec_id'] === 'dup'))
      const r = sb.run(['tasks', 'exec', '--exec-id', 'dup', id, 'true'])
      assert.equal(r.code, 4)
      assert.equal(r.stderr, 'ctr: id dup: already exists\n')
      assert.equal((await first.result).code, 0)
      assert.equal(sb.run(['tasks', 'exec', '--exec-id', 'dup', id, 'true']).code, 0)
    })

    test('-d: returns at once; the exit is recorded with /tasks/exit whose id is the exec id', async () => {
      sb.ok(['tasks', 'exec', '-d', '--exec-id', 'bg', id, 'sh', '-c', 'sleep 1; exit 4'])
      assert.equal(
        eventsOf(sb, 'default', id).some((e) => e.topic === '/tasks/exit' && e.event['id'] === 'bg'),
        false,
        'ctr returned while the process runs',
      )
      const exit = await waitFor('the exec exit', () => eventsOf(sb, 'default', id).find((e) => e.topic === '/tasks/exit' && e.event['id'] === 'bg'))
      assert.equal(exit.event['container_id'], id)
      assert.equal(exit.event['exit_status'], 4)
      assert.ok((exit.event['pid'] as number) > 0)
      const topics = eventsOf(sb, 'default', id)
        .filter((e) => e.event['exec_id'] === 'bg' || e.event['id'] === 'bg')
        .map((e) => e.topic)
      assert.deepEqual(topics, ['/tasks/exec-added', '/tasks/exec-started', '/tasks/exit'])
      assert.equal(taskList(sb).get(id)?.status, 'RUNNING', 'the init process is untouched')
    })

    test('exec in a stopped task is refused', () => {
      sb.ok(['tasks', 'kill', '-s', 'SIGKILL', id])
      assert.equal(sb.ok(['tasks', 'wait', id]), '137\n')
      const r = sb.run(['tasks', 'exec', '--exec-id', 'late', id, 'true'])
      assert.equal(r.code, 5)
      assert.equal(r.stderr, 'ctr: cannot exec in a stopped task: failed precondition\n')
      sb.run(['tasks', 'rm', id])
      sb.ok(['containers', 'rm', id])
    })
  })

  test("pause/resume: PAUSED then RUNNING, events, and a paused task's process does not advance", async () => {
    const id = env.id('pause')
    const dir = hostDir(sb, 'pause')
    const counter = join(dir, 'c')
    sb.ok(['run', '-d', ...bind(dir), bb, id, 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo $i > /data/c.tmp; mv /data/c.tmp /data/c; sleep 0.02; done'])
    await waitFor('the counter to count', () => Number(readText(counter)) > 3)
    sb.ok(['tasks', 'pause', id])
    assert.equal(taskList(sb).get(id)?.status, 'PAUSED')
    const frozen = readText(counter)
    await sleep(500)
    assert.equal(readText(counter), frozen, 'no progress while paused')
    sb.ok(['tasks', 'resume', id])
    assert.equal(taskList(sb).get(id)?.status, 'RUNNING')
    await waitFor('the counter to go on', () => Number(readText(counter)) > Number(frozen))
    const ev = eventsOf(sb, 'default', id).filter((e) => e.topic === '/tasks/paused' || e.topic === '/tasks/resumed')
    assert.deepEqual(
      ev.map((e) => [e.topic, e.event]),
      [
        ['/tasks/paused', {container_id: id}],
        ['/tasks/resumed', {container_id: id}],
      ],
    )
    // A paused task can be force-deleted (it is killed and thawed).
    sb.ok(['tasks', 'pause', id])
    const pid = taskList(sb).get(id)!.pid
    const rm = sb.run(['tasks', 'rm', '-f', id])
    assert.equal(rm.code, 0, rm.stderr)
    assert.equal(processAlive(pid), false)
    assert.equal(taskList(sb).has(id), false)
    sb.ok(['containers', 'rm', id])
  })

  describe('kill', () => {
    const trapBoth =
      "trap 'echo USR1 > /data/sig; exit 3' USR1; trap 'echo TERM > /data/sig; exit 4' TERM; echo ready > /data/ready; while :; do sleep 0.05; done"

    test("the default signal is the image's StopSignal (recorded as the stop-signal label)", async () => {
      const id = env.id('kill-stopsig')
      const dir = hostDir(sb, 'stopsig')
      sb.ok(['run', '-d', ...bind(dir), stopsig, id, 'sh', '-c', trapBoth])
      const info = JSON.parse(sb.ok(['containers', 'info', id])) as {Labels: Record<string, string>}
      assert.equal(info.Labels['io.containerd.image.config.stop-signal'], 'SIGUSR1')
      await waitFor('the traps', () => existsSync(join(dir, 'ready')))
      sb.ok(['tasks', 'kill', id])
      assert.equal(sb.ok(['tasks', 'wait', id]), '3\n')
      assert.equal(readText(join(dir, 'sig')), 'USR1\n')
      sb.run(['tasks', 'rm', id])
      sb.ok(['containers', 'rm', id])
    })

    test('without a StopSignal the default is SIGTERM', async () => {
      const id = env.id('kill-term')
      const dir = hostDir(sb, 'term')
      sb.ok(['run', '-d', ...bind(dir), bb, id, 'sh', '-c', trapBoth])
      await waitFor('the traps', () => existsSync(join(dir, 'ready')))
      sb.ok(['tasks', 'kill', id])
      assert.equal(sb.ok(['tasks', 'wait', id]), '4\n')
      assert.equal(readText(join(dir, 'sig')), 'TERM\n')
      sb.run(['tasks', 'rm', id])
      sb.ok(['containers', 'rm', id])
    })

    test('--all signals every process of the task, not only the init process', async () => {
      const id = env.id('kill-all')
      const dir = hostDir(sb, 'all')
      const script =
        "trap 'echo init >> /data/log' USR1; " +
        "(trap 'echo child >> /data/log' USR1; echo ready > /data/ready; while :; do sleep 0.05; done) & " +
        'while :; do sleep 0.05; done'
      sb.ok(['run', '-d', ...bind(dir), bb, id, 'sh', '-c', script])
      await waitFor('the child', () => existsSync(join(dir, 'ready')))
      await sleep(100) // the parent's trap is set before it forks; give the child's loop a moment
      sb.ok(['tasks', 'kill', '-s', 'SIGUSR1', id])
      await waitFor('the init trap', () => readText(join(dir, 'log')).includes('init'))
      await sleep(300)
      assert.equal(readText(join(dir, 'log')), 'init\n', 'without --all only the init process is signalled')
      sb.ok(['tasks', 'kill', '--all', '-s', 'SIGUSR1', id])
      await waitFor('both traps', () => readText(join(dir, 'log')).split('\n').filter(Boolean).length === 3)
      assert.deepEqual(readText(join(dir, 'log')).split('\n').filter(Boolean).sort(), ['child', 'init', 'init'])
      sb.ok(['tasks', 'kill', '--all', '-s', 'SIGKILL', id])
      assert.equal(sb.ok(['tasks', 'wait', id]), '137\n')
    })

    test('killing a stopped task is an error', () => {
      const id = env.id('kill-all') // stopped by the previous test
      const r = sb.run(['tasks', 'kill', id])
      assert.equal(r.code, 3)
      assert.equal(r.stderr, 'ctr: process already finished: not found\n')
      sb.run(['tasks', 'rm', id])
      sb.ok(['containers', 'rm', id])
    })
  })

  describe('namespaces', () => {
    test('the same id runs in two namespaces at once; each is killed and deleted independently', () => {
      const id = env.id('twin')
      sb.ok(['-n', 'nsa', 'run', '-d', bb, id, 'sleep', '1000'])
      sb.ok(['-n', 'nsb', 'run', '-d', bb, id, 'sleep', '1000'])
      const a = taskList(sb, 'nsa').get(id)!
      const b = taskList(sb, 'nsb').get(id)!
      assert.equal(a.status, 'RUNNING')
      assert.equal(b.status, 'RUNNING')
      assert.notEqual(a.pid, b.pid)
      sb.ok(['-n', 'nsa', 'tasks', 'kill', '-s', 'SIGKILL', id])
      assert.equal(sb.ok(['-n', 'nsa', 'tasks', 'wait', id]), '137\n')
      assert.equal(taskList(sb, 'nsb').get(id)?.status, 'RUNNING')
      assert.equal(processAlive(b.pid), true)
      sb.run(['-n', 'nsa', 'tasks', 'rm', id])
      sb.ok(['-n', 'nsa', 'containers', 'rm', id])
      assert.equal(sb.ok(['-n', 'nsb', 'containers', 'ls', '-q']).split('\n').includes(id), true)
      assert.equal(isMountPoint(taskFiles(sb, 'nsb', id).rootfs), true)
      assert.equal(sb.ok(['-n', 'nsb', 'tasks', 'exec', '--exec-id', 'x', id, 'true']), '')
      sb.ok(['-n', 'nsb', 'tasks', 'rm', '-f', id])
      assert.equal(processAlive(b.pid), false)
      sb.ok(['-n', 'nsb', 'containers', 'rm', id])
    })

    test('namespaces rm refuses while containers exist; --force kills the task and removes everything', async () => {
      const id = env.id('doomed')
      sb.ok(['-n', 'nsb', 'run', '-d', bb, id, 'sleep', '1000'])
      const pid = taskList(sb, 'nsb').get(id)!.pid
      const f = taskFiles(sb, 'nsb', id)
      const conmonPid = Number(readFileSync(join(f.dir, 'conmon.pid'), 'utf8'))
      const refused = sb.run(['namespaces', 'rm', 'nsb'])
      assert.equal(refused.code, 5)
      assert.match(refused.stderr, /^ctr: unable to delete nsb: namespace "nsb" must be empty, but it still has .*containers/)
      assert.equal(processAlive(pid), true, 'a refused rm touches nothing')
      assert.equal(existsSync(memoryCgroup(sb.state, 'nsb', id)), true, "the store's own cgroup parent")
      assert.equal(sb.run(['namespaces', 'rm', '--force', 'nsb']).stdout, 'nsb\n')
      assert.equal(sb.ok(['namespaces', 'ls', '-q']).split('\n').includes('nsb'), false)
      await waitFor('the container process to die', () => !processAlive(pid), 5000)
      await waitFor('conmon to exit', () => !processAlive(conmonPid), 5000)
      assert.deepEqual(pidsMentioning(join(sb.state, 'tasks', 'nsb')), [], 'no monitor of nsb left')
      assert.deepEqual(mountsUnder(join(sb.state, 'tasks', 'nsb')), [])
      assert.equal(existsSync(f.runcState), false)
      assert.equal(existsSync(memoryCgroup(sb.state, 'nsb', id)), false)
    })
  })

  test('the spec is rendered from the template at each start; the template never changes', async () => {
    const id = env.id('template')
    sb.ok(['containers', 'create', bb, id, 'sleep', '1000'])
    const f = taskFiles(sb, 'default', id)
    const template = readFileSync(f.template, 'utf8')
    const templateStat = statSync(f.template, {bigint: true})
    assert.notEqual((JSON.parse(template) as {root: {path: string}}).root.path, f.rootfs, 'the template does not name a bundle')
    sb.ok(['tasks', 'start', '-d', id])
    const first = statSync(f.config, {bigint: true})
    const rendered = JSON.parse(readFileSync(f.config, 'utf8')) as {root: {path: string}; process: {args: string[]}}
    assert.equal(rendered.root.path, f.rootfs)
    assert.deepEqual(rendered.process.args, ['sleep', '1000'])
    assert.equal(isMountPoint(f.rootfs), true)
    sb.ok(['tasks', 'kill', '-s', 'SIGKILL', id])
    sb.ok(['tasks', 'wait', id])
    sb.run(['tasks', 'rm', id])
    assert.equal(existsSync(f.config), false, 'the bundle goes with the task')
    await sleep(20)
    sb.ok(['tasks', 'start', '-d', id])
    const second = statSync(f.config, {bigint: true})
    assert.ok(second.mtimeNs > first.mtimeNs, 'config.json written again')
    assert.equal((JSON.parse(readFileSync(f.config, 'utf8')) as {root: {path: string}}).root.path, f.rootfs)
    assert.equal(readFileSync(f.template, 'utf8'), template, 'template bytes unchanged')
    const after = statSync(f.template, {bigint: true})
    assert.deepEqual([after.ino, after.mtimeNs], [templateStat.ino, templateStat.mtimeNs], 'template not rewritten')
    sb.ok(['tasks', 'rm', '-f', id])
    sb.ok(['containers', 'rm', id])
  })

  test("containers rm of a running task: exit 5 and ctr's message; after kill + wait it deletes the task first", () => {
    const id = env.id('crm')
    sb.ok(['run', '-d', bb, id, 'sleep', '1000'])
    const r = sb.run(['containers', 'rm', id])
    assert.equal(r.code, 5)
    assert.equal(r.stderr, 'ctr: cannot delete a non stopped container: running\n')
    assert.equal(taskList(sb).get(id)?.status, 'RUNNING')
    assert.equal(sb.ok(['containers', 'ls', '-q']).split('\n').includes(id), true)
    sb.ok(['tasks', 'kill', '-s', 'SIGKILL', id])
    assert.equal(sb.ok(['tasks', 'wait', id]), '137\n')
    const rm = sb.run(['containers', 'rm', id])
    assert.equal(rm.code, 0, rm.stderr)
    assert.equal(taskList(sb).has(id), false)
    assert.equal(sb.ok(['containers', 'ls', '-q']).split('\n').includes(id), false)
    const topics = eventsOf(sb, 'default', id).map((e) => e.topic)
    assert.ok(topics.indexOf('/tasks/delete') >= 0 && topics.indexOf('/tasks/delete') < topics.indexOf('/containers/delete'), topics.join(' '))
    const f = taskFiles(sb, 'default', id)
    assert.deepEqual(mountsUnder(f.dir), [])
    assert.equal(existsSync(f.dir), false)
    assert.equal(existsSync(f.runcState), false)
  })

  describe('repair', () => {
    test('a SIGKILLed foreground ctr: the task stays RUNNING while it lives, then STOPPED (255), and deletes cleanly', async () => {
      const id = env.id('orphan')
      const f = taskFiles(sb, 'default', id)
      const run = startCtr(sb, ['run', bb, id, 'sleep', '1000'])
      const pid = await waitFor('the task to run', () => {
        const t = taskList(sb).get(id)
        return t?.status === 'RUNNING' ? t.pid : undefined
      })
      run.child.kill('SIGKILL')
      assert.equal((await run.exited).signal, 'SIGKILL')
      assert.equal(taskList(sb).get(id)?.status, 'RUNNING', 'the container outlives its ctr')
      assert.equal(processAlive(pid), true)
      process.kill(pid, 'SIGKILL')
      await waitFor('the process to go', () => !processAlive(pid), 5000)
      await waitFor('tasks ls to show it stopped', () => taskList(sb).get(id)?.status === 'STOPPED', 5000)
      assert.equal(sb.ok(['tasks', 'wait', id]), '255\n')
      const rm = sb.run(['tasks', 'rm', id])
      assert.equal(rm.code, 0, rm.stderr)
      sb.ok(['containers', 'rm', id])
      assert.deepEqual(mountsUnder(f.dir), [])
      assert.equal(existsSync(f.runcState), false, 'no runc state dir left')
      assert.equal(existsSync(f.dir), false)
    })

    test('after a reboot (other boot id, state dir gone) a RUNNING record reads STOPPED with 255 and can be deleted', async () => {
      const id = env.id('reboot')
      const f = taskFiles(sb, 'default', id)
      sb.ok(['run', '-d', bb, id, 'sleep', '1000'])
      const pid = taskList(sb).get(id)!.pid
      const conmonPid = Number(readFileSync(join(f.dir, 'conmon.pid'), 'utf8'))
      // What a reboot does: every process dies without anyone recording it, tmpfs state goes away.
      process.kill(conmonPid, 'SIGKILL')
      await waitFor('conmon to go', () => !processAlive(conmonPid), 5000)
      process.kill(pid, 'SIGKILL')
      await waitFor('the process to go', () => !processAlive(pid), 5000)
      spawnSync('runc', ['--root', join(sb.state, 'runc', 'default'), 'delete', '--force', id])
      assert.equal(spawnSync('umount', [f.rootfs]).status, 0)
      rmSync(f.dir, {recursive: true, force: true})
      const db = openDb(sb, {readonly: false})
      try {
        const changed = db
          .prepare("UPDATE tasks SET boot_id = 'an-earlier-boot' WHERE namespace = 'default' AND container_id = ? AND status = 'running'")
          .run(id)
        assert.equal(changed.changes, 1, 'the record still says running')
      } finally {
        db.close()
      }
      assert.equal(taskList(sb).get(id)?.status, 'STOPPED')
      assert.equal(sb.ok(['tasks', 'wait', id]), '255\n')
      const exit = eventsOf(sb, 'default', id).filter((e) => e.topic === '/tasks/exit')
      assert.equal(exit.length, 1)
      assert.equal(exit[0].event['exit_status'], 255)
      const rm = sb.run(['tasks', 'rm', id])
      assert.equal(rm.code, 0, rm.stderr)
      assert.match(rm.stderr, /exit with non-zero exit code 255/)
      sb.ok(['containers', 'rm', id])
      assert.equal(sb.ok(['snapshots', 'ls']).includes(id), false)
    })
  })

  test('afterwards: no mount under the state directory and no monitor of this sandbox', () => {
    assert.deepEqual(mountsUnder(join(sb.state, 'tasks')), [])
    assert.deepEqual(pidsMentioning(join(sb.state, 'tasks')), [])
  })
})
