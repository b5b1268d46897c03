// The short chaos run inside `npm test` (75 s measured at load 40 on 2 cores; its timeout allows for
// a machine shared with a busy suite): two kill rounds, one
// burst of 16 commands, the full-disk round and a few hostile answers; the seed is printed and
// `CHAOS_SEED=` replays it. `npm run chaos` is the long run.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {runtimeSkipReason} from '../helpers/tasks.js'
import {chaosSeed, formatSummary, runChaos, seededRandom} from './chaos.js'

const skip = runtimeSkipReason()

test('chaos (short): every kill, burst, full disk and hostile answer leaves a store fsck finds clean', {skip, timeout: 600_000}, async () => {
  const seed = chaosSeed()
  const t0 = Date.now()
  const summary = await runChaos({
    seed,
    kills: Number(process.env['CHAOS_KILLS'] ?? 2),
    bursts: 1,
    enospc: true,
    hostile: 'quick',
    log: (l) => process.stderr.write(`chaos: [${((Date.now() - t0) / 1000).toFixed(1)} s] ${l}\n`),
  })
  process.stderr.write(`${formatSummary(summary)}\n`)
  assert.deepEqual(summary.failures, [], formatSummary(summary))
  assert.equal(summary.killsSurvived, summary.killsTried)
  assert.equal(summary.eventsMatched, summary.eventsChecked)
})

test('chaos randomness is seeded: the same CHAOS_SEED gives the same run', () => {
  const a = seededRandom(chaosSeed({CHAOS_SEED: '42'}))
  const b = seededRandom(42)
  const first = Array.from({length: 8}, a)
  assert.deepEqual(first, Array.from({length: 8}, b))
  assert.ok(first.every((x) => x >= 0 && x < 1))
  assert.notDeepEqual(first, Array.from({length: 8}, seededRandom(43)))
})
