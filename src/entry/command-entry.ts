// Entry of the one-command bundles (dist/bundle/cmd-<topic>-<verb>.cjs, one per command id, made
// by scripts/build.mjs): bin/run.js guesses the command from argv through dist/bundle/routes.txt
// and starts its bundle, which holds that command's code and nothing else: smaller to read and
// compile than the full bundle, so a command starts sooner. The guess is checked with the same
// resolver the full bundle uses; anything the command alone does not cover (help, version,
// completion, a usage error, another command) goes to the full bundle, before any side effect.
import {resolveArgv} from '../cli/argv.js'
import {COMMAND_TABLE} from '../commands/table.js'
import {type RunnableClass, runResolved, runsAlone} from './main.js'
import {guardStdout, reportUncaught} from './stdout-guard.js'

/** Run command `id` (class `Cls`) for this process's argv, or hand argv to the full bundle. */
export function runCommandBundle(id: string, Cls: unknown): void {
  const argv = process.argv.slice(2)
  const resolved = resolveArgv(argv, COMMAND_TABLE)
  if (!runsAlone(argv, resolved, id)) {
    const runFull = (globalThis as {__berthRunFull?: () => void}).__berthRunFull
    if (runFull) return runFull()
    // Started without bin/run.js (which lends the loader): no full bundle to hand over to.
    reportUncaught(new Error(`this bundle runs only "${id.split(':').join(' ')}"; start ctr through bin/run.js`))
    return
  }
  guardStdout()
  runResolved(id, resolved, Cls as RunnableClass).catch(reportUncaught)
}
