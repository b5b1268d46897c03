// `ctr tasks metrics`, `tasks logs` and `tasks attach` end to end: the built CLI against Debian's
// docker-registry, real runc and conmon. Metrics against the cgroup's own files, logs split into
// stdout and stderr (partial lines, raw bytes, following until exit, an exec's log), attach to a
// terminal task (input, output, exit status; an id long enough that the socket path exceeds
// sun_path) and to a plain one, and the errors for foreground and stopped tasks. Runs as root;
// skips elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {CTR_BIN, type CtrResult, type Sandbox, sandbox} from '../helpers/cli.js'
import {cgroupParentFor} from '../../src/lib/runtime/index.js'
import {busyboxImage} from '../helpers/oci-image.js'
import {pushImage, REGISTRY_BINARY, type RunningRegistry, startRegistry} from '../helpers/registry.js'

const CI = process.env['CI'] === 'true' || process.env['CI'] === '1'
const missing = [
  process.getuid?.() === 0 ? undefined : 'root',
  ['/usr/sbin/runc', '/usr/bin/runc'].some(existsSync) ? undefined : 'runc',
  ['/usr/bin/conmon', '/usr/libexec/podman/conmon'].some(existsSync) ? undefined : 'conmon',
  existsSync(REGISTRY_BINARY) ? undefined : 'docker-registry',
].filter((m): m is string => m !== undefined)
const skip = missing.length > 0 && !CI ? `needs ${missing.join(', ')}` : false

const MEMORY_LIMIT = 64 << 20
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A spawned ctr whose output can be awaited while it runs. */
interface Running {
  readonly child: ChildProcess
  stdout: string
  stderr: string
  readonly done: Promise<CtrResult>
}

