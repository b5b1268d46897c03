// Renders pull and push progress: on a terminal ctr's display (one row per descriptor with a bar,
// and the elapsed/total line, redrawn in place ten times a second); without a terminal (or with
// TERM=dumb) plain lines, one per state change; nothing when quiet.
//
// The terminal display keeps ctr's layout when it fits the width; when it does not, it shortens
// the digests as containerd 2.x does (`layer (0123456789ab)`), then narrows the bar, then drops
// it, and never draws a line as wide as the terminal, so each line is one screen row and a redraw
// (also after a resize) erases exactly what was drawn. The cursor and line wrapping come back on
// every way out (src/cli/terminal.ts). NO_COLOR leaves the bar uncoloured.
import type {ProgressEvent} from '../lib/pull/index.js'
import type {PushProgressEvent} from '../lib/push/index.js'
import {tabwrite} from './output.js'
import {claimTerminal, type TerminalClaim} from './terminal.js'
import {formatBytes, formatSummary} from './units.js'
import {stderrIsTerminal, stderrWriter} from './stdout.js'

/** One row of the display. */
export interface ProgressRow {
  key: string
  status: string
  offset: number
  total: number
}
/** What a renderer draws: a pull's or a push's events (`uploading` rows look like `downloading` ones). */
export type AnyProgressEvent = ProgressEvent | PushProgressEvent

export interface ProgressRenderer {
  readonly listener: (e: AnyProgressEvent) => void
  /** Draw the final state and the summary line. */
  finish(totalBytes: number): void
}

/** Pick the renderer for this process's stderr. */
export async function createProgress(options: {quiet?: boolean; stream?: NodeJS.WriteStream}): Promise<ProgressRenderer> {
  // Quiet first: making process.stderr loads net and the stream modules (several ms).
  if (options.quiet) return {listener: () => {}, finish: () => {}}
  const dumb = process.env['TERM'] === 'dumb'
  if (options.stream === undefined) {
    // Plain lines into a pipe or a file go straight to fd 2 (no stream made); a terminal gets the stream.
    if (dumb || !stderrIsTerminal()) return plainProgress(stderrWriter)
    return terminalProgress(process.stderr, {color: !process.env['NO_COLOR']})
  }
  if (!options.stream.isTTY || dumb) return plainProgress(options.stream)
  return terminalProgress(options.stream, {color: !process.env['NO_COLOR']})
}

function plainProgress(stream: {write(text: string): unknown}): ProgressRenderer {
  const started = Date.now()
  const last = new Map<string, string>()
  const line = (key: string, status: string) => {
    if (last.get(key) === status) return
    last.set(key, status)
    stream.write(`${key}: ${status}\n`)
  }
  return {
    listener(e) {
      if (e.type === 'resolving' || e.type === 'resolved') line(e.ref, e.type)
      else if (e.type === 'downloading' || e.type === 'uploading') line(e.key, `${e.type} ${formatBytes(e.total)}`)
      else line(e.key, e.type)
    },
    finish(total) {
      stream.write(
        `${formatSummary((Date.now() - started) / 1000, total)
          .replaceAll('\t', ' ')
          .trimEnd()}\n`,
      )
    },
  }
}

