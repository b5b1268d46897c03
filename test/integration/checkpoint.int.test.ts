// Checkpoint and restore (seed 002) end to end with real CRIU (the private install setup makes),
// runc and conmon: a counting process resumes its count after restore under a new id, in place,
// in another namespace and in another store (pushed with ctr images push and pulled by restore, or
// exported and imported as an archive); progress on a terminal, in a pipe and with -q; a TCP server answers after
// restore; --exit leaves it stopped; --rw carries file changes; checkpoint images
// are hidden from images ls and listed by both filter spellings; rm + gc frees their blobs;
// no CRIU fails clearly; the dump is root-only; a task holding memory gets it hashed
// while CRIU runs, under its true digest. Runs as root; skips elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {CTR_BIN, type Sandbox, sandbox} from '../helpers/cli.js'
import {busyboxImage} from '../helpers/oci-image.js'
import {
  cleanupSandbox,
  eventsOf,
  openDb,
  type RuntimeEnv,
  runtimeSkipReason,
  startRuntimeEnv,
  storedEvents,
  taskList,
  taskRow,
  waitFor,
} from '../helpers/tasks.js'
import {findCriu} from '../../src/lib/checkpoint/criu.js'

function skipReason(): string | false {
  const runtime = runtimeSkipReason()
  if (runtime) return runtime
  if (process.env['CI']) return false
  try {
    findCriu({criuPath: undefined})
    return false
  } catch (err) {
    return (err as Error).message
  }
}
const skip = skipReason()

/** Counts from the file /count (so a cold restart with the rw layer goes on), printing each value. */
// /count is replaced by a rename: a checkpoint between truncate and write would catch it empty.
const COUNTER = [
  'sh',
  '-c',
  'i=$(cat /count 2>/dev/null || echo 0); while true; do i=$((i+1)); echo $i > /count.new; mv /count.new /count; echo $i; sleep 0.1; done',
]

