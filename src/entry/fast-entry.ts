// Bundle entry: runs the CLI with this process's arguments. Built as one CommonJS file
// (dist/bundle/ctr.cjs): loading it synchronously is ~10 ms faster than an ESM module graph.
// bin/run.js starts it for everything no one-command bundle (command-entry.ts) takes.
import {COMMAND_LOADERS} from '../commands/registry.js'
import {main} from './main.js'
import {guardStdout, reportUncaught} from './stdout-guard.js'

guardStdout()
main(process.argv.slice(2), COMMAND_LOADERS).catch(reportUncaught)
