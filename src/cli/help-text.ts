// Text of the command definitions as help, man pages and completion show it: the usage line
// (ctr's `[flags] ARGS` form, never oclif's list of every flag) and the description as
// paragraphs (the source wraps at 100 columns; the terminal or man wraps again, so the source's
// line breaks inside a paragraph are dropped). Pure: no oclif, loaded only by those three.

/** What this module reads of a command class (oclif's static fields). */
export interface CommandText {
  usage?: string | string[]
  args?: Record<string, {name?: string; required?: boolean}>
  strict?: boolean
  description?: string
}

/** The usage after `ctr`: the command's own `usage`, else `<words> [flags] ARG [OPT]`. */
export function usageLine(id: string, cmd: CommandText): string {
  const words = id.replaceAll(':', ' ')
  const own = Array.isArray(cmd.usage) ? cmd.usage[0] : cmd.usage
  if (own !== undefined) return own.startsWith(words) ? own : `${words} ${own}`
  const names = Object.entries(cmd.args ?? {})
  // Not `...` for a non-strict command: most take only their first word, as ctr's do.
  const args = names.map(([name, a]) => (a.required ? name.toUpperCase() : `[${name.toUpperCase()}]`))
  return [words, '[flags]', ...args].join(' ')
}

/**
 * The description as paragraphs: a line break inside a paragraph becomes a space; a blank line,
 * an indented line or a list item (`-`, `*`, `1.`) keeps its break.
 */
export function unwrap(text: string): string {
  const out: string[] = []
  for (const line of text.split('\n')) {
    const previous = out.at(-1)
    const keep = line === '' || /^(\s|[-*•]\s|\d+\.\s)/.test(line) || previous === undefined || previous === ''
    if (keep) out.push(line)
    else out[out.length - 1] = `${previous} ${line}`
  }
  return out.join('\n')
}
