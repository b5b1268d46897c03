// `--timeout` on commands that run processes: when the bound passes during a foreground task, ctr
// reports one line and exits 6; its children (runc) get SIGTERM, which runc passes to the task, and
// ctr cleans up after them within a short grace (the exit is recorded, --rm removes the container).
// A task that ignores SIGTERM outlives ctr and is left for the next command, as after a killed ctr.
// Runs as root with real runc; skips elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import type {Sandbox} from '../helpers/cli.js'
import {busyboxImage} from '../helpers/oci-image.js'
import {type RuntimeEnv, runtimeSkipReason, taskList, waitFor} from '../helpers/tasks.js'
import {startRuntimeEnv} from '../helpers/tasks.js'

const skip = runtimeSkipReason()

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

  test('a task that stops on SIGTERM: exit 6, one line, and --rm still removes the container', async () => {
    const id = env.id('term')
    const started = Date.now()
    const r = await sb.spawn(['--timeout', '1s', 'run', '--rm', bb, id, 'sh', '-c', 'trap "exit 0" TERM; sleep 30 & wait'])
    const took = Date.now() - started
    assert.equal(r.code, 6, r.stderr)
    assert.equal(r.stderr, 'ctr: timeout 1s exceeded: context deadline exceeded\n')
    assert.ok(took < 8000, `took ${took} ms`)
    assert.equal(sb.ok(['containers', 'ls', '-q']).includes(id), false, '--rm removed it')
    assert.equal(taskList(sb).has(id), false)
  })

  test('a task that ignores SIGTERM outlives ctr, which still exits 6 soon after the bound', async () => {
    const id = env.id('ignore')
    const started = Date.now()
    // --null-io: the task must not hold ctr's stdout and stderr pipes open (this test waits for them to close).
    const r = await sb.spawn(['--timeout', '1s', 'run', '--null-io', bb, id, 'sleep', '300'])
    const took = Date.now() - started
    assert.equal(r.code, 6, r.stderr)
    assert.equal(r.stderr, 'ctr: timeout 1s exceeded: context deadline exceeded\n')
    assert.ok(took < 8000, `took ${took} ms`)
    // The next commands see a consistent store and can clean up.
    await waitFor('the task is listed', () => taskList(sb).get(id))
    sb.ok(['tasks', 'kill', '-s', 'SIGKILL', id])
    await waitFor('the task stopped', () => taskList(sb).get(id)?.status === 'STOPPED')
    sb.ok(['tasks', 'rm', id])
    sb.ok(['containers', 'rm', id])
  })
})
