// `ctr run` end to end with real runc, conmon and a real registry: exit codes (own, signal deaths,
// 125/126/127 for failures before the process ran), stdio and signal forwarding of a foreground run, --rm
// cleanup, bind mounts, env/user/cwd from image and flags, the event sequence and payloads of one
// run, the seed `ctr events` filter, and -t without a terminal. Runs as root; skips elsewhere
// unless CI is set.
import assert from 'node:assert/strict'
import {type ChildProcessWithoutNullStreams, spawn, spawnSync} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {CTR_BIN, type Sandbox} from '../helpers/cli.js'
import {busyboxImage} from '../helpers/oci-image.js'
import {eventsOf, hostDir, mountsUnder, type RuntimeEnv, runtimeSkipReason, startCtr, startRuntimeEnv, taskFiles, taskList, waitFor} from '../helpers/tasks.js'

const skip = runtimeSkipReason()

/** Whether process `pid` has `path` open. */
function hasOpen(pid: number, path: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === path
      } catch {
        return false
      }
    })
  } catch {
    return false
  }
}

/** No mount, bundle, runc state or container directory of `id` is left. */
function assertNothingLeft(sb: Sandbox, ns: string, id: string): void {
  const f = taskFiles(sb, ns, id)
  assert.deepEqual(mountsUnder(f.dir), [], 'no mount left under the bundle')
  assert.equal(existsSync(f.dir), false, 'bundle directory removed')
  assert.equal(existsSync(f.runcState), false, 'runc state removed')
}

