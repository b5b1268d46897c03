// Turns what the user typed into what a command parses: resolves topic and verb aliases to the
// canonical command id, and moves global flags given before the subcommand to just after it.
import {GLOBAL_BOOLEAN_FLAGS, GLOBAL_VALUE_FLAGS} from './flags.js'

/** The command table: canonical ids (`namespaces ls` is `namespaces:ls`) and alias maps. */
export interface CommandTable {
  readonly ids: ReadonlySet<string>
  readonly topicAliases: Readonly<Record<string, string>>
  /** Verb aliases per topic; `*` applies to every topic. */
  readonly verbAliases: Readonly<Record<string, Readonly<Record<string, string>>>>
  /** Value flags a topic takes before its verb, as ctr's groups do (`snapshots --snapshotter x ls`). */
  readonly topicFlags?: Readonly<Record<string, readonly string[]>>
}

export interface ResolvedArgv {
  /** Canonical command id, or undefined when argv names no command. */
  readonly id: string | undefined
  /** The words the user typed for the command, e.g. ['ns', 'list']. */
  readonly typed: readonly string[]
  /** Arguments for the command, global flags included. */
  readonly rest: readonly string[]
  /** True when help was asked for (`--help`, `-h`, or `help` as the first word). */
  readonly help: boolean
}

/** Resolve argv against the command table. */
export function resolveArgv(argv: readonly string[], table: CommandTable): ResolvedArgv {
  const hoisted: string[] = []
  let i = 0
  // Global flags before the command words.
  while (i < argv.length) {
    const token = argv[i]!
    const eq = token.indexOf('=')
    const name = eq > 0 && token.startsWith('--') ? token.slice(0, eq) : token
    if (GLOBAL_VALUE_FLAGS.has(name)) {
      if (eq > 0) hoisted.push(token)
      else hoisted.push(token, ...argv.slice(i + 1, i + 2))
      i += eq > 0 ? 1 : 2
    } else if (/^-n./.test(token)) {
      hoisted.push(token)
      i += 1
    } else if (GLOBAL_BOOLEAN_FLAGS.has(token)) {
      hoisted.push(token)
      i += 1
    } else break
  }
  let help = false
  if (argv[i] === 'help') {
    help = true
    i++
  }
  const words: string[] = []
  let id: string | undefined
  const first = argv[i]
  const topicFlagValues: string[] = []
  let skipped = 0
  if (first !== undefined && !first.startsWith('-')) {
    const topic = table.topicAliases[first] ?? first
    // Group-level flags between the topic and its verb move to after the verb.
    const groupFlags = table.topicFlags?.[topic] ?? []
    let j = i + 1
    while (j < argv.length) {
      const token = argv[j]!
      const eq = token.indexOf('=')
      const name = eq > 0 ? token.slice(0, eq) : token
      if (!groupFlags.includes(name)) break
      const take = eq > 0 ? 1 : 2
      topicFlagValues.push(...argv.slice(j, j + take))
      j += take
    }
    skipped = j - (i + 1)
    const second = argv[j]
    const verb = second === undefined ? undefined : (table.verbAliases[topic]?.[second] ?? table.verbAliases['*']?.[second] ?? second)
    if (verb !== undefined && table.ids.has(`${topic}:${verb}`)) {
      id = `${topic}:${verb}`
      words.push(first, second!)
    } else if (table.ids.has(topic)) {
      id = topic
      words.push(first)
    } else {
      // A topic alone (help lists its commands) or an unknown command.
      words.push(first)
      id = undefined
    }
  }
  const after = id !== undefined && words.length === 2 ? [...topicFlagValues, ...argv.slice(i + 1 + skipped + 1)] : argv.slice(i + words.length)
  const dashdash = after.indexOf('--')
  const flagZone = dashdash < 0 ? after : after.slice(0, dashdash)
  if (flagZone.includes('--help') || flagZone.includes('-h')) help = true
  return {id, typed: words, rest: [...hoisted, ...after], help}
}
