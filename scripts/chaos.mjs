// `npm run chaos`: the long chaos run (test/chaos/chaos.ts) against the built CLI. Prints the seed
// first (`CHAOS_SEED=<n> npm run chaos` replays a run), each round, and the summary; exits 1 when
// anything was found. CHAOS_KILLS and CHAOS_BURSTS size it (defaults 40 and 4).
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const {chaosSeed, formatSummary, runChaos} = await import(pathToFileURL(join(root, 'dist/test/chaos/chaos.js')).href)
const seed = chaosSeed()
console.log(`chaos seed ${seed}`)
const summary = await runChaos({
  seed,
  kills: Number(process.env.CHAOS_KILLS ?? 40),
  bursts: Number(process.env.CHAOS_BURSTS ?? 4),
  enospc: true,
  hostile: 'all',
  log: (line) => console.log(line),
})
console.log(formatSummary(summary))
process.exit(summary.failures.length === 0 ? 0 : 1)
