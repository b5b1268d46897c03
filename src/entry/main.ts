// The CLI entry. Resolves the command from argv and runs it through the lite command runner, so
// an ordinary call loads one command module and nothing of oclif. Help is printed only when asked
// for (`--help`, `-h`, `help`, a topic alone, bare `ctr`) and is rendered by the real oclif; any
// other input that names no command (an unknown command, verb or flag) is one `ctr: ` line and
// exit 2, with a "did you mean" when a known name is close. oclif never sees an unknown id.
import {InvalidArgument} from '../lib/errors/index.js'
import type {COMMAND_LOADERS} from '../commands/registry.js'
import {COMMAND_TABLE} from '../commands/table.js'
import {hasHelpFlag, isTopic, type ResolvedArgv, resolveArgv} from '../cli/argv.js'
import {reportError} from '../cli/light-command.js'
import {endFlagsAfterPositionals, type PositionalCount} from '../cli/command-args.js'
import {globalFlags} from '../cli/flags.js'
import {writeStdout} from '../cli/stdout.js'
import {versionLine} from '../cli/version.js'

/** A command class as the runner uses it. */
export interface RunnableClass {
  new (argv: string[], config?: unknown): {_run(): Promise<unknown>}
  commandAfterPositionals?: PositionalCount
  flags?: Record<string, {type: 'boolean' | 'option'; char?: string}>
}

/**
 * Run the CLI for argv (without node and script), loading commands through `loaders` (the
 * registry's; a parameter so that one-command bundles, which import this module, need not
 * contain every command). Sets process.exitCode.
 */
export async function main(argv: readonly string[], loaders: typeof COMMAND_LOADERS): Promise<void> {
  if (argv.at(-1) === '--generate-bash-completion') {
    // urfave/cli's completion protocol (Debian's ctr bash completion): loaded only for it.
    const {answerCompletion} = await import('../cli/completion.js')
    return answerCompletion(argv.slice(0, -1), {table: COMMAND_TABLE, loaders})
  }
  const resolved = resolveArgv(argv, COMMAND_TABLE)
  if (resolved.version && !resolved.help) {
    writeStdout(versionLine())
    return
  }
  if (resolved.unknownFlag !== undefined && !resolved.help) {
    const where = resolved.typed.length > 0 ? canonicalTopic(resolved.typed[0]) : undefined
    return usageError(`unknown flag ${JSON.stringify(resolved.unknownFlag)}`, resolved.unknownFlag, flagNames(where), helpHint(where))
  }
  if (resolved.missingValue !== undefined && resolved.id === undefined && !resolved.help) {
    return usageError(`flag ${resolved.missingValue} expects a value`)
  }
  if (resolved.id === undefined) {
    if (resolved.typed.length === 0) return runOclif(['--help'])
    const topic = canonicalTopic(resolved.typed[0])
    if (!isTopic(COMMAND_TABLE, topic)) {
      return usageError(`unknown command ${JSON.stringify(resolved.typed[0])}`, resolved.typed[0], topLevelNames(), helpHint())
    }
    if (resolved.typed.length === 2) {
      const verb = resolved.typed[1]
      return usageError(`unknown command ${JSON.stringify(`${topic} ${verb}`)}`, verb, verbNames(topic), helpHint(topic), `${topic} `)
    }
    return runOclif([topic, '--help'])
  }
  const {default: Cls} = (await loaders[resolved.id]()) as {default: RunnableClass}
  return runResolved(resolved.id, resolved, Cls)
}

/**
 * Whether a one-command bundle for `id` can run argv as resolved: the command it names, without
 * help, version, completion or a usage error (those take the full bundle).
 */
export function runsAlone(argv: readonly string[], resolved: ResolvedArgv, id: string): boolean {
  return (
    resolved.id === id &&
    !resolved.help &&
    !resolved.version &&
    resolved.unknownFlag === undefined &&
    resolved.missingValue === undefined &&
    argv.at(-1) !== '--generate-bash-completion'
  )
}

/** Run command `id`'s class for a resolved argv; `--help` among its arguments goes to oclif. */
export async function runResolved(id: string, resolved: ResolvedArgv, Cls: RunnableClass): Promise<void> {
  let args = [...resolved.rest]
  if (Cls.commandAfterPositionals !== undefined) {
    // Everything after the container command's first word is the container's, `--help` included.
    args = endFlagsAfterPositionals(args, {...globalFlags, ...Cls.flags}, Cls.commandAfterPositionals)
  }
  if (resolved.help || hasHelpFlag(args)) return runOclif([...id.split(':'), '--help'])
  const command = new Cls(args)
  ;(command as {id?: string}).id = id
  await command._run()
}

function canonicalTopic(word: string): string {
  return COMMAND_TABLE.topicAliases[word] ?? word
}

/** ` see "ctr [topic] --help"`: where to look when nothing close was found. */
function helpHint(topic?: string): string {
  return `see "ctr ${topic === undefined ? '' : `${topic} `}--help"`
}

/** Top-level words: topics, their aliases and the commands without a topic (hidden ones left out). */
function topLevelNames(): string[] {
  const names = new Set<string>(['help'])
  for (const id of visibleIds()) names.add(id.split(':')[0])
  for (const [alias, topic] of Object.entries(COMMAND_TABLE.topicAliases)) if (names.has(topic)) names.add(alias)
  return [...names]
}

/** The topic's visible verbs and their aliases. */
function verbNames(topic: string): string[] {
  const verbs = visibleIds()
    .filter((id) => id.startsWith(`${topic}:`))
    .map((id) => id.slice(topic.length + 1))
  const aliases = {...COMMAND_TABLE.verbAliases['*'], ...COMMAND_TABLE.verbAliases[topic]}
  return [...verbs, ...Object.keys(aliases).filter((a) => verbs.includes(aliases[a]))]
}

function visibleIds(): string[] {
  return [...COMMAND_TABLE.ids].filter((id) => !COMMAND_TABLE.hidden?.has(id))
}

/** Every spelling of the global flags (and the topic's own), for suggestions. */
function flagNames(topic?: string): string[] {
  const names = ['--help', '-h', '--version', '-v']
  for (const [name, def] of Object.entries(globalFlags)) {
    names.push(`--${name}`)
    const char = (def as {char?: string}).char
    if (char !== undefined) names.push(`-${char}`)
  }
  if (topic !== undefined) names.push(...(COMMAND_TABLE.topicFlags?.[topic] ?? []))
  return names
}

/** Report a usage error: one `ctr: ` line, exit 2; a close `candidates` entry becomes "did you mean". */
async function usageError(message: string, typed?: string, candidates: readonly string[] = [], fallback?: string, prefix?: string): Promise<void> {
  let text = message
  if (typed !== undefined) {
    // Only this error path loads the suggestion code.
    const {suggestion} = await import('../cli/suggest.js')
    text += suggestion(typed, candidates, fallback, prefix)
  }
  reportError(new InvalidArgument(text), false)
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
