// Shell completion, from the command registry: the answer to urfave/cli's
// `--generate-bash-completion` protocol (what Debian's ctr bash completion sends: the words typed
// so far, then that flag; print the candidates one a line) and the `ctr completion bash|zsh|fish`
// scripts, which drive the same protocol so they never go stale. Loaded only for these two.
import {type CommandTable, resolveArgv} from './argv.js'
import {globalFlags} from './flags.js'

/** urfave/cli's completion flag: the last argument of a completion request. */
export const COMPLETION_FLAG = '--generate-bash-completion'

interface FlagOwner {
  flags?: Record<string, {char?: string}>
}

/** The command registry (src/commands/registry.ts), passed in: src/cli does not import commands. */
export interface Registry {
  readonly table: CommandTable
  readonly loaders: Readonly<Record<string, () => Promise<{default: unknown}>>>
}

/** Answer a completion request: `words` are the arguments before COMPLETION_FLAG. Never fails. */
export async function answerCompletion(words: readonly string[], registry: Registry): Promise<void> {
  let lines: string[] = []
  try {
    lines = await completionCandidates(words, registry, () => storeIds(words))
  } catch {
    // a completion request prints what it can, never an error
  }
  process.stdout.write(lines.map((l) => `${l}\n`).join(''))
}

/** The value of a global flag in `words` (`-n foo`, `--namespace=foo`), if given. */
function flagValue(words: readonly string[], names: readonly string[]): string | undefined {
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    for (const n of names) {
      if (w === n) return words[i + 1]
      if (w.startsWith(`${n}=`)) return w.slice(n.length + 1)
    }
  }
  return undefined
}

/** Ids from the store the words name (--root, --state, --berth-config, else their environment variables and defaults). */
async function storeIds(words: readonly string[]): Promise<IdSource | undefined> {
  const {openStore, defaultRoot, defaultState} = await import('../lib/store/index.js')
  const {loadConfig, resolveSnapshotter} = await import('../lib/config/index.js')
  const store = await openStore({
    root: flagValue(words, ['--root']) ?? process.env['BERTH_ROOT'] ?? defaultRoot(),
    state: flagValue(words, ['--state']) ?? process.env['BERTH_STATE'] ?? defaultState(),
    config: await loadConfig(flagValue(words, ['--berth-config']) ?? process.env['BERTH_CONFIG']),
  })
  return (kind, namespace) => {
    switch (kind) {
      case 'containers':
        return store.containers.list(namespace).map((c) => c.id)
      case 'images':
        return store.images.list(namespace).map((i) => i.name)
      case 'namespaces':
        return store.namespaces.list().map((n) => n.name)
      case 'snapshots':
        return store.snapshots.list(namespace, resolveSnapshotter(store.config, flagValue(words, ['--snapshotter']))).map((r) => r.key)
      case 'leases':
        return store.leases.list(namespace).map((l) => l.id)
      default:
        return []
    }
  }
}

/** The candidates for the word after `words` (a word starting with `-` asks for flags). */
export async function completionCandidates(words: readonly string[], registry: Registry, store: () => Promise<IdSource | undefined>): Promise<string[]> {
  const COMMAND_TABLE = registry.table
  const last = words.at(-1)
  const asksFlags = last?.startsWith('-') === true
  const typed = asksFlags ? words.slice(0, -1) : words
  const resolved = resolveArgv(typed, COMMAND_TABLE)
  if (asksFlags) return flagNames(resolved.id, registry)
  if (resolved.id === undefined) {
    if (resolved.typed.length === 0) return topLevel(COMMAND_TABLE)
    const topic = COMMAND_TABLE.topicAliases[resolved.typed[0]] ?? resolved.typed[0]
    return resolved.typed.length === 1 ? verbs(COMMAND_TABLE, topic) : []
  }
  // A command: the ids it names, where listing them is one cheap query.
  if (resolved.id === 'completion') return ['bash', 'zsh', 'fish']
  const kind = ID_KINDS[resolved.id] ?? ID_KINDS[resolved.id.split(':')[0]]
  if (kind === undefined || kind === 'shells') return []
  const source = await store()
  const namespace = flagValue(typed, ['-n', '--namespace']) ?? process.env['CONTAINERD_NAMESPACE'] ?? 'default'
  return source === undefined ? [] : source(kind, namespace)
}