const ESCAPES = /\u001b\[[0-9;?]*[A-Za-z]/g
const GREEN = '\u001b[32m'
const RESET = '\u001b[0m'

/** Columns a line takes on screen (escape sequences take none). */
export function visibleWidth(line: string): number {
  return [...line.replace(ESCAPES, '')].length
}

/** containerd 2.x's displayName: `layer-sha256:<64 hex>` becomes `layer (<12 hex>)`. */
export function shortKey(key: string): string {
  const m = /^(.+)-sha256:([0-9a-f]{64})$/.exec(key)
  return m ? `${m[1]} (${m[2].slice(0, 12)})` : key
}

/** containerd's progress.Bar: `|+++---|` of `width` columns, the filled part green unless `color` is off. */
export function bar(fraction: number, width: number, color: boolean): string {
  const inner = width - 2
  const filled = Math.floor(inner * Math.min(1, Math.max(0, fraction)))
  return `|${color ? GREEN : ''}${'+'.repeat(filled)}${color ? RESET : ''}${'-'.repeat(inner - filled)}|`
}

export interface FrameOptions {
  /** Terminal width; lines stay narrower than this. */
  columns: number
  color: boolean
  elapsedSeconds: number
  totalBytes: number
}

/**
 * One screen of the display, as lines without newlines: the rows and the elapsed/total line laid
 * out by Go's tabwriter as ctr does, fitted to `columns` (see the file comment for the order).
 */
export function renderFrame(rows: readonly ProgressRow[], o: FrameOptions): string[] {
  const limit = Math.max(1, o.columns - 1)
  // `nameWidth`: short names are cut to it (containerd 2.x's %-40.40s), with an ellipsis.
  const layout = (short: boolean, barWidth: number, nameWidth = 40) => {
    const lines = rows.map((r) => {
      const moving = r.status === 'downloading' || r.status === 'uploading'
      const full = r.status === 'done' || r.status === 'exists' || r.status === 'resolved'
      const fraction = full ? 1 : moving && r.total > 0 ? r.offset / r.total : 0
      const name = short ? cut(shortKey(r.key), nameWidth) : r.key
      const cells = [`${name}:`, r.status]
      if (barWidth > 0) cells.push(bar(fraction, barWidth, o.color))
      if (moving) cells.push(`${formatBytes(r.offset).slice(0, 8).padStart(8)}/${formatBytes(r.total)}`)
      return `${cells.join('\t')}\t`
    })
    lines.push(formatSummary(o.elapsedSeconds, o.totalBytes))
    return tabwrite(lines)
      .split('\n')
      .slice(0, -1)
      .map((l) => l.trimEnd())
  }
  const widest = (lines: string[]) => Math.max(0, ...lines.map(visibleWidth))
  let lines = layout(false, 40)
  if (widest(lines) > limit) lines = layout(true, 40)
  // Still too wide: long names (a reference) give way first, never below a shortened digest row
  // (`manifest (0123456789ab)`), then the bar narrows; below 12 columns it says too little to keep.
  let nameWidth = 40
  if (widest(lines) > limit) {
    const floor = Math.max(20, ...rows.filter((r) => r.key !== shortKey(r.key)).map((r) => [...shortKey(r.key)].length))
    nameWidth = Math.max(floor, 40 - (widest(lines) - limit))
    lines = layout(true, 40, nameWidth)
  }
  if (widest(lines) > limit) {
    const room = limit - widest(layout(true, 0, nameWidth)) - 1
    lines = layout(true, room >= 12 ? Math.min(40, room) : 0, nameWidth)
  }
  return lines.map((l) => (visibleWidth(l) > limit ? [...l.replace(ESCAPES, '')].slice(0, limit).join('').trimEnd() : l))
}

/** `text` cut to `width` columns, the last one an ellipsis when something was cut. */
function cut(text: string, width: number): string {
  const chars = [...text]
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`
}

/** Screen rows `lines` take at `columns` (a terminal that reflows on a resize wraps long ones). */
function screenRows(lines: readonly string[], columns: number): number {
  return lines.reduce((n, l) => n + Math.max(1, Math.ceil(visibleWidth(l) / Math.max(1, columns))), 0)
}

function terminalProgress(stream: NodeJS.WriteStream, options: {color: boolean}): ProgressRenderer {
  const started = Date.now()
  const rows = new Map<string, ProgressRow>()
  const transferred = new Map<string, number>()
  let claim: TerminalClaim | undefined
  let timer: NodeJS.Timeout | undefined
  let drawn: string[] = []

  const draw = (totalBytes?: number) => {
    const columns = stream.columns || 80
    let bytes = totalBytes
    if (bytes === undefined) {
      bytes = 0
      for (const n of transferred.values()) bytes += n
    }
    const lines = renderFrame([...rows.values()], {columns, color: options.color, elapsedSeconds: (Date.now() - started) / 1000, totalBytes: bytes})
    const up = screenRows(drawn, columns)
    stream.write(`${up > 0 ? `\u001b[${up}A\r\u001b[J` : ''}${lines.join('\n')}\n`)
    drawn = lines
  }
  const onResize = () => draw()
  const start = () => {
    claim = claimTerminal(stream)
    stream.on('resize', onResize)
    // ctr's ticker: the elapsed time moves even while no byte arrives.
    timer = setInterval(() => draw(), 100)
    timer.unref()
  }
  const set = (key: string, status: string, offset = 0, total = 0, bytes = offset) => {
    rows.set(key, {key, status, offset, total})
    transferred.set(key, bytes)
    if (claim === undefined) start()
  }
  return {
    listener(e) {
      if (e.type === 'resolving' || e.type === 'resolved') set(e.ref, e.type)
      else if (e.type === 'downloading' || e.type === 'uploading') set(e.key, e.type, e.offset, e.total)
      else if (e.type === 'done' || e.type === 'exists') set(e.key, e.type, 0, 0, e.transferred)
      else set(e.key, e.type)
    },
    finish(total) {
      if (claim === undefined) return
      clearInterval(timer)
      stream.removeListener('resize', onResize)
      draw(total)
      claim.release()
    },
  }
}
