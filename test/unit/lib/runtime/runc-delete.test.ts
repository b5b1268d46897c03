// Runc.delete's in-process path for a container whose init has exited (no runc process): when it
// may remove the state itself, and every case it must leave to runc. runc here is a script named
// `runc` that fails (the in-process path is for runc itself only), so a call that reaches it fails
// and leaves the state in place.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {Runc} from '../../../../src/lib/runtime/runc.js'

const root = mkdtempSync(join(tmpdir(), 'berth-runc-delete-'))
after(() => rmSync(root, {recursive: true, force: true}))
/** A failing stand-in called `runc`. */
const binDir = mkdtempSync(join(tmpdir(), 'berth-runc-bin-'))
after(() => rmSync(binDir, {recursive: true, force: true}))
const failingRunc = join(binDir, 'runc')
writeFileSync(failingRunc, '#!/bin/sh\nexit 1\n', {mode: 0o755})

/** Start time (clock ticks since boot) of a live pid, from /proc. */
const startTime = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ')[19])

/** A pid that has exited: a child that ran and was collected. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$'], {encoding: 'utf8'})
  return Number(r.stdout.trim())
}

function state(id: string, overrides: Record<string, unknown> = {}, config: Record<string, unknown> = {}): void {
  mkdirSync(join(root, id), {recursive: true})
  writeFileSync(
    join(root, id, 'state.json'),
    JSON.stringify({
      id,
      init_process_pid: deadPid(),
      init_process_start: 12345,
      cgroup_paths: {},
      intel_rdt_path: '',
      config: {
        namespaces: [
          {type: 'NEWPID', path: ''},
          {type: 'NEWNS', path: ''},
        ],
        Hooks: {poststop: null},
        ...config,
      },
      ...overrides,
    }),
  )
}

describe('Runc.delete of an exited container without a runc process', () => {
  const runc = new Runc(failingRunc, root)

  test('init gone, own PID namespace, no hooks: the state directory is removed in-process', async () => {
    state('plain')
    await runc.delete('plain', {force: true})
    assert.equal(existsSync(join(root, 'plain')), false)
  })

  test('missing state is fine', async () => {
    await runc.delete('never-there')
  })

  const leftToRunc: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['init still running (this very process)', {init_process_pid: process.pid, init_process_start: startTime(process.pid)}, {}],
    ['host PID namespace (other processes may live on)', {}, {namespaces: [{type: 'NEWNS', path: ''}]}],
    ['a joined PID namespace', {}, {namespaces: [{type: 'NEWPID', path: '/proc/1/ns/pid'}]}],
    ['poststop hooks (runc runs them)', {}, {Hooks: {poststop: [{path: '/bin/true'}]}}],
    ['an Intel RDT group', {intel_rdt_path: '/sys/fs/resctrl/x'}, {}],
    ['a cgroup path outside /sys/fs/cgroup', {cgroup_paths: {memory: '/tmp/not-a-cgroup'}}, {}],
  ]
  for (const [what, overrides, config] of leftToRunc) {
    test(`left to runc: ${what}`, async () => {
      const id = what.replace(/\W+/g, '-')
      state(id, overrides, config)
      await assert.rejects(runc.delete(id, {force: true}), /runc delete/)
      assert.equal(existsSync(join(root, id, 'state.json')), true)
    })
  }

  test('left to runc: a state.json it cannot read', async () => {
    mkdirSync(join(root, 'garbled'), {recursive: true})
    writeFileSync(join(root, 'garbled', 'state.json'), '{not json')
    await assert.rejects(runc.delete('garbled'), /runc delete/)
  })

  test('left to runc: the systemd cgroup driver', async () => {
    state('systemd')
    await assert.rejects(new Runc('/bin/false', root, {systemdCgroup: true}).delete('systemd'), /runc delete/)
  })
})

test('another runc-compatible runtime always gets its own delete (it may keep state of its own)', async () => {
  state('other-runtime')
  await assert.rejects(new Runc('/bin/false', root).delete('other-runtime'), /runc delete other-runtime/)
  assert.ok(existsSync(join(root, 'other-runtime', 'state.json')))
})