/** Lists the ids of one kind in a namespace. */
export type IdSource = (kind: IdKind, namespace: string) => string[]
export type IdKind = 'containers' | 'images' | 'namespaces' | 'snapshots' | 'leases' | 'shells'

/** Which ids complete a command's arguments: by command id, else by topic. */
const ID_KINDS: Record<string, IdKind> = {
  containers: 'containers',
  tasks: 'containers',
  images: 'images',
  'images:import': 'shells', // a file: left to the shell (no candidates)
  'images:pull': 'shells',
  'images:push': 'images',
  namespaces: 'namespaces',
  snapshots: 'snapshots',
  leases: 'leases',
  run: 'images',
  completion: 'shells',
}

function visibleIds(table: CommandTable): string[] {
  return [...table.ids].filter((id) => !table.hidden?.has(id))
}

/** Topics and commands without a topic, with their aliases, as urfave prints command.Names(). */
function topLevel(table: CommandTable): string[] {
  const names = new Set<string>()
  for (const id of visibleIds(table)) names.add(id.split(':')[0])
  for (const [alias, topic] of Object.entries(table.topicAliases)) if (names.has(topic)) names.add(alias)
  return [...names, 'help']
}

function verbs(table: CommandTable, topic: string): string[] {
  const own = visibleIds(table)
    .filter((id) => id.startsWith(`${topic}:`))
    .map((id) => id.slice(topic.length + 1))
  const aliases = {...table.verbAliases['*'], ...table.verbAliases[topic]}
  return [...own, ...Object.keys(aliases).filter((a) => own.includes(aliases[a])), 'help']
}

/** `--name` of each flag of the command (the global flags when there is none), then --help. */
async function flagNames(id: string | undefined, registry: Registry): Promise<string[]> {
  let flags: Record<string, {char?: string}> = globalFlags
  if (id !== undefined) {
    const {default: cls} = (await registry.loaders[id]()) as {default: FlagOwner}
    flags = cls.flags ?? {}
  }
  return [...Object.keys(flags).map((name) => `--${name}`), '--help']
}

/** The script for `shell`: a thin driver of the protocol above. */
export function completionScript(shell: string): string {
  const script = SCRIPTS[shell]
  if (script === undefined) throw new Error(`unknown shell ${shell}`)
  return script
}

const SCRIPTS: Record<string, string> = {
  bash: `# bash completion for ctr (Berth). Install: ctr completion bash > /etc/bash_completion.d/ctr
# or: source <(ctr completion bash). Candidates come from ctr itself (--generate-bash-completion).
_ctr_berth() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" opts
  if [[ "$cur" == -* ]]; then
    opts=$("\${COMP_WORDS[0]}" "\${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" ${COMPLETION_FLAG} 2>/dev/null)
  else
    opts=$("\${COMP_WORDS[0]}" "\${COMP_WORDS[@]:1:COMP_CWORD-1}" ${COMPLETION_FLAG} 2>/dev/null)
  fi
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _ctr_berth ctr berth
`,
  zsh: `#compdef ctr berth
# zsh completion for ctr (Berth). Install: ctr completion zsh > "\${fpath[1]}/_ctr"
# or: source <(ctr completion zsh) after compinit. Candidates come from ctr itself.
_ctr_berth() {
  local -a opts
  local cur=\${words[CURRENT]}
  if [[ $cur == -* ]]; then
    opts=(\${(f)"$(\${words[1]} \${words[2,CURRENT]} ${COMPLETION_FLAG} 2>/dev/null)"})
  else
    opts=(\${(f)"$(\${words[1]} \${words[2,CURRENT-1]} ${COMPLETION_FLAG} 2>/dev/null)"})
  fi
  compadd -a opts
}
compdef _ctr_berth ctr berth
`,
  fish: `# fish completion for ctr (Berth). Install: ctr completion fish > ~/.config/fish/completions/ctr.fish
# Candidates come from ctr itself (--generate-bash-completion).
function __ctr_berth_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    if string match -q -- '-*' $cur
        $tokens[1] $tokens[2..-1] $cur ${COMPLETION_FLAG} 2>/dev/null
    else
        $tokens[1] $tokens[2..-1] ${COMPLETION_FLAG} 2>/dev/null
    end
end
complete -c ctr -f -a '(__ctr_berth_complete)'
complete -c berth -f -a '(__ctr_berth_complete)'
`,
}
