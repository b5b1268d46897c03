// Runs a command line through the real oclif: used for help output and by bin/dev.js. Global
// flags before the subcommand and ctr's aliases are resolved first, as on the fast path.
import {flush, handle, run} from '@oclif/core'
import {COMMAND_TABLE} from '../commands/registry.js'
import {resolveArgv} from '../cli/argv.js'

/** Run argv through oclif (help, or a whole command in development). */
export async function runWithOclif(argv: string[]): Promise<void> {
  try {
    await run(argv, import.meta.url)
    await flush()
  } catch (err) {
    await handle(err as Error)
  }
}

/** Resolve aliases and hoist global flags, then run through oclif (bin/dev.js). */
export async function runDev(argv: string[]): Promise<void> {
  const resolved = resolveArgv(argv, COMMAND_TABLE)
  const words = resolved.id ? resolved.id.split(':') : resolved.typed.map((w) => COMMAND_TABLE.topicAliases[w] ?? w)
  await runWithOclif([...words, ...resolved.rest, ...(resolved.help || resolved.helpFlag ? ['--help'] : [])])
}
