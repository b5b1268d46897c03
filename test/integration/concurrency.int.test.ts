// Many processes writing one store at once: nothing lost, nothing locked, one event per change.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {after, describe, test} from 'node:test'
import {openStore} from '../../src/lib/store/index.js'
import {interpret} from '../../src/lib/config/index.js'
import {sandbox} from '../helpers/cli.js'

const WORKERS = 16
const workerScript = new URL('../helpers/ns-worker.js', import.meta.url).pathname

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{code: number | null; out: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe']})
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (out += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, out}))
  })
}

describe('concurrency', () => {
  const sb = sandbox()
  after(() => sb.cleanup())

  test(`${WORKERS} processes x 100 namespace operations on a fresh store`, async () => {
    const startAt = Date.now() + 1500 // all open (and migrate) the new store at the same moment
    const results = await Promise.all(
      Array.from({length: WORKERS}, (_, i) => run(process.execPath, [workerScript, sb.root, sb.state, String(i), String(startAt)])),
    )
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `worker ${i}: ${r.out}`)
      assert.equal(r.out.trim(), 'ok', `worker ${i}`)
      assert.doesNotMatch(r.out, /locked|busy/i)
    }

    const store = await openStore({root: sb.root, state: sb.state, config: {source: undefined, ...interpret({})}})
    try {
      const all = store.namespaces.list()
      const own = all.filter((n) => n.name !== 'shared')
      assert.equal(own.length, WORKERS * 22)
      for (const n of own) {
        const [, w, j] = /^w(\d+)-(\d+)$/.exec(n.name)!
        assert.notEqual(Number(j) % 3, 0, `${n.name} should have been removed`)
        assert.deepEqual(n.labels, {owner: `w${w}`, step: '2'})
      }
      const shared = all.find((n) => n.name === 'shared')!
      assert.deepEqual(shared.labels, Object.fromEntries(Array.from({length: WORKERS}, (_, i) => [`w${i}`, '22']).sort()))

      const counts = Object.fromEntries(
        (store.db.prepare('SELECT topic, count(*) AS n FROM events GROUP BY topic').all() as Array<{topic: string; n: number}>).map((r) => [r.topic, r.n]),
      )
      assert.deepEqual(counts, {
        '/namespaces/create': WORKERS * 33 + 1, // own namespaces, plus `shared` created once by its first write
        '/namespaces/update': WORKERS * 33 + WORKERS * 23,
        '/namespaces/delete': WORKERS * 11,
      })
      // Exactly one create per namespace name, and one delete per removed one.
      const dupes = store.db.prepare("SELECT namespace, count(*) AS n FROM events WHERE topic = '/namespaces/create' GROUP BY namespace HAVING n > 1").all()
      assert.deepEqual(dupes, [])
      const seqs = store.db.prepare('SELECT seq FROM events ORDER BY seq').pluck().all() as number[]
      assert.equal(seqs.length, WORKERS * 100 + 1)
      assert.equal(seqs.at(-1)! - seqs[0] + 1, seqs.length, 'no gaps: no event row was written and then lost')
    } finally {
      store.close()
    }
  })

  test('first opens of a new store at once never see "database is locked" (the WAL switch)', async () => {
    // Regression: two processes that both found a fresh database in rollback mode and asked to
    // switch it to WAL got SQLITE_BUSY at once, without waiting.
    const ctr = new URL('../../../bin/run.js', import.meta.url).pathname
    for (let round = 0; round < 25; round++) {
      const s = sandbox()
      try {
        const results = await Promise.all([
          run(process.execPath, [ctr, 'ns', 'create', 'a'], s.env),
          run(process.execPath, [ctr, 'ns', 'label', 'b', 'k=v'], s.env),
          run(process.execPath, [ctr, 'ns', 'ls', '-q'], s.env),
        ])
        for (const r of results) assert.equal(r.code, 0, `round ${round}: ${r.out}`)
      } finally {
        s.cleanup()
      }
    }
  })

  test(`${WORKERS} shell loops of CLI calls at once`, async () => {
    const script = (i: number) =>
      [0, 1, 2, 3].map((j) => `"$CTR" ns create c${i}-${j} && "$CTR" ns label c${i}-${j} k=${j}`).join(' && ') + ` && "$CTR" ns rm c${i}-0 >/dev/null`
    const env = {...sb.env, CTR: `${process.execPath} ${new URL('../../../bin/run.js', import.meta.url).pathname}`}
    const results = await Promise.all(Array.from({length: WORKERS}, (_, i) => run('sh', ['-c', script(i).replaceAll('"$CTR"', '$CTR')], env)))
    for (const [i, r] of results.entries()) assert.equal(r.code, 0, `loop ${i}: ${r.out}`)
    const names = sb.ok(['ns', 'ls', '-q', 'name~=^c\\d+-']).trim().split('\n')
    assert.equal(names.length, WORKERS * 3)
    const events = sb.ok(['events', '--no-follow', 'namespace~=^c\\d+-']).trim().split('\n')
    assert.equal(events.length, WORKERS * (4 + 4 + 1))
  })
})
