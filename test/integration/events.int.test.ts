// `ctr events`: following live changes from other processes, filters, history, formats.
import assert from 'node:assert/strict'
import {type ChildProcessWithoutNullStreams, spawn} from 'node:child_process'
import {after, before, describe, test} from 'node:test'
import {CTR_BIN, type Sandbox, sandbox} from '../helpers/cli.js'

/** A running `ctr events` whose stdout lines can be awaited. */
function follower(sb: Sandbox, args: string[]) {
  const child: ChildProcessWithoutNullStreams = spawn(CTR_BIN, ['events', ...args], {env: sb.env})
  const lines: string[] = []
  let buffer = ''
  let waiters: Array<() => void> = []
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString()
    const parts = buffer.split('\n')
    buffer = parts.pop()!
    lines.push(...parts)
    for (const w of waiters) w()
    waiters = []
  })
  return {
    lines,
    async waitFor(count: number, timeoutMs = 10_000): Promise<string[]> {
      const deadline = Date.now() + timeoutMs
      while (lines.length < count) {
        if (Date.now() > deadline) throw new Error(`timed out with ${lines.length}/${count} lines: ${lines.join('\n')}`)
        await new Promise<void>((r) => {
          waiters.push(r)
          setTimeout(r, 50)
        })
      }
      return lines.slice(0, count)
    },
    stop(): Promise<number | null> {
      return new Promise((resolve) => {
        child.once('exit', (code) => resolve(code))
        child.kill('SIGINT')
      })
    },
  }
}

/** Wait until the follower process has opened the store (it prints nothing until an event). */
const settle = () => new Promise((r) => setTimeout(r, 700))

describe('ctr events', () => {
  let sb: Sandbox
  before(() => {
    sb = sandbox()
    sb.ok(['ns', 'create', 'warmup']) // the store exists before followers start
  })
  after(() => sb.cleanup())

  test('follows changes made by other processes, only new ones by default', async () => {
    const f = follower(sb, [])
    await settle()
    sb.ok(['ns', 'create', 'live', 'k=v'])
    sb.ok(['ns', 'rm', 'live'])
    const lines = await f.waitFor(2)
    assert.match(lines[0], / live \/namespaces\/create \{"name":"live","labels":\{"k":"v"\}\}$/)
    assert.match(lines[1], / live \/namespaces\/delete \{"name":"live"\}$/)
    assert.equal(await f.stop(), 0, 'SIGINT ends ctr events cleanly')
    assert.ok(!f.lines.some((l) => l.includes('warmup')), 'history is not replayed without --since')
  })

  test("the seed's filter: topic~=/tasks/.+,namespace==bb", async () => {
    const f = follower(sb, ['topic~=/namespaces/.+,namespace==bb'])
    await settle()
    sb.ok(['ns', 'create', 'aa'])
    sb.ok(['ns', 'create', 'bb'])
    sb.ok(['ns', 'label', 'bb', 'x=y'])
    const lines = await f.waitFor(2)
    await f.stop()
    assert.match(lines[0], / bb \/namespaces\/create /)
    assert.match(lines[1], / bb \/namespaces\/update /)
    assert.equal(f.lines.length, 2)
  })

  test('several filters are OR-ed; event.<field> filters on the payload', () => {
    const s = sandbox()
    try {
      s.ok(['ns', 'create', 'one'])
      s.ok(['ns', 'create', 'two', 'team=x'])
      s.ok(['ns', 'create', 'three'])
      const or = s.ok(['events', '--no-follow', 'event.name==one', 'event.labels.team==x']).trim().split('\n')
      assert.deepEqual(
        or.map((l) => l.split(' ')[4]),
        ['one', 'two'],
      )
      const topic = s.ok(['events', '--no-follow', 'topic=="/namespaces/create",namespace==three']).trim().split('\n')
      assert.equal(topic.length, 1)
      const bad = s.run(['events', '--no-follow', 'topic=='])
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /^ctr: filters: parse error: .*: invalid argument\n$/)
    } finally {
      s.cleanup()
    }
  })

  test('--format json prints one object a line', () => {
    const s = sandbox()
    try {
      s.ok(['ns', 'create', 'js', 'a=b'])
      const lines = s.ok(['events', '--no-follow', '--format', 'json']).trim().split('\n')
      assert.equal(lines.length, 1)
      const e = JSON.parse(lines[0])
      assert.deepEqual(Object.keys(e), ['timestamp', 'namespace', 'topic', 'event'])
      assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
      assert.deepEqual([e.namespace, e.topic, e.event], ['js', '/namespaces/create', {name: 'js', labels: {a: 'b'}}])
    } finally {
      s.cleanup()
    }
  })

  test('--since replays history, then follows; --until stops', async () => {
    const s = sandbox()
    try {
      const before = new Date(Date.now() - 1).toISOString()
      s.ok(['ns', 'create', 'past'])
      const f = follower(s, ['--since', '10m'])
      const first = await f.waitFor(1)
      assert.match(first[0], / past \/namespaces\/create /)
      s.ok(['ns', 'create', 'present'])
      const both = await f.waitFor(2)
      assert.match(both[1], / present \/namespaces\/create /)
      await f.stop()

      assert.equal(s.ok(['events', '--since', '1h', '--until', before]), '', '--until in the past: history up to it, then exit')
      assert.equal(s.ok(['events', '--since', before, '--until', '2h', '--no-follow']), '')
      const upToNow = s.ok(['events', '--since', before, '--until', new Date().toISOString()]).trim().split('\n')
      assert.equal(upToNow.length, 2, 'a window that has passed ends without --no-follow')
      const all = s.ok(['events', '--since', '2000-01-01T00:00:00Z', '--no-follow']).trim().split('\n')
      assert.equal(all.length, 2)
      const bad = s.run(['events', '--since', 'yesterday'])
      assert.equal(bad.code, 2)
    } finally {
      s.cleanup()
    }
  })
})
