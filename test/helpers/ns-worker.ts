// A worker process for the concurrency test: waits for a common start time, opens the store and
// runs its 100 namespace operations; prints `ok` or the first error and exits non-zero.
import {interpret} from '../../src/lib/config/index.js'
import {describe} from '../../src/lib/errors/index.js'
import {openStore} from '../../src/lib/store/index.js'

const [root, state, indexText, startAtText] = process.argv.slice(2) as [string, string, string, string]
const i = Number(indexText)
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAtText) - Date.now())))
try {
  const store = await openStore({root, state, config: {source: undefined, ...interpret({})}})
  const ns = store.namespaces
  // Interleave the worker's own namespaces with contended writes to one shared row.
  let shared = 0
  for (let j = 0; j < 33; j++) {
    ns.create(`w${i}-${j}`, {owner: `w${i}`})
    if (shared < 23) ns.setLabels('shared', {[`w${i}`]: String(shared++)})
  }
  for (let j = 0; j < 33; j++) ns.setLabels(`w${i}-${j}`, {step: '2'})
  for (let j = 0; j < 33; j += 3) ns.remove(`w${i}-${j}`)
  store.close()
  console.log('ok')
} catch (err) {
  console.log(`error: ${describe(err)}`)
  process.exitCode = 1
}
