// Renders pull and push progress: on a terminal ctr's classic display (one row per descriptor with
// a 40-column bar, redrawn in place, then the elapsed/total line) drawn with cli-progress; without
// a terminal plain lines, one per state change; nothing when quiet.
import type {ProgressEvent} from '../lib/pull/index.js'
import type {PushProgressEvent} from '../lib/push/index.js'
import {tabwrite} from './output.js'
import {formatBytes, formatSummary} from './units.js'

interface Row {
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
  const stream = options.stream ?? process.stderr
  if (options.quiet) return {listener: () => {}, finish: () => {}}
  if (!stream.isTTY) return plainProgress(stream)
  return terminalProgress(stream)
}

function plainProgress(stream: NodeJS.WritableStream): ProgressRenderer {
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
      stream.write(`${formatSummary((Date.now() - started) / 1000, total).replaceAll('\t', ' ').trimEnd()}\n`)
    },
  }
}

async function terminalProgress(stream: NodeJS.WriteStream): Promise<ProgressRenderer> {
  const {MultiBar} = await import('cli-progress')
  const started = Date.now()
  const rows = new Map<string, Row>()
  const order: string[] = []
  // cli-progress owns the redraw; each bar's format callback renders its row of ctr's table.
  const multibar = new MultiBar({
    stream,
    hideCursor: true,
    clearOnComplete: false,
    fps: 10,
    barsize: 40,
    barCompleteChar: '+',
    barIncompleteChar: '-',
    format: (options, params, payload: {key: string}) => formatted.get(payload.key) ?? payload.key,
  })
  const bars = new Map<string, ReturnType<typeof multibar.create>>()
  const formatted = new Map<string, string>()
  const layout = () => {
    const lines = order.map((k) => {
      const r = rows.get(k)!
      const full = r.status === 'done' || r.status === 'exists' || r.status === 'resolved'
      const moving = r.status === 'downloading' || r.status === 'uploading'
      const fill = full ? 40 : r.total > 0 && moving ? Math.min(40, Math.floor((r.offset / r.total) * 40)) : 0
      const bar = `|\u001b[32m${'+'.repeat(fill)}\u001b[0m${'-'.repeat(40 - fill)}|`
      const counts = moving ? `${formatBytes(r.offset)}/${formatBytes(r.total)}\t` : ''
      return `${r.key}:\t${r.status}\t${bar}\t${counts}`
    })
    const text = tabwrite(lines).split('\n')
    order.forEach((k, i) => formatted.set(k, text[i]!.trimEnd()))
    for (const k of order) bars.get(k)?.update(0, {key: k})
  }
  const set = (key: string, status: string, offset = 0, total = 0) => {
    if (!rows.has(key)) {
      order.push(key)
      bars.set(key, multibar.create(1, 0, {key}))
    }
    rows.set(key, {key, status, offset, total})
    layout()
  }
  return {
    listener(e) {
      if (e.type === 'resolving' || e.type === 'resolved') set(e.ref, e.type)
      else if (e.type === 'downloading' || e.type === 'uploading') set(e.key, e.type, e.offset, e.total)
      else set(e.key, e.type)
    },
    finish(total) {
      layout()
      multibar.stop()
      stream.write(`${formatSummary((Date.now() - started) / 1000, total)}\n`)
    },
  }
}
