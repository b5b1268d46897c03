// argv rewrites that make oclif read ctr's command lines as urfave/cli does. `ctr run IMAGE ID sh -c
// 'exit 1'`: everything after a command's last positional argument belongs to the container's command,
// flags included; oclif would read `-c` as a flag, so a `--` is inserted where the command begins.
// `--plain-http=true`: urfave/cli takes a value on a boolean flag (Go's strconv.ParseBool); oclif
// refuses one, so `--flag=true` becomes `--flag` and `--flag=false` disappears.

/** What the scan needs to know of a flag definition. */
interface FlagShape {
  readonly type: 'boolean' | 'option'
  readonly char?: string
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True'])
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False'])

/**
 * argv with `--<boolean flag>=<value>` turned into `--<flag>` (true) or nothing (false), up to a `--`. Other
 * values are left for the parser to refuse. Never throws.
 */
export function booleanFlagValues(argv: readonly string[], flags: Readonly<Record<string, FlagShape & {readonly aliases?: readonly string[]}>>): string[] {
  const booleans = new Set<string>()
  for (const [name, def] of Object.entries(flags)) {
    if (def.type !== 'boolean') continue
    booleans.add(name)
    for (const alias of def.aliases ?? []) booleans.add(alias)
  }
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === '--') {
      out.push(...argv.slice(i))
      break
    }
    const m = /^--([^=]+)=(.*)$/s.exec(token)
    if (m !== null && booleans.has(m[1]!) && (GO_TRUE.has(m[2]!) || GO_FALSE.has(m[2]!))) {
      if (GO_TRUE.has(m[2]!)) out.push(`--${m[1]!}`)
      continue
    }
    out.push(token)
  }
  return out
}

/**
 * argv with `--` inserted before the first word after `positionals` positional arguments (unless
 * one is already there). Value flags consume their value; `--name=value` and `-xVALUE` stand alone.
 */
export function endFlagsAfterPositionals(argv: readonly string[], flags: Readonly<Record<string, FlagShape>>, positionals: number): string[] {
  const takesValue = new Set<string>()
  for (const [name, def] of Object.entries(flags)) {
    if (def.type !== 'option') continue
    takesValue.add(`--${name}`)
    if (def.char) takesValue.add(`-${def.char}`)
  }
  let seen = 0
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === '--') return [...argv]
    if (token.startsWith('-') && token !== '-') {
      if (takesValue.has(token)) i++ // its value is the next word
      continue
    }
    if (++seen === positionals) return i + 1 < argv.length && argv[i + 1] !== '--' ? [...argv.slice(0, i + 1), '--', ...argv.slice(i + 1)] : [...argv]
  }
  return [...argv]
}
