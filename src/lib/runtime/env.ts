// Environment lists (`KEY=value` strings) merged the way containerd's replaceOrAppendEnvValues does:
// an override replaces the entry with the same key in place or is appended; a bare `KEY` unsets it.
import {InvalidArgument} from '../errors/index.js'

const keyOf = (entry: string): string => {
  const eq = entry.indexOf('=')
  return eq === -1 ? entry : entry.slice(0, eq)
}

/**
 * Check one `--env` value: `KEY=value` or a bare `KEY` (unset), with a non-empty key free of NUL.
 * @throws InvalidArgument otherwise.
 */
export function validateEnvEntry(entry: string): void {
  if (keyOf(entry) === '' || entry.includes('\0')) throw new InvalidArgument(`invalid environment variable ${JSON.stringify(entry)}`)
}

/**
 * `defaults` with `overrides` applied in order (later wins): `KEY=v` replaces KEY's entry in place or is
 * appended; a bare `KEY` removes it. Returns a new array; the first entry of a key in `defaults` is the one replaced.
 * @throws InvalidArgument for an override with an empty key.
 */
export function mergeEnv(defaults: readonly string[], overrides: readonly string[]): string[] {
  const result: (string | undefined)[] = [...defaults]
  const index = new Map<string, number>()
  result.forEach((entry, i) => {
    const key = keyOf(entry!)
    if (!index.has(key)) index.set(key, i)
  })
  for (const entry of overrides) {
    validateEnvEntry(entry)
    const key = keyOf(entry)
    const at = index.get(key)
    if (!entry.includes('=')) {
      if (at !== undefined) {
        result[at] = undefined
        index.delete(key)
      }
      continue
    }
    if (at !== undefined) result[at] = entry
    else index.set(key, result.push(entry) - 1)
  }
  return result.filter((e): e is string => e !== undefined)
}

/** The value of `key` in an environment list, or undefined. */
export function envValue(env: readonly string[], key: string): string | undefined {
  const entry = env.find((e) => keyOf(e) === key && e.includes('='))
  return entry === undefined ? undefined : entry.slice(key.length + 1)
}

/**
 * The entries of an `--env-file`: one per line (LF or CRLF), skipping blank lines and `#` comments;
 * a line without `=` unsets the variable, as on the command line. Values are taken literally (no quotes,
 * no expansion, no lookup in the caller's environment).
 * @throws InvalidArgument for a line with an empty key.
 */
export function parseEnvFile(text: string): string[] {
  const entries: string[] = []
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '' || line.trimStart().startsWith('#')) return
    if (keyOf(line) === '' || line.includes('\0')) throw new InvalidArgument(`env file line ${i + 1}: invalid environment variable ${JSON.stringify(line)}`)
    entries.push(line)
  })
  return entries
}
