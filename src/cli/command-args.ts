// `ctr run IMAGE ID sh -c 'exit 1'`: as with ctr, everything after a command's last positional
// argument belongs to the container's command, flags included. oclif would read `-c` as a flag, so
// a `--` is inserted where the command begins.

/** What the scan needs to know of a flag definition. */
interface FlagShape {
  readonly type: 'boolean' | 'option'
  readonly char?: string
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
