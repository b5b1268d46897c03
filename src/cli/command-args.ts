// `ctr run IMAGE ID sh -c 'exit 1'`: as with ctr, everything after a command's last positional
// argument belongs to the container's command, flags included. oclif would read `-c` as a flag, so
// a `--` is inserted where the command begins. How many positionals come first may depend on the
// flags given before them (`ctr run --config spec.json ID` has only the ID).

/** What the scan needs to know of a flag definition. */
interface FlagShape {
  readonly type: 'boolean' | 'option'
  readonly char?: string
}

/** The number of positionals before the command, fixed or chosen from the flags seen before them (`--name` spellings). */
export type PositionalCount = number | ((flagsSeen: ReadonlySet<string>) => number)

/**
 * argv with `--` inserted before the first word after `positionals` positional arguments (unless
 * one is already there). Value flags consume their value; `--name=value` and `-xVALUE` stand alone.
 */
export function endFlagsAfterPositionals(argv: readonly string[], flags: Readonly<Record<string, FlagShape>>, positionals: PositionalCount): string[] {
  const byChar = new Map<string, [string, FlagShape]>()
  for (const [name, def] of Object.entries(flags)) if (def.char) byChar.set(def.char, [name, def])
  const seen = new Set<string>()
  let count = 0
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    if (token === '--') return [...argv]
    if (token.startsWith('--') && token.length > 2) {
      const eq = token.indexOf('=')
      const name = token.slice(2, eq < 0 ? undefined : eq)
      seen.add(`--${name}`)
      if (eq < 0 && flags[name]?.type === 'option') i++ // its value is the next word
      continue
    }
    if (token.startsWith('-') && token !== '-') {
      // -t, -c FILE, -cFILE, -tc FILE: booleans may be grouped; a value flag takes the rest or the next word.
      for (let j = 1; j < token.length; j++) {
        const entry = byChar.get(token[j])
        if (!entry) break
        seen.add(`--${entry[0]}`)
        if (entry[1].type === 'option') {
          if (j === token.length - 1) i++
          break
        }
      }
      continue
    }
    const wanted = typeof positionals === 'number' ? positionals : positionals(seen)
    if (++count >= wanted) return i + 1 < argv.length && argv[i + 1] !== '--' ? [...argv.slice(0, i + 1), '--', ...argv.slice(i + 1)] : [...argv]
  }
  return [...argv]
}
