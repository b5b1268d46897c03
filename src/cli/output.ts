// Rendering for stdout: Go's text/tabwriter layout (ctr's tables, byte for byte) and JSON; and
// ctr's warning lines on stderr.
import {stderrIsTerminal, writeStderr} from './stdout.js'

/** Go tabwriter settings; ctr uses NewWriter(os.Stdout, 1, 8, 1, ' ', 0) almost everywhere. */
export interface TabwriterOptions {
  readonly minwidth: number
  readonly padding: number
  /** ' ' (most ctr tables) or '\t' (`content ls`, `content active`): tabs pad to tabwidth stops. */
  readonly padchar?: ' ' | '\t'
  readonly tabwidth?: number
}

export const CTR_TABLE: TabwriterOptions = {minwidth: 1, padding: 1}
/** ctr's `tabwriter.NewWriter(os.Stdout, 1, 8, 1, '\t', 0)`. */
export const CTR_TAB_TABLE: TabwriterOptions = {minwidth: 1, padding: 1, padchar: '\t', tabwidth: 8}

/**
 * Lay out lines of tab-terminated cells exactly as Go's text/tabwriter does with a space pad
 * character and no flags: a column is a run of consecutive lines that have a cell there; its
 * width is the widest cell plus padding; text after the last tab of a line is not aligned.
 * Widths count code points, as Go counts runes.
 */
export function tabwrite(lines: readonly string[], options: TabwriterOptions = CTR_TABLE): string {
  const cells = lines.map((l) => l.split('\t'))
  const widths: number[] = []
  const out: string[] = []
  const width = (s: string) => [...s].length
  const tabwidth = options.tabwidth ?? 8
  const pad = (textw: number, cellw: number): string => {
    if (options.padchar !== '\t') return ' '.repeat(cellw - textw)
    // Go pads with tabs to the next multiple of tabwidth.
    const rounded = Math.ceil(cellw / tabwidth) * tabwidth
    return '\t'.repeat(Math.ceil((rounded - textw) / tabwidth))
  }

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const line = cells[i]
      let text = ''
      line.forEach((cell, j) => {
        text += cell
        if (j < widths.length) text += pad(width(cell), widths[j])
      })
      out.push(text)
    }
  }

  const format = (line0: number, line1: number) => {
    const column = widths.length
    for (let current = line0; current < line1; current++) {
      if (column >= cells[current].length - 1) continue
      // A cell exists in this column: print the lines above, then size the column block.
      writeLines(line0, current)
      line0 = current
      let w = options.minwidth
      for (; current < line1; current++) {
        const line = cells[current]
        if (column >= line.length - 1) break
        w = Math.max(w, width(line[column]) + options.padding)
      }
      widths.push(w)
      format(line0, current)
      widths.pop()
      line0 = current
      // The loop's increment skips the line that ended the block: it has no cell here anyway.
    }
    writeLines(line0, line1)
  }

  format(0, cells.length)
  return out.map((l) => `${l}\n`).join('')
}

/** The fields that hold a time in stored records: microseconds since the epoch. */
const TIME_FIELDS = ['createdAt', 'updatedAt', 'startedAt', 'expiresAt', 'exitedAt'] as const

/**
 * A record as the JSON contract shows it: each time field (microseconds since the epoch) becomes
 * an RFC 3339 string with the precision stored (`2026-12-03T14:08:33.171777Z`); other fields,
 * and their order, are kept.
 */
export function jsonTimes<T extends object>(record: T): {[K in keyof T]: K extends (typeof TIME_FIELDS)[number] ? string : T[K]} {
  const out = {...record} as Record<string, unknown>
  for (const key of TIME_FIELDS) {
    const value = out[key]
    if (typeof value === 'number') out[key] = rfc3339Micros(value)
  }
  return out as never
}

/** Go's RFC3339Nano of a UTC instant given in microseconds since the epoch. */
export function rfc3339Micros(micros: number): string {
  const seconds = Math.floor(micros / 1e6)
  const fraction = String(Math.round(micros - seconds * 1e6))
    .padStart(6, '0')
    .replace(/0+$/, '')
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}${fraction === '' ? '' : `.${fraction}`}Z`
}

/** JSON as ctr prints it (4-space indent), with a trailing newline. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 4)}\n`
}

/**
 * Write a warning to stderr the way ctr's logrus does (its TextFormatter with full RFC 3339 nano
 * timestamps): `time="…" level=warning msg="…"` in a pipe, `WARN[…] …` on a terminal. Scripts
 * that grep ctr's warnings (`image not found`) find the same text here.
 */
export function warn(message: string, stream?: NodeJS.WriteStream): void {
  const time = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z')
  const terminal = stream === undefined ? stderrIsTerminal() : stream.isTTY
  const write = (text: string) => (stream === undefined ? writeStderr(text) : stream.write(text))
  if (terminal) write(`WARN[${time}] ${message}\n`)
  else write(`time="${time}" level=warning msg=${logfmtValue(message)}\n`)
}

/** logrus quotes a value unless every character is one of [A-Za-z0-9-._/@^+]. */
function logfmtValue(value: string): string {
  return /^[A-Za-z0-9\-._/@^+]+$/.test(value) ? value : JSON.stringify(value)
}
