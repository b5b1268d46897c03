// `--timeout` on commands that run processes: when the bound passes during a foreground task, ctr
// reports one line and exits 6; its children (runc) get SIGTERM, which runc passes to the task, and
// ctr cleans up after them within a short grace (the exit is recorded, --rm removes the container).
// A task that ignores SIGTERM outlives ctr and is left for the next command, as after a killed ctr.
// The bound is generous and each task says when it is ready, so a slow machine cannot make the
// deadline pass before the task runs. Runs as root with real runc; skips elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import type {CtrResult, Sandbox} from '../helpers/cli.js'
import {busyboxImage} from '../helpers/oci-image.js'
import {hostDir, type RuntimeEnv, runtimeSkipReason, startRuntimeEnv, taskList, waitFor} from '../helpers/tasks.js'

const skip = runtimeSkipReason()
const TIMEOUT = '8s'

describe('--timeout with a foreground task', {skip}, () => {
  let env: RuntimeEnv
  let sb: Sandbox
  let bb: string
  before(async () => {
    env = await startRuntimeEnv({bb: await busyboxImage()})
    sb = env.sb
    bb = env.ref('bb')
  })
  after(async () => {
    await env?.close()
  })

  /** Start `ctr --timeout 8s run --null-io --mount <dir>:/data ...` and wait for /data/ready. */
  async function runUntilReady(
    name: string,
    runFlags: string[],
    script: string,
  ): Promise<{id: string; dir: string; result: Promise<CtrResult>; started: number}> {
    const id = env.id(name)
    const dir = hostDir(sb, name)
    const started = Date.now()
    let ended = false
    // --null-io: the task must not hold ctr's stdout and stderr pipes open once ctr is gone.
    const result = sb.spawn([
      '--timeout',
      TIMEOUT,
      'run',
      '--null-io',
      ...runFlags,
      '--mount',
      `type=bind,src=${dir},dst=/data,options=rbind:rw`,
      bb,
      id,
      'sh',
      '-c',
      script,
    ])
    void result.then(() => (ended = true))
    await waitFor(
      'the task to be ready',
      () => {
        assert.equal(ended, false, 'ctr ended before its task was ready')
        return existsSync(join(dir, 'ready'))
      },
      60_000,
    )
    return {id, dir, result, started}
  }

  test('a task that stops on SIGTERM: exit 6, one line, and --rm still removes the container', async () => {
    const {id, dir, result, started} = await runUntilReady(
      'term',
      ['--rm'],
      `trap 'echo got-TERM > /data/marker; exit 0' TERM; echo ready > /data/ready; while :; do sleep 0.05; done`,
    )
    const r = await result
    assert.equal(r.code, 6, r.stderr)
    assert.equal(r.stderr, `ctr: timeout ${TIMEOUT} exceeded: context deadline exceeded\n`)
    assert.ok(Date.now() - started < 30_000, 'ended soon after the bound')
    assert.equal(readFileSync(join(dir, 'marker'), 'utf8'), 'got-TERM\n', 'the task got SIGTERM through runc')
    assert.equal(sb.ok(['containers', 'ls', '-q']).includes(id), false, '--rm removed it')
    assert.equal(taskList(sb).has(id), false)
  })

  test('a task that ignores SIGTERM outlives ctr, which still exits 6 soon after the bound', async () => {
    // A shell as PID 1 without a trap ignores SIGTERM.
    const {id, result, started} = await runUntilReady('ignore', [], 'echo ready > /data/ready; while :; do sleep 0.05; done')
    const r = await result
    assert.equal(r.code, 6, r.stderr)
    assert.equal(r.stderr, `ctr: timeout ${TIMEOUT} exceeded: context deadline exceeded\n`)
    assert.ok(Date.now() - started < 30_000, 'ended soon after the bound and the grace')
    // The next commands see a consistent store and can clean up.
    await waitFor('the task is listed', () => taskList(sb).get(id))
    sb.ok(['tasks', 'kill', '-s', 'SIGKILL', id])
    await waitFor('the task stopped', () => taskList(sb).get(id)?.status === 'STOPPED', 30_000)
    sb.ok(['tasks', 'rm', id])
    sb.ok(['containers', 'rm', id])
  })
})