function start(sb: Sandbox, args: string[], stdin: 'pipe' | 'ignore' = 'ignore'): Running {
  const child = spawn(CTR_BIN, args, {env: sb.env, stdio: [stdin, 'pipe', 'pipe']})
  const r: Running = {
    child,
    stdout: '',
    stderr: '',
    done: new Promise((resolve, reject) => {
      child.on('error', reject)
      child.on('close', (code, signal) => resolve({code, signal, stdout: r.stdout, stderr: r.stderr}))
    }),
  }
  child.stdout!.on('data', (d: Buffer) => (r.stdout += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (r.stderr += d.toString()))
  return r
}

/** The result, or a failure naming `what` when it takes longer than `ms`. */
async function within<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result in ${ms} ms`)), ms)))
  try {
    return await Promise.race([p, timeout])
  } finally {
    clearTimeout(timer)
  }
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

describe('tasks metrics, logs and attach', {skip}, () => {
  let reg: RunningRegistry
  let sb: Sandbox
  let ref: string
  const suffix = randomBytes(3).toString('hex') // cgroup paths (/berth/<ns>/<id>) are machine-wide
  const ids: string[] = []
  const id = (name: string) => {
    const v = `io-${name}-${suffix}`
    ids.push(v)
    return v
  }
  const status = (task: string) => sb.ok(['tasks', 'ls']).match(new RegExp(`^${task} +\\d+ +(\\S+)`, 'm'))?.[1]
  const removeAll = () => {
    for (const t of ids) {
      sb.run(['tasks', 'rm', '-f', t])
      sb.run(['containers', 'rm', t])
    }
  }
  const mountsUnder = (dir: string) =>
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.split(' ')[4]?.startsWith(dir))

  before(async () => {
    reg = await startRegistry()
    sb = sandbox('berth-tasks-io-')
    await pushImage(reg, 'library/busybox:io', await busyboxImage())
    ref = `${reg.host}/library/busybox:io`
    sb.ok(['images', 'pull', ref])
  })
  after(async () => {
    if (sb) {
      removeAll()
      for (const m of mountsUnder(sb.dir).reverse()) spawnSync('umount', ['-l', m.split(' ')[4]])
      sb.cleanup()
    }
    await reg?.stop()
  })

  test('metrics of a running task: the table ctr prints, its memory limit and plausible usage', () => {
    const t = id('metrics')
    sb.ok(['run', '-d', '--memory-limit', String(MEMORY_LIMIT), ref, t, 'sleep', '600'])
    const out = sb.ok(['tasks', 'metrics', t])
    const lines = out.split('\n')
    assert.match(lines[0], /^ID {4,}TIMESTAMP {4,}$/)
    const head = new RegExp(`^${t} {4}(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d(?:\\.\\d+)?) \\+0000 UTC {4}$`).exec(lines[1])
    assert.ok(head, lines[1])
    assert.ok(Math.abs(Date.parse(`${head[1].replace(' ', 'T')}Z`) - Date.now()) < 60_000, `timestamp ${head[1]}`)
    assert.equal(lines[2], '')
    assert.match(lines[3], /^METRIC {19}VALUE {4,}$/) // as wide as the longest name (21) plus 4
    const rows = new Map(lines.slice(4, -1).map((l) => /^(\S+) +(\[[\d ]*\]|\d+) {4,}$/.exec(l)!.slice(1) as [string, string]))
    assert.deepEqual(
      [...rows.keys()],
      ['memory.usage_in_bytes', 'memory.limit_in_bytes', 'memory.stat.cache', 'cpuacct.usage', 'cpuacct.usage_percpu', 'pids.current', 'pids.limit'],
    )
    assert.equal(lines.at(-1), '')
    assert.equal(rows.get('memory.limit_in_bytes'), String(MEMORY_LIMIT))
    const usage = Number(rows.get('memory.usage_in_bytes'))
    assert.ok(usage > 0 && usage < MEMORY_LIMIT, `usage ${usage}`)
    assert.ok(Number(rows.get('cpuacct.usage')) > 0)
    const perCpu = rows.get('cpuacct.usage_percpu')!.slice(1, -1).split(' ').map(Number)
    assert.ok(perCpu.length >= 1)
    assert.ok(perCpu.reduce((a, b) => a + b, 0) <= Number(rows.get('cpuacct.usage')) * 1.5)
    assert.equal(rows.get('pids.current'), '1')
    assert.equal(rows.get('pids.limit'), '0')

    const json = JSON.parse(sb.ok(['tasks', 'metric', '--format', 'json', t])) as {
      id: string
      timestamp: string
      memory: {usage: {usage: number; limit: number}; total_cache: number}
      cpu: {usage: {total: number; per_cpu: number[]}}
      pids: {current: number; limit: number}
    }
    assert.equal(json.id, t)
    assert.match(json.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
    assert.equal(json.memory.usage.limit, MEMORY_LIMIT)
    assert.ok(json.memory.usage.usage > 0 && json.memory.usage.usage < MEMORY_LIMIT)
    assert.equal(json.cpu.usage.per_cpu.length, perCpu.length)
    assert.deepEqual(json.pids, {current: 1, limit: 0})
  })

  test('metrics --format json keeps an unlimited memory limit exact (beyond a double)', () => {
    const t = id('nolimit')
    sb.ok(['run', '-d', ref, t, 'sleep', '600'])
    const text = sb.ok(['tasks', 'metrics', '--format', 'json', t])
    const limitFile = join('/sys/fs/cgroup/memory', cgroupParentFor(sb.state), 'default', t, 'memory.limit_in_bytes')
    const expected = readFileSync(limitFile, 'utf8').trim()
    assert.ok(BigInt(expected) > BigInt(Number.MAX_SAFE_INTEGER), expected)
    assert.match(text, new RegExp(`\\n {6}"limit": ${expected},\\n`))
    assert.match(sb.ok(['tasks', 'metrics', t]), new RegExp(`^memory\\.limit_in_bytes {4}${expected} {4}$`, 'm'))
  })

  test('metrics of a stopped task fails with a failed precondition', () => {
    const t = ids.find((i) => i.startsWith('io-metrics-'))!
    sb.ok(['tasks', 'kill', '-s', 'SIGKILL', t])
    assert.equal(sb.ok(['tasks', 'wait', t]), '137\n')
    const r = sb.run(['tasks', 'metrics', t])
    assert.equal(r.code, 5, r.stderr)
    assert.equal(r.stdout, '')
    assert.equal(r.stderr, `ctr: task ${t} is stopped: no metrics: failed precondition\n`)
  })

  test('logs of an exited task: stdout to stdout, stderr to stderr, a partial line without newline', () => {
    const t = id('logs')
    sb.ok(['run', '-d', ref, t, 'sh', '-c', 'echo out; echo err >&2; echo more; printf partial'])
    assert.equal(sb.ok(['tasks', 'wait', t]), '0\n')
    const r = sb.run(['tasks', 'logs', t])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'out\nmore\npartial')
    assert.equal(r.stderr, 'err\n')
  })

  test('logs pass bytes through unchanged (no UTF-8 decoding)', () => {
    const t = id('bytes')
    sb.ok(['run', '-d', ref, t, 'sh', '-c', "printf 'a\\377\\376b\\n'"])
    sb.ok(['tasks', 'wait', t])
    const r = spawnSync(CTR_BIN, ['tasks', 'logs', t], {env: sb.env})
    assert.equal(r.status, 0, r.stderr.toString())
    assert.deepEqual(r.stdout, Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a]))
  })

  test('logs -f prints each line as it comes and returns once the task exits', async () => {
    const t = id('follow')
    // The task holds after line2 until the test lets it go: "still running" does not depend on timing.
    sb.ok([
      'run',
      '-d',
      ref,
      t,
      'sh',
      '-c',
      'echo line1; echo line2; while [ ! -e /tmp/go ]; do sleep 0.05; done; for i in 3 4 5; do echo line$i; sleep 0.1; done; echo bye >&2',
    ])
    const f = start(sb, ['tasks', 'logs', '-f', t])
    // Output arrives while the task still runs ...
    await until('the first lines', () => f.stdout.includes('line2\n'))
    assert.equal(status(t), 'RUNNING')
    sb.ok(['tasks', 'exec', '--exec-id', 'go', t, 'touch', '/tmp/go'])
    // ... and the follower ends by itself once it exits, with every line printed.
    const r = await within('logs -f', 30_000, f.done)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'line1\nline2\nline3\nline4\nline5\n')
    assert.equal(r.stderr, 'bye\n')
    assert.equal(status(t), 'STOPPED')
    // On a stopped task -f prints the lot and returns at once.
    const again = await within('logs -f of a stopped task', 10_000, start(sb, ['tasks', 'logs', '--follow', t]).done)
    assert.equal(again.stdout, 'line1\nline2\nline3\nline4\nline5\n')
  })

  test("logs --exec-id follows a detached exec's own log", async () => {
    const t = id('exec')
    sb.ok(['run', '-d', ref, t, 'sh', '-c', 'echo init; sleep 600'])
    sb.ok(['tasks', 'exec', '-d', '--exec-id', 'ex1', t, 'sh', '-c', 'echo from-exec; sleep 0.5; echo exec-err >&2'])
    const r = await within('logs -f --exec-id', 30_000, start(sb, ['tasks', 'logs', '-f', '--exec-id', 'ex1', t]).done)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'from-exec\n')
    assert.equal(r.stderr, 'exec-err\n')
    assert.equal(sb.ok(['tasks', 'logs', t]), 'init\n') // the task's log is its own
    const missingExec = sb.run(['tasks', 'logs', '--exec-id', 'nope', t])
    assert.equal(missingExec.code, 3, missingExec.stderr)
  })

  test('attach to a terminal task: input reaches the shell, output comes back, ctr exits with its status', async () => {
    // Long enough that <state>/tasks/default/<id>/attach exceeds sun_path's 108 bytes.
    const t = id(`tty-${'x'.repeat(50)}`)
    assert.ok(join(sb.state, 'tasks', 'default', t, 'attach').length > 108)
    sb.ok(['run', '-d', '-t', ref, t, 'sh'])
    const a = start(sb, ['tasks', 'attach', t], 'pipe')
    a.child.stdin!.end('echo hi; exit 3\n')
    const r = await within('attach', 30_000, a.done)
    assert.equal(r.code, 3, `stdout: ${JSON.stringify(r.stdout)} stderr: ${r.stderr}`)
    assert.match(r.stdout, /^hi\r?$/m) // the shell's output, not just the terminal's echo of the command
    assert.equal(r.stderr, '')
    assert.equal(status(t), 'STOPPED')
  })

  test('attach to a plain task: its stdout and stderr, then its exit status', async () => {
    const t = id('plain')
    sb.ok(['run', '-d', ref, t, 'sh', '-c', 'while [ ! -e /stop ]; do echo tick; sleep 0.1; done; echo out-end; echo err-end >&2; exit 7'])
    const a = start(sb, ['tasks', 'attach', t])
    await until('attach to print output', () => a.stdout.includes('tick\n'))
    writeFileSync(join(sb.state, 'tasks', 'default', t, 'rootfs', 'stop'), '')
    const r = await within('attach', 30_000, a.done)
    assert.equal(r.code, 7, r.stderr)
    assert.match(r.stdout, /^(tick\n)+out-end\n$/)
    assert.equal(r.stderr, 'err-end\n')
    // The task has stopped: nothing to attach to.
    const again = sb.run(['tasks', 'attach', t])
    assert.equal(again.code, 5)
    assert.equal(again.stderr, `ctr: task ${t} is stopped: nothing to attach to: failed precondition\n`)
  })

  test('a foreground task has neither log nor attach socket; unknown tasks are not found', async () => {
    const t = id('fg')
    const fg = start(sb, ['run', ref, t, 'sleep', '600'])
    await until('the foreground task to run', () => status(t) === 'RUNNING')
    const a = sb.run(['tasks', 'attach', t])
    assert.equal(a.code, 5)
    assert.equal(a.stderr, `ctr: task ${t} has no attach socket: it runs in the foreground of another ctr\n`)
    const l = sb.run(['tasks', 'logs', t])
    assert.equal(l.code, 5)
    assert.equal(l.stderr, `ctr: task ${t} has no log: it runs in the foreground of another ctr\n`)
    sb.ok(['tasks', 'kill', '-s', 'SIGKILL', t])
    assert.equal((await within('the foreground run', 30_000, fg.done)).code, 137)
    for (const args of [
      ['tasks', 'logs', 'io-none'],
      ['tasks', 'attach', 'io-none'],
      ['tasks', 'metrics', 'io-none'],
    ]) {
      const r = sb.run(args)
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`)
      assert.equal(r.stderr, 'ctr: no running task found: task io-none not found\n')
    }
  })

  test('cleanup: every task and container removed, no mount and no cgroup left', () => {
    removeAll()
    assert.equal(sb.ok(['tasks', 'ls', '-q']), '')
    assert.equal(sb.ok(['containers', 'ls', '-q']), '')
    assert.deepEqual(mountsUnder(sb.dir), [])
    for (const t of ids) assert.equal(existsSync(join('/sys/fs/cgroup/memory', cgroupParentFor(sb.state), 'default', t)), false, t)
  })
})
