// Turns what the user typed into what a command parses: resolves topic and verb aliases to the
// canonical command id, moves global flags given before the subcommand (or between a topic and
// its verb) to just after it, and notes what is not a command at all: an unknown word or flag,
// a help request, `-v`. It never decides what to print; src/entry/main.ts does.
import {GLOBAL_BOOLEAN_FLAGS, GLOBAL_VALUE_FLAGS} from './flags.js'

/** The command table: canonical ids (`namespaces ls` is `namespaces:ls`) and alias maps. */
export interface CommandTable {
  readonly ids: ReadonlySet<string>
  /** Commands left out of listings and suggestions (`tasks cleanup`, conmon's exit command). */
  readonly hidden?: ReadonlySet<string>
  readonly topicAliases: Readonly<Record<string, string>>
  /** Verb aliases per topic; `*` applies to every topic. */
  readonly verbAliases: Readonly<Record<string, Readonly<Record<string, string>>>>
  /** Value flags a topic takes before its verb, as ctr's groups do (`snapshots --snapshotter x ls`). */
  readonly topicFlags?: Readonly<Record<string, readonly string[]>>
}

export interface ResolvedArgv {
  /** Canonical command id, or undefined when argv names no command. */
  readonly id: string | undefined
  /**
   * The words the user typed for the command: `['ns', 'list']`; `['images']` for a topic alone or
   * an unknown command; `['images', 'lss']` for a topic with an unknown verb; `[]` for none.
   */
  readonly typed: readonly string[]
  /** Arguments for the command, global flags included. */
  readonly rest: readonly string[]
  /** True when help was asked for before the command's own arguments: `help`, or `--help`/`-h` before or between the command words. */
  readonly help: boolean
  /** True when `--help` or `-h` is among the command's arguments (before any `--`). */
  readonly helpFlag: boolean
  /** True for `-v`/`--version` before the command words. */
  readonly version: boolean
  /** A flag before the command words that is neither global nor the topic's own; nothing after it was read. */
  readonly unknownFlag?: string
  /** A global value flag at the very end, with no value. */
  readonly missingValue?: string
}

const HELP_FLAGS = new Set(['--help', '-h'])
const VERSION_FLAGS = new Set(['-v', '--version'])
/** `-a` is rewritten to `--address` when hoisted: after the command, a command's own `-a` (tasks kill --all) wins. */
const ADDRESS_SHORT = '-a'

/** What a global flag at argv[i] takes: its words (ready to hoist), or undefined when argv[i] is no global flag. */
function globalFlagAt(argv: readonly string[], i: number): {words: string[]; missingValue?: string} | undefined {
  const token = argv[i]
  const eq = token.indexOf('=')
  const name = eq > 0 && token.startsWith('--') ? token.slice(0, eq) : token
  if (GLOBAL_BOOLEAN_FLAGS.has(name)) return {words: [token]}
  const short = token.length > 2 && !token.startsWith('--') ? token.slice(0, 2) : undefined
  if (short !== undefined && GLOBAL_VALUE_FLAGS.has(short)) {
    // The value attached: -nfoo, -n=foo, -a/run/containerd.sock
    if (short !== ADDRESS_SHORT) return {words: [token]}
    return {words: [`--address=${token.slice(token[2] === '=' ? 3 : 2)}`]}
  }
  if (!GLOBAL_VALUE_FLAGS.has(name)) return undefined
  if (eq > 0) return {words: [token]}
  const long = name === ADDRESS_SHORT ? '--address' : name
  if (i + 1 >= argv.length) return {words: [long], missingValue: name}
  return {words: [long, argv[i + 1]]}
}

const isFlag = (token: string) => token.startsWith('-') && token !== '-' && token !== '--'

/** Resolve argv against the command table. */
export function resolveArgv(argv: readonly string[], table: CommandTable): ResolvedArgv {
  const hoisted: string[] = []
  let help = false
  let version = false
  let unknownFlag: string | undefined
  let missingValue: string | undefined
  let i = 0
  // Global flags (and help or version requests) before the command words.
  while (i < argv.length) {
    const token = argv[i]
    if (HELP_FLAGS.has(token)) help = true
    else if (VERSION_FLAGS.has(token)) version = true
    else {
      const global = globalFlagAt(argv, i)
      if (global) {
        hoisted.push(...global.words)
        missingValue ??= global.missingValue
        i += global.words.length === 2 ? 2 : 1
        continue
      }
      if (isFlag(token)) unknownFlag = token
      break
    }
    i++
  }
  if (unknownFlag !== undefined)
    return {id: undefined, typed: [], rest: hoisted, help: help || hasHelpFlag(argv.slice(i)), helpFlag: false, version, unknownFlag}
  if (argv[i] === 'help') {
    help = true
    i++
  }
  const words: string[] = []
  let id: string | undefined
  let after: readonly string[] = []
  const first = argv[i]
  if (first !== undefined && first !== '--') {
    const topic = table.topicAliases[first] ?? first
    words.push(first)
    if (table.ids.has(topic)) {
      id = topic
      after = argv.slice(i + 1)
    } else if (isTopic(table, topic)) {
      // Between a topic and its verb: the topic's own flags and global flags (both move to after
      // the verb), help requests, and `help` as in `ctr images help ls`.
      const groupFlags = table.topicFlags?.[topic] ?? []
      const moved: string[] = []
      let j = i + 1
      while (j < argv.length) {
        const token = argv[j]
        const eq = token.indexOf('=')
        const name = eq > 0 ? token.slice(0, eq) : token
        if (HELP_FLAGS.has(token) || token === 'help') {
          help = true
          j++
          continue
        }
        if (groupFlags.includes(name)) {
          const take = eq > 0 || j + 1 >= argv.length ? 1 : 2
          moved.push(...argv.slice(j, j + take))
          j += take
          continue
        }
        const global = globalFlagAt(argv, j)
        if (global) {
          moved.push(...global.words)
          missingValue ??= global.missingValue
          j += global.words.length === 2 ? 2 : 1
          continue
        }
        if (isFlag(token)) unknownFlag = token
        break
      }
      if (unknownFlag !== undefined)
        return {id: undefined, typed: words, rest: hoisted, help: help || hasHelpFlag(argv.slice(j)), helpFlag: false, version, unknownFlag}
      const second = argv[j]
      if (second !== undefined && second !== '--') {
        const verb = table.verbAliases[topic]?.[second] ?? table.verbAliases['*']?.[second] ?? second
        words.push(second)
        if (table.ids.has(`${topic}:${verb}`)) id = `${topic}:${verb}`
        after = [...moved, ...argv.slice(j + 1)]
      } else {
        after = moved
      }
    }
  }
  return {
    id,
    typed: words,
    rest: [...hoisted, ...after],
    help,
    helpFlag: hasHelpFlag(after),
    version,
    ...(missingValue !== undefined ? {missingValue} : {}),
  }
}

/** True when `--help` or `-h` comes before any `--`. */
export function hasHelpFlag(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false
    if (HELP_FLAGS.has(a)) return true
  }
  return false
}

/** True when `word` (an alias resolved) names a topic: some command id is `<word>:<verb>`. */
export function isTopic(table: CommandTable, word: string): boolean {
  for (const id of table.ids) if (id.startsWith(`${word}:`)) return true
  return false
}
