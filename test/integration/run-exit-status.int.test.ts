// The exit statuses of a foreground `ctr run` and `tasks start` with real runc (podman's and
// docker's convention): 127 when the command is not found, 126 when it cannot be executed (no
// execute permission, a directory), whether Berth's own look-up or runc's finds it; 125 only for
// other failures of ctr before the process started; usage errors stay 2; once the process ran, its
// status, with a cleanup that fails afterwards said in one `ctr:` line. Runs as root; skips
// elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import type {Sandbox} from '../helpers/cli.js'
import {busyboxImage} from '../helpers/oci-image.js'
import {hostDir, type RuntimeEnv, runtimeSkipReason, startCtr, startRuntimeEnv, taskList, waitFor} from '../helpers/tasks.js'

const skip = runtimeSkipReason()

/** The lines ctr wrote on stderr. */
const lines = (stderr: string) => stderr.split('\n').filter(Boolean)

describe('exit statuses of ctr run and tasks start', {skip}, () => {
  let env: RuntimeEnv
  let sb: Sandbox
  let bb: string
  let data: string
  const containers = () => sb.ok(['containers', 'ls', '-q']).split('\n').filter(Boolean)
  before(async () => {
    env = await startRuntimeEnv({bb: await busyboxImage()})
    sb = env.sb
    bb = env.ref('bb')
    // A bind mount hides its paths from Berth's look-up: runc's own exec look-up reports them.
    data = hostDir(sb, 'exec-data')
    writeFileSync(join(data, 'plain'), 'not a program\n', {mode: 0o644})
  })
  after(async () => {
    await env?.close()
  })

  const mount = () => ['--mount', `type=bind,src=${data},dst=/data,options=rbind:ro`]

  for (const [what, argv, code, message] of [
    ['a missing path', ['/nosuch'], 127, 'exec: "/nosuch": stat /nosuch: no such file or directory'],
    ['a name not on $PATH', ['nosuch'], 127, 'exec: "nosuch": executable file not found in $PATH'],
    ['a file without execute permission', ['/etc/passwd'], 126, 'exec: "/etc/passwd": permission denied'],
    ['a directory', ['/bin'], 126, 'exec: "/bin": is a directory'],
  ] as const) {
    test(`run --rm with ${what}: exit ${code}, one ctr: line, nothing left`, () => {
      const id = env.id('exec')
      const r = sb.run(['run', '--rm', bb, id, ...argv])
      assert.equal(r.code, code, r.stderr)
      assert.equal(r.stdout, '')
      assert.equal(lines(r.stderr).length, 1, r.stderr)
      assert.ok(r.stderr.startsWith('ctr: ') && r.stderr.includes(message), r.stderr)
      assert.equal(containers().includes(id), false)
    })
  }

  test("runc's own look-up (paths under a bind mount): 127 for a missing file, 126 for one without execute permission", () => {
    for (const [path, code, message] of [
      ['/data/nosuch', 127, /exec: "\/data\/nosuch": .*no such file or directory/],
      ['/data/plain', 126, /exec: "\/data\/plain": permission denied/],
    ] as const) {
      const id = env.id('runc-exec')
      const r = sb.run(['run', '--rm', ...mount(), bb, id, path])
      assert.equal(r.code, code, r.stderr)
      // runc run says its error on the stderr it shares with the process too; ctr's line is the last.
      assert.match(lines(r.stderr).at(-1)!, /^ctr: OCI runtime create failed: /)
      assert.match(lines(r.stderr).at(-1)!, message)
      assert.equal(containers().includes(id), false)
    }
  })

  test("run -d: the same statuses (Berth's look-up and runc's under conmon)", () => {
    const missing = sb.run(['run', '-d', bb, env.id('d-missing'), '/nosuch'])
    assert.equal(missing.code, 127, missing.stderr)
    const plain = sb.run(['run', '-d', ...mount(), bb, env.id('d-plain'), '/data/plain'])
    assert.equal(plain.code, 126, plain.stderr)
    assert.match(plain.stderr, /^ctr: OCI runtime create failed: .*exec: "\/data\/plain": permission denied/)
  })

  test('a bad flag is a usage error (2); any other failure of ctr before the process started is 125', () => {
    const flag = sb.run(['run', '--no-such-flag', bb, env.id('flag'), 'true'])
    assert.equal(flag.code, 2, flag.stderr)
    assert.match(flag.stderr, /^ctr: unknown flag "--no-such-flag"/)
    const image = sb.run(['run', '--rm', 'docker.io/library/no-such-image:1', env.id('noimage'), 'true'])
    assert.equal(image.code, 125, image.stderr)
  })

  test("after the process ran: its own status (sh -c 'exit 3' exits 3), nothing on stderr", () => {
    const r = sb.run(['run', '--rm', bb, env.id('exit3'), 'sh', '-c', 'exit 3'])
    assert.deepEqual([r.code, r.stdout, r.stderr], [3, '', ''])
  })

  test('tasks start in the foreground: 127 / 126 when the command cannot be run, else its status', () => {
    for (const [argv, code] of [
      [['/nosuch'], 127],
      [['/bin'], 126],
      [['sh', '-c', 'exit 3'], 3],
    ] as const) {
      const id = env.id('start')
      sb.ok(['containers', 'create', bb, id, ...argv])
      const r = sb.run(['tasks', 'start', id])
      assert.equal(r.code, code, r.stderr)
      sb.ok(['containers', 'rm', id])
    }
  })

  test('a cleanup that fails after the process ran (--rm, an immutable spec file): the process status and one ctr: line', async () => {
    const id = env.id('cleanup')
    const gate = hostDir(sb, 'gate')
    const run = startCtr(sb, [
      'run',
      '--rm',
      '--mount',
      `type=bind,src=${gate},dst=/gate,options=rbind:rw`,
      bb,
      id,
      'sh',
      '-c',
      'while [ ! -e /gate/go ]; do sleep 0.05; done; exit 3',
    ])
    await waitFor('the task to run', () => taskList(sb).get(id)?.status === 'RUNNING')
    // Fault: the container's spec template cannot be removed (EPERM even for root).
    const spec = join(sb.root, 'containers', 'default', id, 'spec.json')
    execFileSync('chattr', ['+i', spec])
    try {
      writeFileSync(join(gate, 'go'), '')
      const r = await run.result
      assert.equal(r.code, 3, r.stderr)
      assert.equal(r.stdout, '')
      assert.equal(lines(r.stderr).length, 1, r.stderr)
      assert.match(r.stderr, /^ctr: .*spec\.json.*\n$/)
      assert.equal(taskList(sb).has(id), false, 'the task was deleted all the same')
    } finally {
      execFileSync('chattr', ['-i', spec])
      if (existsSync(spec)) rmSync(join(sb.root, 'containers', 'default', id), {recursive: true, force: true})
    }
  })
})
