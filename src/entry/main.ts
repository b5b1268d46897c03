// The CLI entry. Resolves the command from argv and runs it through the lite command runner, so
// an ordinary call loads one command module and nothing of oclif; help, topic listings and
// unknown commands are handed to the real oclif, which renders them.
import {InvalidArgument} from '../lib/errors/index.js'
import {COMMAND_LOADERS, COMMAND_TABLE} from '../commands/registry.js'
import {resolveArgv} from '../cli/argv.js'
import {reportError} from '../cli/base-command.js'

interface RunnableClass {
  new (argv: string[], config?: unknown): {_run(): Promise<unknown>}
}

/** Run the CLI for argv (without node and script). Sets process.exitCode. */
export async function main(argv: readonly string[]): Promise<void> {
  const resolved = resolveArgv(argv, COMMAND_TABLE)
  if (resolved.id === undefined || resolved.help) {
    if (resolved.id === undefined && resolved.typed.length > 0 && !isTopic(resolved.typed[0]!)) {
      const words = argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ')
      reportError(new InvalidArgument(`unknown command "${words}"; run ctr --help for the list`), false)
      return
    }
    const topic = resolved.typed[0] ? (COMMAND_TABLE.topicAliases[resolved.typed[0]] ?? resolved.typed[0]) : undefined
    const words = resolved.id ? resolved.id.split(':') : topic ? [topic] : []
    return runOclif([...words, ...resolved.rest.filter((a) => a !== '--help' && a !== '-h'), '--help'])
  }
  const {default: Cls} = (await COMMAND_LOADERS[resolved.id]!()) as {default: RunnableClass}
  const command = new Cls([...resolved.rest])
  ;(command as {id?: string}).id = resolved.id
  await command._run()
}

function isTopic(word: string): boolean {
  const topic = COMMAND_TABLE.topicAliases[word] ?? word
  return [...COMMAND_TABLE.ids].some((id) => id.startsWith(`${topic}:`))
}

async function runOclif(argv: string[]): Promise<void> {
  // Not bundled: the real oclif and the tsc-built command classes, loaded only for help.
  const entry = new URL('../src/entry/oclif-entry.js', import.meta.url).href
  // bin/run.js compiles the bundle through node:vm (for the code cache), where import() needs the
  // loader of a real module: it lends its own.
  const load = (globalThis as {__berthImport?: (url: string) => Promise<unknown>}).__berthImport ?? ((url: string) => import(url))
  const {runWithOclif} = (await load(entry)) as {runWithOclif(argv: string[]): Promise<void>}
  await runWithOclif(argv)
}