/** The numbers a task printed so far (its conmon log). */
function counts(sb: Sandbox, ns: string, id: string): number[] {
  const log = join(sb.state, 'tasks', ns, id, 'log')
  if (!existsSync(log)) return []
  return readFileSync(log, 'utf8')
    .split('\n')
    .map((l) => /stdout F (\d+)$/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
}
const last = (xs: number[]) => xs.at(-1) ?? 0

/** This process's environment without BERTH_ROOT/BERTH_STATE (the store then comes from flags only). */
function withoutStoreEnv(): NodeJS.ProcessEnv {
  const env = {...process.env}
  delete env['BERTH_ROOT']
  delete env['BERTH_STATE']
  return env
}

describe('checkpoint and restore', {skip}, () => {
  let env: RuntimeEnv
  let sb: Sandbox
  let bb: string
  before(async () => {
    env = await startRuntimeEnv({bb: await busyboxImage()}, ['default', 'nsb'])
    sb = env.sb
    bb = env.ref('bb')
  })
  after(async () => {
    await env?.close()
  })

  /** Run a counter detached in `ns` and wait until it counted to `n`. */
  async function startCounter(ns: string, id: string, n = 5): Promise<void> {
    sb.ok(['-n', ns, 'run', '-d', bb, id, ...COUNTER])
    await waitFor(`${id} to count to ${n}`, () => last(counts(sb, ns, id)) >= n, 30_000)
  }

  test('tasks checkpoint leaves the task running, prints the default name, and a restore under a new id goes on counting', async () => {
    const id = env.id('count')
    await startCounter('default', id)
    const before = last(counts(sb, 'default', id))
    const name = sb.ok(['tasks', 'checkpoint', id]).trim()
    assert.match(name, new RegExp(`^containerd\\.io/checkpoint/${id}:\\d\\d-\\d\\d-\\d{4}-\\d\\d:\\d\\d:\\d\\d$`))
    const again = sb.run(['tasks', 'checkpoint', '--name', name, id])
    assert.deepEqual([again.code, again.stderr], [4, `ctr: image ${JSON.stringify(name)}: already exists\n`])
    const after = last(counts(sb, 'default', id))
    await waitFor('the original to count on', () => last(counts(sb, 'default', id)) > after + 2, 30_000)
    assert.equal(taskList(sb).get(id)?.status, 'RUNNING')

    const copy = env.id('copy')
    sb.ok(['containers', 'restore', '--rw', '--live', copy, name])
    assert.equal(taskList(sb).get(copy)?.status, 'RUNNING')
    await waitFor('the copy to count', () => counts(sb, 'default', copy).length >= 3, 30_000)
    const resumed = counts(sb, 'default', copy)
    assert.ok(resumed[0] > before && resumed[0] <= after + 1, `the copy resumed at ${resumed[0]} (checkpoint between ${before} and ${after})`)
    assert.deepEqual(resumed.slice(0, 3), [resumed[0], resumed[0] + 1, resumed[0] + 2])

    const events = storedEvents(sb)
    assert.ok(events.some((e) => e.topic === '/tasks/checkpointed' && e.event['container_id'] === id && e.event['checkpoint'] === name))
    assert.ok(events.some((e) => e.topic === '/images/create' && e.event['name'] === name))
    assert.ok(eventsOf(sb, 'default', copy).some((e) => e.topic === '/tasks/start'))
    const create = eventsOf(sb, 'default', copy).find((e) => e.topic === '/tasks/create')
    assert.match(String(create?.event['checkpoint']), /^sha256:[0-9a-f]{64}$/, '/tasks/create names the CRIU image it came from')
    sb.ok(['tasks', 'rm', '-f', copy])
    sb.ok(['tasks', 'rm', '-f', id])
  })

  test('--exit leaves the task stopped (a clean exit, not a kill); a restore in place under the same id goes on counting', async () => {
    const id = env.id('inplace')
    await startCounter('default', id)
    sb.ok(['tasks', 'checkpoint', '--exit', '--name', 'checkpoint/inplace:1', id])
    const stoppedAt = last(counts(sb, 'default', id))
    await waitFor('the task to be recorded stopped', () => taskRow(sb, 'default', id)?.status === 'stopped', 30_000)
    assert.equal(taskRow(sb, 'default', id)?.exit_status, 0)
    assert.equal(taskList(sb).get(id)?.status, 'STOPPED')
    sb.ok(['tasks', 'rm', id])
    sb.ok(['containers', 'rm', id])
    sb.ok(['containers', 'restore', '--rw', '--live', id, 'checkpoint/inplace:1'])
    await waitFor('the restored task to count', () => counts(sb, 'default', id).length >= 2, 30_000)
    const resumed = counts(sb, 'default', id)
    assert.equal(resumed[0], stoppedAt + 1, 'counting goes on from where the checkpoint stopped it')
    sb.ok(['tasks', 'rm', '-f', id])
  })

  test('a checkpoint restores in another namespace while the same id runs in the first', async () => {
    const id = env.id('nsb')
    await startCounter('nsb', id)
    await startCounter('default', id)
    const name = sb.ok(['-n', 'nsb', 'tasks', 'checkpoint', '--exit', id]).trim()
    const stoppedAt = last(counts(sb, 'nsb', id))
    sb.ok(['-n', 'nsb', 'tasks', 'rm', id])
    sb.ok(['-n', 'nsb', 'containers', 'rm', id])
    sb.ok(['-n', 'nsb', 'containers', 'restore', '--rw', '--live', id, name])
    await waitFor('the restored task to count', () => counts(sb, 'nsb', id).length >= 2, 30_000)
    assert.equal(counts(sb, 'nsb', id)[0], stoppedAt + 1)
    assert.equal(taskList(sb).get(id)?.status, 'RUNNING')
    assert.equal(sb.run(['images', 'ls', '-q', '--all']).stdout.includes(name), false, 'the image is in nsb only')
    sb.ok(['-n', 'nsb', 'tasks', 'rm', '-f', id])
    sb.ok(['tasks', 'rm', '-f', id])
  })

  test('live migration: a checkpoint pushed with ctr images push is pulled by restore in another store (--root/--state), and counts on', async () => {
    const id = env.id('migrate')
    await startCounter('default', id)
    const ref = `${env.reg.host}/checkpoint/migrate:1`
    sb.ok(['tasks', 'checkpoint', '-q', '--exit', '--name', ref, id])
    const stoppedAt = last(counts(sb, 'default', id))
    sb.ok(['images', 'push', '--plain-http', ref])
    const other = sandbox('berth-rt-other-')
    try {
      // The other store by flags, not by environment: a second machine.
      const flags = ['--root', other.root, '--state', other.state]
      const r = spawnSync(CTR_BIN, [...flags, 'containers', 'restore', '--plain-http', '--rw', '--live', id, ref], {
        encoding: 'utf8',
        timeout: 120_000,
        env: withoutStoreEnv(),
      })
      assert.equal(r.status, 0, r.stderr)
      await waitFor('the migrated task to count', () => counts(other, 'default', id).length >= 2, 30_000)
      assert.equal(counts(other, 'default', id)[0], stoppedAt + 1)
      assert.equal(other.ok(['images', 'ls', '-q']).includes(ref), false, 'the pulled checkpoint is labelled and hidden')
      assert.ok(other.ok(['images', 'ls', '-q', 'labels."containerd.io/checkpoint"==true']).includes(ref))
      other.ok(['tasks', 'rm', '-f', id])
    } finally {
      cleanupSandbox(other)
    }
    sb.ok(['tasks', 'rm', id])
  })

  test('live migration through an archive: ctr images export, then import and restore in another store, and counts on', async () => {
    const id = env.id('archive')
    await startCounter('default', id)
    const name = 'checkpoint/archive:1'
    sb.ok(['tasks', 'checkpoint', '-q', '--exit', '--name', name, id])
    const stoppedAt = last(counts(sb, 'default', id))
    const archive = join(sb.dir, 'checkpoint-archive.tar')
    sb.ok(['images', 'export', archive, name])
    const other = sandbox('berth-rt-archive-')
    try {
      other.ok(['images', 'import', archive])
      // The archive holds the checkpoint index and what it references (the base image included).
      other.ok(['containers', 'restore', '--rw', '--live', id, name])
      await waitFor('the imported task to count', () => counts(other, 'default', id).length >= 2, 30_000)
      assert.equal(counts(other, 'default', id)[0], stoppedAt + 1)
      other.ok(['tasks', 'rm', '-f', id])
    } finally {
      cleanupSandbox(other)
    }
    sb.ok(['tasks', 'rm', id])
  })

  test('progress: the steps as plain lines on stderr in a pipe, nothing with -q, listr2 on a terminal', async () => {
    const id = env.id('progress')
    await startCounter('default', id, 2)
    const piped = sb.run(['tasks', 'checkpoint', '--name', 'checkpoint/progress:1', id])
    assert.equal(piped.code, 0, piped.stderr)
    assert.equal(piped.stdout, 'docker.io/checkpoint/progress:1\n', 'stdout has the name only')
    assert.deepEqual(
      piped.stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => l.replace(/ [\d.]+s$/, '')),
      ['pause the task: done', 'dump with CRIU: done', 'write blobs: done', 'record the image: done', 'resume the task: done'],
    )
    const quiet = sb.run(['tasks', 'checkpoint', '-q', '--name', 'checkpoint/progress:2', id])
    assert.deepEqual([quiet.code, quiet.stdout, quiet.stderr], [0, 'docker.io/checkpoint/progress:2\n', ''])
    // On a terminal (script(1) gives it one): listr2's tasks with their ticks.
    const tty = spawnSync('script', ['-qefc', `stty cols 120 rows 40; ${CTR_BIN} tasks checkpoint --name checkpoint/progress:3 ${id}`, '/dev/null'], {
      encoding: 'utf8',
      env: {...sb.env, TERM: 'xterm'},
      timeout: 120_000,
    })
    assert.equal(tty.status, 0, tty.stdout)
    for (const title of ['pause the task', 'dump with CRIU', 'write blobs', 'record the image', 'resume the task'])
      assert.ok(tty.stdout.includes(title), `${title} in ${JSON.stringify(tty.stdout)}`)
    assert.match(tty.stdout, /✔|√/, 'listr2 ticks the finished steps')
    assert.ok(tty.stdout.includes('checkpoint/progress:3'))
    sb.ok(['tasks', 'rm', '-f', id])
  })

  test('--rw carries the file changes made in the container; without it the rootfs is the image', async () => {
    const id = env.id('rw')
    await startCounter('default', id, 8)
    sb.ok(['containers', 'checkpoint', '--rw', '--image', '--task', id, 'checkpoint/rw:1'])
    const at = last(counts(sb, 'default', id))
    // A cold restore (no --live) starts the process afresh: it reads /count from the rw layer.
    const withRw = env.id('rw-cold')
    sb.ok(['containers', 'restore', '--rw', withRw, 'checkpoint/rw:1'])
    await waitFor('the cold copy to count', () => counts(sb, 'default', withRw).length >= 1, 30_000)
    const first = counts(sb, 'default', withRw)[0]
    assert.ok(first > 1 && first <= at + 1, `started at ${first}, /count was about ${at}`)
    const withoutRw = env.id('rw-none')
    sb.ok(['containers', 'restore', withoutRw, 'checkpoint/rw:1'])
    await waitFor('the plain copy to count', () => counts(sb, 'default', withoutRw).length >= 1, 30_000)
    assert.equal(counts(sb, 'default', withoutRw)[0], 1)
    for (const t of [id, withRw, withoutRw]) sb.ok(['tasks', 'rm', '-f', t])
  })

  test('a server listening on a TCP port answers again after restore (loopback up in the restored namespace)', async () => {
    const id = env.id('web')
    sb.ok(['run', '-d', bb, id, 'sh', '-c', 'mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www'])
    const get = (): string => {
      const pid = taskList(sb).get(id)?.pid
      if (!pid) return ''
      return (
        spawnSync('nsenter', [`--net=/proc/${pid}/ns/net`, 'busybox', 'wget', '-qO-', 'http://127.0.0.1:8080/'], {encoding: 'utf8', timeout: 10_000}).stdout ??
        ''
      )
    }
    await waitFor('the server to answer', () => get() === 'hello\n', 30_000)
    const name = sb.ok(['tasks', 'checkpoint', '--exit', id]).trim()
    sb.ok(['tasks', 'rm', id])
    sb.ok(['containers', 'rm', id])
    sb.ok(['containers', 'restore', '--rw', '--live', id, name])
    assert.equal(get(), 'hello\n')
    sb.ok(['tasks', 'rm', '-f', id])
  })

  test('--image-path keeps the dump in that directory (root-only), makes no image and prints nothing', async () => {
    const id = env.id('imgpath')
    await startCounter('default', id, 2)
    const dir = join(sb.dir, 'dump')
    const work = join(sb.dir, 'dump-work')
    const before = sb.ok(['images', 'ls', '-q', '--all'])
    assert.equal(sb.ok(['tasks', 'checkpoint', '--image-path', dir, '--work-path', work, id]), '')
    assert.ok(existsSync(join(dir, 'inventory.img')), 'CRIU wrote its images there')
    assert.ok(existsSync(join(work, 'dump.log')), 'and its log to the work path')
    assert.equal(statSync(dir).mode & 0o777, 0o700)
    assert.equal(sb.ok(['images', 'ls', '-q', '--all']), before)
    assert.equal(taskList(sb).get(id)?.status, 'RUNNING')
    sb.ok(['tasks', 'rm', '-f', id])
  })

  test('a failed dump says why in one line, makes no image and leaves the task running', async () => {
    const id = env.id('faildump')
    await startCounter('default', id, 2)
    // A CRIU that says it is 4.2.1 and then fails: runc's checkpoint fails, and ctr says why.
    const fake = join(sb.dir, 'fake-criu')
    writeFileSync(fake, '#!/bin/sh\ncase "$1" in --version) echo "Version: 4.2.1";; *) echo "fake criu refuses" >&2; exit 1;; esac\n', {mode: 0o755})
    sb.writeConfig(`criu_path = "${fake}"\n`)
    try {
      const before = sb.ok(['images', 'ls', '-q', '--all'])
      const r = sb.run(['tasks', 'checkpoint', '-q', id])
      assert.equal(r.code, 5, r.stderr)
      assert.match(r.stderr, new RegExp(`^ctr: checkpoint of task ${id} failed: .+\\n$`))
      assert.equal(r.stderr.split('\n').length, 2, 'one line')
      assert.equal(sb.ok(['images', 'ls', '-q', '--all']), before)
    } finally {
      sb.writeConfig('')
    }
    assert.equal(taskList(sb).get(id)?.status, 'RUNNING', 'resumed')
    const at = last(counts(sb, 'default', id))
    await waitFor('it to count on', () => last(counts(sb, 'default', id)) > at, 30_000)
    sb.ok(['tasks', 'rm', '-f', id])
  })

  test("restore --live of a checkpoint made without --task fails with containerd's words", () => {
    const id = env.id('notask')
    sb.ok(['containers', 'create', bb, id, 'true'])
    sb.ok(['containers', 'checkpoint', '--rw', '--image', id, 'checkpoint/notask:1'])
    const r = sb.run(['containers', 'restore', '--live', env.id('notask2'), 'checkpoint/notask:1'])
    assert.equal(r.code, 3)
    assert.match(r.stderr, /^ctr: checkpoint not found in index sha256:[0-9a-f]{64}\n$/)
    const cold = sb.run(['containers', 'restore', env.id('notask2'), 'checkpoint/notask:1'])
    assert.equal(cold.code, 3)
    assert.equal(cold.stderr, 'ctr: media type not found\n')
    assert.equal(sb.run(['containers', 'info', env.id('notask2')]).code, 3, 'nothing was created')
  })

  test('checkpoint images are hidden from images ls, shown by --all and by both filter spellings; rm frees their blobs', async () => {
    const id = env.id('list')
    await startCounter('default', id, 2)
    const name = sb.ok(['tasks', 'checkpoint', id]).trim()
    sb.ok(['tasks', 'rm', '-f', id])
    const plain = sb.ok(['images', 'ls', '-q']).split('\n').filter(Boolean)
    assert.equal(plain.includes(name), false)
    assert.ok(plain.includes(bb))
    assert.ok(sb.ok(['images', 'ls', '-q', '--all']).split('\n').includes(name))
    for (const filter of ['labels."containerd.io/checkpoint"==true', 'labels.containerd."io/checkpoint"==true']) {
      const listed = sb.ok(['images', 'ls', '-q', filter]).split('\n').filter(Boolean)
      assert.ok(listed.includes(name), filter)
      assert.equal(listed.includes(bb), false, filter)
      assert.ok(
        listed.every((n) => /^[^/]+\/checkpoint\//.test(n)),
        filter,
      ) // containerd.io/, docker.io/ or the test registry's host
    }
    // The default name is no valid reference, yet the image commands take it as stored.
    assert.match(sb.ok(['images', 'inspect', name]), /application\/vnd\.containerd\.container\.criu\.checkpoint\.criu\.tar/)
    sb.ok(['images', 'label', name, 'note=kept'])
    assert.match(sb.ok(['images', 'check', `name==${name}`]), /complete/)
    const table = sb.ok(['images', 'ls', '--all'])
    assert.match(table, /application\/vnd\.oci\.image\.index\.v1\+json .*containerd\.io\/checkpoint=true/)

    // The blobs only this checkpoint references go with it.
    const db = openDb(sb)
    const index = db.prepare("SELECT target_digest AS d FROM images WHERE namespace = 'default' AND name = ?").get(name) as {d: string}
    const labels = JSON.parse(
      (db.prepare("SELECT labels FROM content WHERE namespace = 'default' AND digest = ?").get(index.d) as {labels: string}).labels,
    ) as Record<string, string>
    db.close()
    const blob = (d: string) => join(sb.root, 'content', 'blobs', 'sha256', d.slice('sha256:'.length))
    const criuTar = Object.values(labels).find((d) => existsSync(blob(d)) && (statSync(blob(d)).mode & 0o777) === 0o600)
    assert.ok(criuTar, 'the CRIU dump blob is root-only (0600)')
    sb.ok(['images', 'rm', name])
    sb.ok(['gc'])
    assert.equal(existsSync(blob(index.d)), false, 'the index is gone')
    assert.equal(existsSync(blob(criuTar)), false, 'the dump is gone')
    assert.equal(Object.keys(labels).length, 4, 'dump, spec, base image and rw layer')
    assert.ok(sb.ok(['images', 'check']).includes('complete'), 'the base image is intact')
  })

  test('a task holding 8 MiB: its memory is hashed while CRIU runs, every blob is under its own sha256, the restore holds it', async () => {
    const id = env.id('mem')
    const HOLD = 'x=$(head -c 8388608 /dev/zero | tr "\\000" a); while true; do echo "held ${#x}"; sleep 0.2; done'
    sb.ok(['run', '-d', bb, id, 'sh', '-c', HOLD])
    const held = (task: string) => readFileSync(join(sb.state, 'tasks', 'default', task, 'log'), 'utf8').includes('held 8388608')
    await waitFor(`${id} to hold its memory`, () => held(id), 30_000)
    const r = sb.run(['tasks', 'checkpoint', '--exit', '--name', 'checkpoint/mem:1', id], {env: {BERTH_CHECKPOINT_TIMING: '1'}})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /early-hash-rest=/, 'the memory was hashed while CRIU ran')
    const db = openDb(sb)
    const rows = db.prepare("SELECT digest FROM content WHERE namespace = 'default'").all() as {digest: string}[]
    db.close()
    for (const {digest} of rows) {
      const file = join(sb.root, 'content', 'blobs', 'sha256', digest.slice('sha256:'.length))
      assert.equal(`sha256:${createHash('sha256').update(readFileSync(file)).digest('hex')}`, digest, file)
    }
    sb.ok(['tasks', 'rm', id])
    const copy = env.id('mem-copy')
    sb.ok(['containers', 'restore', '--live', copy, 'checkpoint/mem:1'])
    const logged = readFileSync(join(sb.state, 'tasks', 'default', copy, 'log'), 'utf8').length
    await waitFor(`${copy} to go on holding the memory`, () => readFileSync(join(sb.state, 'tasks', 'default', copy, 'log'), 'utf8').length > logged, 30_000)
    assert.ok(held(copy))
    sb.ok(['tasks', 'rm', '-f', copy])
  })

  test('an unprivileged user cannot read a checkpoint dump', async () => {
    const id = env.id('perm')
    await startCounter('default', id, 2)
    sb.ok(['tasks', 'checkpoint', '--name', 'checkpoint/perm:1', id])
    sb.ok(['tasks', 'rm', '-f', id])
    const db = openDb(sb)
    const rows = db.prepare("SELECT digest FROM content WHERE namespace = 'default'").all() as {digest: string}[]
    db.close()
    const paths = rows.map((r) => join(sb.root, 'content', 'blobs', 'sha256', r.digest.slice('sha256:'.length)))
    const dumps = paths.filter((p) => (statSync(p).mode & 0o777) === 0o600)
    assert.equal(dumps.length >= 1, true)
    for (const p of dumps) {
      const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'cat', p], {encoding: 'utf8'})
      assert.notEqual(r.status, 0, `nobody read ${p}`)
    }
    assert.equal(statSync(join(sb.state, 'checkpoints')).mode & 0o777, 0o700)
  })

  test('a corrupted CRIU tar fails the restore as data loss (exit 8) and records nothing', async () => {
    const id = env.id('corrupt')
    await startCounter('default', id, 2)
    const known = openDb(sb)
    const before = new Set((known.prepare("SELECT digest FROM content WHERE namespace = 'default'").all() as {digest: string}[]).map((r) => r.digest))
    known.close()
    sb.ok(['tasks', 'checkpoint', '--name', 'checkpoint/corrupt:1', id])
    sb.ok(['tasks', 'rm', '-f', id])
    const db = openDb(sb)
    const rows = db.prepare("SELECT digest FROM content WHERE namespace = 'default'").all() as {digest: string}[]
    db.close()
    const dump = rows
      .filter((r) => !before.has(r.digest))
      .map((r) => join(sb.root, 'content', 'blobs', 'sha256', r.digest.slice('sha256:'.length)))
      .find((p) => (statSync(p).mode & 0o777) === 0o600)
    assert.ok(dump, 'the dump blob')
    const bytes = readFileSync(dump)
    bytes.fill(0x41, 0, 4096) // the tar headers in front of the memory
    writeFileSync(dump, bytes)
    const copy = env.id('corrupt-copy')
    const r = sb.run(['containers', 'restore', '--live', copy, 'checkpoint/corrupt:1'])
    assert.equal(r.code, 8, r.stderr)
    assert.match(r.stderr, /^ctr: checkpoint's CRIU image .* cannot be read: .*\n$/)
    assert.equal(sb.ok(['containers', 'ls', '-q']).split('\n').includes(copy), false, 'no container recorded')
    assert.equal(taskList(sb).has(copy), false, 'no task recorded')
  })

  test('without a usable CRIU every checkpoint command fails with one line saying what to install', () => {
    const s = sandbox('berth-nocriu-')
    try {
      s.writeConfig('criu_path = "/nonexistent/criu"\n')
      for (const args of [
        ['tasks', 'checkpoint', 'x'],
        ['containers', 'checkpoint', '--task', 'x', 'checkpoint/x:1'],
        ['containers', 'restore', '--live', 'x', 'checkpoint/x:1'],
      ]) {
        const r = s.run(args)
        assert.equal(r.code, 5, args.join(' '))
        assert.match(r.stderr, /^ctr: checkpoint\/restore needs CRIU, and \/nonexistent\/criu does not run: run scripts\/setup\.sh as root .*criu >= 4\.2\n$/)
      }
      const info = JSON.parse(s.ok(['info'])) as {criu: {path: string; version: string | null; check: string}}
      assert.equal(info.criu.version, null)
      assert.match(info.criu.check, /does not run/)
    } finally {
      s.cleanup()
    }
  })

  test('ctr info reports the CRIU in use and criu check', () => {
    const info = JSON.parse(sb.ok(['info'])) as {criu: {path: string; version: string; source: string; check: string}}
    assert.match(info.criu.version, /^\d+\.\d+/)
    assert.equal(info.criu.check, 'Looks good.')
  })
})