describe('ctr run', {skip}, () => {
  let env: RuntimeEnv
  let sb: Sandbox
  let bb: string
  let custom: string
  before(async () => {
    const plain = await busyboxImage()
    const configured = await busyboxImage({
      config: {config: {Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'FOO=from-image'], User: 'app', WorkingDir: '/home/app', StopSignal: 'SIGUSR1'}},
    })
    env = await startRuntimeEnv({bb: plain, custom: configured}, ['default', 'bb', 'other'])
    sb = env.sb
    bb = env.ref('bb')
    custom = env.ref('custom')
  })
  after(async () => {
    await env?.close()
  })

  describe('exit codes', () => {
    test('run --rm true exits 0, sh -c "exit 42" exits 42, with no output of ctr', () => {
      const ok = sb.run(['run', '--rm', bb, env.id('true'), 'true'])
      assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, '', ''])
      const r = sb.run(['run', '--rm', bb, env.id('exit42'), 'sh', '-c', 'exit 42'])
      assert.deepEqual([r.code, r.stdout, r.stderr], [42, '', ''])
    })

    test('a container killed from outside (tasks kill -s SIGKILL) makes the foreground run exit 137', async () => {
      const id = env.id('killed')
      const run = startCtr(sb, ['run', '--rm', bb, id, 'sleep', '1000'])
      await waitFor('the task to run', () => taskList(sb).get(id)?.status === 'RUNNING')
      sb.ok(['tasks', 'kill', '-s', 'SIGKILL', id])
      const r = await run.result
      assert.equal(r.code, 137, r.stderr)
      assert.equal(r.stderr, '')
      assert.equal(taskList(sb).has(id), false)
      assertNothingLeft(sb, 'default', id)
    })

    test('an unknown command: exit 127, one "ctr: " line naming it, nothing left behind', () => {
      const id = env.id('unknown')
      const r = sb.run(['run', '--rm', bb, id, 'no-such-command-xyz', 'arg'])
      assert.equal(r.code, 127)
      assert.equal(r.stdout, '')
      const lines = r.stderr.split('\n').filter(Boolean)
      assert.equal(lines.length, 1, r.stderr)
      assert.match(lines[0], /^ctr: .*no-such-command-xyz/)
      assert.equal(sb.ok(['containers', 'ls', '-q']).split('\n').includes(id), false)
      assertNothingLeft(sb, 'default', id)
    })

    test('flags after the container id belong to the container command, not to ctr', () => {
      const r = sb.run(['run', '--rm', bb, env.id('flags'), 'echo', '-d', '--rm', '-t', '-c', '--memory-limit', '1'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, '-d --rm -t -c --memory-limit 1\n')
      const c = sb.run(['run', '--rm', bb, env.id('dash-c'), 'sh', '-c', 'echo "$0 $1"', 'zero', 'one'])
      assert.equal(c.stdout, 'zero one\n', c.stderr)
    })
  })

  describe('stdio of a foreground run', () => {
    test("stdout and stderr go to ctr's stdout and stderr", () => {
      const r = sb.run(['run', '--rm', bb, env.id('stdio'), 'sh', '-c', 'echo to-out; echo to-err >&2; echo more-out'])
      assert.equal(r.code, 0)
      assert.equal(r.stdout, 'to-out\nmore-out\n')
      assert.equal(r.stderr, 'to-err\n')
    })

    test('stdin is passed to the container (echo hi | ctr run --rm IMG id cat), up to EOF', () => {
      const r = sb.run(['run', '--rm', bb, env.id('stdin'), 'cat'], {input: 'hi\n'})
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'hi\n', ''])
      const big = 'x'.repeat(200_000)
      const w = sb.run(['run', '--rm', bb, env.id('stdin-big'), 'wc', '-c'], {input: big})
      assert.equal(w.stdout.trim(), '200000', w.stderr)
    })
  })

  describe('signals sent to a foreground ctr run reach the container', () => {
    for (const [signal, code] of [
      ['SIGTERM', 7],
      ['SIGINT', 9],
    ] as const) {
      test(`${signal}: the container's trap runs and ctr exits with its code ${code}`, async () => {
        const id = env.id(signal.toLowerCase())
        const dir = hostDir(sb, signal)
        const trapName = signal.slice(3)
        const script = `trap 'echo got-${trapName} > /data/marker; exit ${code}' ${trapName}; echo ready > /data/ready; while :; do sleep 0.05; done`
        const run = startCtr(sb, ['run', '--rm', '--mount', `type=bind,src=${dir},dst=/data,options=rbind:rw`, bb, id, 'sh', '-c', script])
        await waitFor('the trap to be installed', () => existsSync(join(dir, 'ready')))
        run.child.kill(signal)
        const r = await run.result
        assert.equal(r.code, code, r.stderr)
        assert.equal(r.signal, null)
        assert.equal(readFileSync(join(dir, 'marker'), 'utf8'), `got-${trapName}\n`)
        assertNothingLeft(sb, 'default', id)
      })
    }
  })

  describe('--rm', () => {
    test('removes the container and its snapshot, and leaves no mount', () => {
      const id = env.id('rm')
      sb.ok(['run', '--rm', bb, id, 'true'])
      assert.equal(sb.ok(['containers', 'ls', '-q']).split('\n').includes(id), false)
      assert.doesNotMatch(sb.ok(['snapshots', 'ls']), new RegExp(`^${id} `, 'm'))
      assert.equal(sb.ok(['tasks', 'ls', '-q']).split('\n').includes(id), false)
      assert.equal(existsSync(join(sb.root, 'containers', 'default', id)), false, 'container directory removed')
      assertNothingLeft(sb, 'default', id)
    })

    test('without --rm the task goes but the container and snapshot stay until containers rm', () => {
      const id = env.id('keep')
      assert.equal(sb.run(['run', bb, id, 'sh', '-c', 'exit 3']).code, 3)
      assert.equal(sb.ok(['containers', 'ls', '-q']).split('\n').includes(id), true)
      assert.match(sb.ok(['snapshots', 'ls']), new RegExp(`^${id} +sha256:[0-9a-f]{64} +Active`, 'm'))
      assert.equal(sb.ok(['tasks', 'ls', '-q']).split('\n').includes(id), false)
      assertNothingLeft(sb, 'default', id)
      sb.ok(['containers', 'rm', id])
      assert.doesNotMatch(sb.ok(['snapshots', 'ls']), new RegExp(`^${id} `, 'm'))
    })

    test("--rm mounts the rootfs volatile (as podman does), a kept container's rootfs not", () => {
      const overlayOf = (out: string) => out.split('\n').find((l) => l.startsWith('overlay / ')) ?? assert.fail(out)
      const rm = sb.ok(['run', '--rm', bb, env.id('volatile'), 'cat', '/proc/mounts'])
      assert.match(overlayOf(rm), /[ ,=]volatile[ ,]/) // the kernel shows it as fsync=volatile
      const id = env.id('not-volatile')
      const kept = sb.ok(['run', bb, id, 'cat', '/proc/mounts'])
      assert.doesNotMatch(overlayOf(kept), /volatile/)
      sb.ok(['containers', 'rm', id])
    })

    test('a --rm container whose ctr was killed starts again: the volatile mark overlayfs left is cleared', async () => {
      const id = env.id('volatile-left')
      // The first run marks its rootfs and sleeps; a second run finds the mark and exits at once.
      const ctr = startCtr(sb, ['run', '--rm', bb, id, 'sh', '-c', 'test -f /ran && exit 0; touch /ran; sleep 30'])
      await waitFor('the task to run', () => taskList(sb).get(id)?.status === 'RUNNING')
      ctr.child.kill('SIGKILL')
      await ctr.exited
      sb.ok(['tasks', 'rm', '-f', id]) // the container stays: the ctr that would have removed it is gone
      const snapshot = sb.ok(['snapshots', 'ls']).match(new RegExp(`^${id} `, 'm'))
      assert.ok(snapshot, 'the container and its snapshot are left')
      const r = sb.run(['tasks', 'start', id])
      assert.equal(r.code, 0, r.stderr)
      sb.ok(['containers', 'rm', id])
    })

    test('--rm with -d is refused before anything is created', () => {
      const id = env.id('rm-d')
      const r = sb.run(['run', '--rm', '-d', bb, id, 'true'])
      assert.notEqual(r.code, 0)
      assert.equal(r.stderr, 'ctr: flags --detach and --rm cannot be specified together: invalid argument\n')
      assert.equal(sb.ok(['containers', 'ls', '-q']).split('\n').includes(id), false)
    })
  })

  describe('bind mounts, env, user, cwd', () => {
    test('a read-only bind mount can be read and not written', () => {
      const dir = hostDir(sb, 'ro')
      writeFileSync(join(dir, 'in'), 'host data\n')
      const r = sb.run([
        'run',
        '--rm',
        '--mount',
        `type=bind,src=${dir},dst=/data,options=rbind:ro`,
        bb,
        env.id('bind-ro'),
        'sh',
        '-c',
        'cat /data/in; echo x > /data/out',
      ])
      assert.notEqual(r.code, 0)
      assert.equal(r.stdout, 'host data\n')
      assert.match(r.stderr, /Read-only file system/)
      assert.equal(existsSync(join(dir, 'out')), false)
    })

    test('a read-write bind mount writes through to the host', () => {
      const dir = hostDir(sb, 'rw')
      const r = sb.run([
        'run',
        '--rm',
        '--mount',
        `type=bind,src=${dir},dst=/data,options=rbind:rw`,
        bb,
        env.id('bind-rw'),
        'sh',
        '-c',
        'echo from-container > /data/out',
      ])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(readFileSync(join(dir, 'out'), 'utf8'), 'from-container\n')
    })

    test('env: the image Env, --env added, an --env of the same key wins', () => {
      const r = sb.run(['run', '--rm', '--env', 'A=1', '--env', 'B=two words', custom, env.id('env'), 'env'])
      assert.equal(r.code, 0, r.stderr)
      const vars = r.stdout.split('\n').filter(Boolean)
      for (const v of ['A=1', 'B=two words', 'FOO=from-image', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin']) assert.ok(vars.includes(v), `${v} in ${r.stdout}`)
      const o = sb.run(['run', '--rm', '--env', 'FOO=from-flag', custom, env.id('env-over'), 'env'])
      const foo = o.stdout.split('\n').filter((l) => l.startsWith('FOO='))
      assert.deepEqual(foo, ['FOO=from-flag'])
    })

    test('user: the image User resolved through /etc/passwd; --user by name and by uid', () => {
      const img = sb.run(['run', '--rm', custom, env.id('user-img'), 'id'])
      assert.match(img.stdout, /^uid=1000\(app\) gid=1000\(app\)/, img.stderr)
      const name = sb.run(['run', '--rm', '--user', 'nobody', custom, env.id('user-name'), 'id'])
      assert.match(name.stdout, /^uid=65534\(nobody\) gid=65534\(nogroup\)/, name.stderr)
      const uid = sb.run(['run', '--rm', '--user', '0', custom, env.id('user-uid'), 'id'])
      assert.match(uid.stdout, /^uid=0\(root\) gid=0\(root\)/, uid.stderr)
      const plain = sb.run(['run', '--rm', bb, env.id('user-plain'), 'id', '-u'])
      assert.equal(plain.stdout, '0\n')
    })

    test('cwd: the image WorkingDir, --cwd overrides it, / by default', () => {
      assert.equal(sb.run(['run', '--rm', custom, env.id('cwd-img'), 'pwd']).stdout, '/home/app\n')
      assert.equal(sb.run(['run', '--rm', '--cwd', '/tmp', custom, env.id('cwd-flag'), 'pwd']).stdout, '/tmp\n')
      assert.equal(sb.run(['run', '--rm', bb, env.id('cwd-plain'), 'pwd']).stdout, '/\n')
    })
  })

  describe('events', () => {
    let id: string
    let ev: ReturnType<typeof eventsOf>
    before(() => {
      id = env.id('events')
      assert.equal(sb.run(['run', '--rm', bb, id, 'sh', '-c', 'exit 3']).code, 3)
      ev = eventsOf(sb, 'default', id)
    })

    test('one run --rm publishes create, start, exit, delete in order', () => {
      const topics = ev.map((e) => e.topic)
      // containerd: NewContainer prepares the snapshot (WithNewSnapshot) before it creates the record.
      assert.deepEqual(topics.slice(0, 6), ['/snapshot/prepare', '/containers/create', '/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete'])
      assert.deepEqual(topics.slice(6).sort(), ['/containers/delete', '/snapshot/remove'])
      const times = ev.map((e) => Date.parse(e.timestamp))
      assert.deepEqual(
        times,
        [...times].sort((a, b) => a - b),
        'timestamps never go back',
      )
    })

    test('--rm removes the snapshot before the container record, as containerd (WithSnapshotCleanup runs before ContainerService.Delete)', () => {
      assert.deepEqual(ev.map((e) => e.topic).slice(6), ['/snapshot/remove', '/containers/delete'])
    })

    test("payloads have ctr's shapes", () => {
      const by = (topic: string) => ev.find((e) => e.topic === topic)!.event
      assert.deepEqual(Object.keys(by('/snapshot/prepare')), ['key', 'parent', 'snapshotter'])
      assert.equal(by('/snapshot/prepare')['key'], id)
      assert.match(String(by('/snapshot/prepare')['parent']), /^sha256:[0-9a-f]{64}$/)
      assert.deepEqual(by('/containers/create'), {id, image: bb, runtime: {name: 'io.containerd.runc.v2'}})

      const create = by('/tasks/create')
      assert.deepEqual(Object.keys(create), ['container_id', 'bundle', 'rootfs', 'pid'])
      assert.equal(create['container_id'], id)
      assert.equal(create['bundle'], join(sb.state, 'tasks', 'default', id))
      const rootfs = create['rootfs'] as {type: string; source: string; options: string[]}[]
      assert.equal(rootfs.length, 1)
      assert.equal(rootfs[0].type, 'overlay')
      assert.ok(rootfs[0].options.some((o) => o.startsWith('lowerdir=')))
      const pid = create['pid'] as number
      assert.ok(Number.isInteger(pid) && pid > 0)
      assert.deepEqual(by('/tasks/start'), {container_id: id, pid})

      const exit = by('/tasks/exit')
      assert.deepEqual(Object.keys(exit), ['container_id', 'id', 'pid', 'exit_status', 'exited_at'])
      assert.deepEqual({...exit, exited_at: undefined}, {container_id: id, id, pid, exit_status: 3, exited_at: undefined})
      // RFC 3339 with up to nine fraction digits, as ctr 1.6/1.7 print it (seed 001), not {seconds, nanos}
      const at = exit['exited_at'] as string
      assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/)
      assert.ok(Math.abs(Date.parse(at) - Date.now()) < 120_000, `exited_at ${at}`)

      const del = by('/tasks/delete')
      assert.deepEqual(del, {container_id: id, pid, exit_status: 3, exited_at: at, id})
      assert.deepEqual(by('/containers/delete'), {id})
      assert.deepEqual(ev.find((e) => e.topic === '/snapshot/remove')!.event, {key: id, snapshotter: 'overlayfs'})
    })

    test('a zero exit status is omitted from /tasks/exit and /tasks/delete', () => {
      const zid = env.id('events-zero')
      sb.ok(['run', '--rm', bb, zid, 'true'])
      const zev = eventsOf(sb, 'default', zid)
      const exit = zev.find((e) => e.topic === '/tasks/exit')!.event
      assert.deepEqual(Object.keys(exit), ['container_id', 'id', 'pid', 'exited_at'])
      assert.equal('exit_status' in zev.find((e) => e.topic === '/tasks/delete')!.event, false)
    })

    test("seed 001: ctr events 'topic~=/tasks/.+,namespace==bb' shows bb's task events only", async () => {
      const follower: ChildProcessWithoutNullStreams = spawn(CTR_BIN, ['events', 'topic~=/tasks/.+,namespace==bb'], {env: sb.env})
      let out = ''
      follower.stdout.on('data', (d: Buffer) => (out += d.toString()))
      try {
        await waitFor('the follower to open the store', () => hasOpen(follower.pid!, join(sb.root, 'meta.db')))
        await new Promise((r) => setTimeout(r, 200)) // and taken its cursor
        const other = env.id('seed-other')
        const mine = env.id('seed-bb')
        sb.ok(['-n', 'other', 'run', '--rm', bb, other, 'true'])
        sb.ok(['-n', 'bb', 'run', '--rm', bb, mine, 'true'])
        await waitFor('/tasks/delete of the bb run', () => out.includes('/tasks/delete'))
        const lines = out.split('\n').filter(Boolean)
        for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC bb \/tasks\/\S+ \{.*\}$/)
        assert.doesNotMatch(out, new RegExp(other))
        const topics = lines.map((l) => l.split(' ')[5])
        assert.deepEqual(topics, ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete'])
        assert.match(lines[1], new RegExp(` bb /tasks/start \\{"container_id":"${mine}","pid":\\d+\\}$`))
        assert.match(
          lines[2],
          new RegExp(
            ` bb /tasks/exit \\{"container_id":"${mine}","id":"${mine}","pid":\\d+,"exited_at":"\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d{1,9})?Z"\\}$`,
          ),
        )
      } finally {
        follower.kill('SIGINT')
      }
    })
  })

  describe('-t without a terminal', () => {
    test('script exists (Berth gives runc a terminal through it)', () => {
      assert.equal(spawnSync('sh', ['-c', 'command -v script']).status, 0, 'util-linux script is needed for -t when stdin is not a terminal')
    })

    test('run --rm -t gives the process a terminal: test -t 0 succeeds', () => {
      const r = sb.run(['run', '--rm', '-t', bb, env.id('tty'), 'sh', '-c', 'test -t 0 && test -t 1 && echo tty'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /tty\r?\n$/)
      const no = sb.run(['run', '--rm', bb, env.id('notty'), 'sh', '-c', 'test -t 0 && echo tty'])
      assert.deepEqual([no.code, no.stdout], [1, ''])
    })

    test('run --rm -t prints only what the process wrote (no stray control characters)', () => {
      const r = sb.run(['run', '--rm', '-t', bb, env.id('tty-clean'), 'sh', '-c', 'echo tty'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(JSON.stringify(r.stdout), JSON.stringify('tty\r\n'))
    })

    test('the exit code passes through a terminal too', () => {
      const r = sb.run(['run', '--rm', '-t', bb, env.id('tty-exit'), 'sh', '-c', 'exit 6'])
      assert.equal(r.code, 6, r.stderr)
    })
  })

  test('afterwards: no mount or bundle is left under the state directory', () => {
    assert.deepEqual(mountsUnder(join(sb.state, 'tasks')), [])
  })
})
