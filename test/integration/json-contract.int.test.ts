// One JSON contract: every list and info command takes `--format json`, prints JSON with one
// indentation (4 spaces, as ctr's PrintAsJSON), and every time in it is an RFC 3339 string.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {busyboxImage} from '../helpers/oci-image.js'
import {type RuntimeEnv, startRuntimeEnv} from '../helpers/tasks.js'

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/
/** Keys that hold a time in any of Berth's JSON outputs. */
const TIME_KEY = /(^|_|[a-z])(At|_at|Created|Updated|created|updated|timestamp|Timestamp)$/

/** Every [path, value] under a time-like key, anywhere in `value`. */
function times(value: unknown, path = '$'): [string, unknown][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => times(v, `${path}[${i}]`))
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([k, v]) => {
    const here: [string, unknown][] =
      TIME_KEY.test(k) && (typeof v !== 'object' || v === null || !Array.isArray(v)) && k !== 'Labels' ? [[`${path}.${k}`, v]] : []
    return [...here, ...(typeof v === 'object' && v !== null && !TIME_KEY.test(k) ? times(v, `${path}.${k}`) : [])]
  })
}

describe('the JSON contract of list and info commands', () => {
  let env: RuntimeEnv
  before(async () => {
    env = await startRuntimeEnv({bb: await busyboxImage()})
    const {sb} = env
    sb.ok(['namespaces', 'label', 'default', 'team=a'])
    sb.ok(['containers', 'create', env.ref('bb'), env.id('c1')])
    sb.ok(['run', '-d', env.ref('bb'), env.id('t1'), 'true'])
    sb.ok(['tasks', 'wait', env.id('t1')])
    sb.ok(['leases', 'create', '--id', 'l1'])
    sb.ok(['snapshots', 'prepare', 'scratch'])
  })
  after(async () => {
    await env?.close()
  })

  const commands = (): string[][] => [
    ['version'],
    ['info'],
    ['namespaces', 'ls'],
    ['images', 'ls'],
    ['images', 'check'],
    ['images', 'inspect', env.ref('bb')],
    ['containers', 'ls'],
    ['containers', 'info', env.id('c1')],
    ['tasks', 'ls'],
    ['tasks', 'wait', env.id('t1')],
    ['content', 'ls'],
    ['content', 'active'],
    ['leases', 'ls'],
    ['snapshots', 'ls'],
    ['snapshots', 'info', 'scratch'],
    ['snapshots', 'usage'],
    ['plugins', 'ls'],
    ['pods', 'ls'],
  ]

  test('every list and info command prints JSON with RFC 3339 times under --format json', () => {
    const failures: string[] = []
    let timesSeen = 0
    for (const args of commands()) {
      const [topic, ...rest] = args
      const r = env.sb.run([topic, ...rest.slice(0, 1), '--format', 'json', ...rest.slice(1)])
      const name = args.slice(0, 2).join(' ')
      if (r.code !== 0) {
        failures.push(`${name}: exit ${r.code}: ${r.stderr.trim()}`)
        continue
      }
      let parsed: unknown
      try {
        parsed = JSON.parse(r.stdout)
      } catch {
        failures.push(`${name}: not JSON: ${r.stdout.slice(0, 200)}`)
        continue
      }
      // One indentation: 4 spaces, as ctr's json.MarshalIndent(v, "", "    ").
      if (r.stdout !== `${JSON.stringify(parsed, null, 4)}\n`) failures.push(`${name}: not 4-space indented JSON`)
      for (const [path, value] of times(parsed)) {
        timesSeen++
        if (typeof value !== 'string' || !RFC3339.test(value)) failures.push(`${name}: ${path} = ${JSON.stringify(value)} is not an RFC 3339 string`)
      }
    }
    assert.deepEqual(failures, [])
    assert.ok(timesSeen >= 8, `times checked: ${timesSeen}`)
  })
})
