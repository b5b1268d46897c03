// Reading the event log as a stream: replay a time window, then follow new rows as other
// processes commit them. There is no daemon to push events, so the follower polls the table;
// a poll is one indexed query, so a short interval is cheap.
import type {Database} from 'better-sqlite3'
import {parseDuration} from '../config/index.js'
import {InvalidArgument} from '../errors/index.js'
import {eventAdaptor, type EventRecord} from '../events/index.js'
import type {Filter} from '../filters/index.js'
import {iterateEvents, lastEventSeq, nowMicros} from './event-log.js'

/** How often a follower looks for new rows. Keeps delivery well under 100 ms. */
export const POLL_INTERVAL_MS = 25

export interface FollowOptions {
  readonly filter?: Filter
  /** Replay events from this instant (unix µs); without it only new events are shown. */
  readonly sinceMicros?: number
  /** Stop at this instant (unix µs). */
  readonly untilMicros?: number
  /** Keep following after the history; false prints history (all of it without `since`) and ends. */
  readonly follow: boolean
  readonly signal?: AbortSignal
}

/** Yield matching events in order: history first (per options), then new ones until stopped. */
export async function* followEvents(store: {readonly db: Database}, options: FollowOptions): AsyncGenerator<EventRecord> {
  const {filter, untilMicros, signal} = options
  const replay = options.sinceMicros !== undefined || !options.follow
  let last = replay ? 0 : lastEventSeq(store.db)
  const sinceMicros = options.sinceMicros ?? 0
  for (;;) {
    // Writers commit in seq order, so `last` is a complete cursor: nothing can appear below it.
    for (const e of iterateEvents(store.db, {afterSeq: last, sinceMicros, untilMicros})) {
      last = e.seq
      if (!filter || filter.match(eventAdaptor(e))) yield e
    }
    if (!options.follow || signal?.aborted) return
    if (untilMicros !== undefined && nowMicros() > untilMicros) return
    await sleep(POLL_INTERVAL_MS, signal)
    if (signal?.aborted) return
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, {once: true})
  })
}

/**
 * Parse `--since`/`--until`: RFC 3339 (with optional fraction and offset) or a duration meaning
 * that long ago (`10m`, `1h30m`). Returns unix microseconds. @throws InvalidArgument.
 */
export function parseTimeBound(text: string, now = nowMicros()): number {
  if (!text.includes('-')) {
    // No date part: a duration ago (config's parser owns the unit list).
    try {
      return now - Math.round(parseDuration(text) * 1000)
    } catch {
      // not a duration either: reported below as a bad time
    }
  }
  const m = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/.exec(text)
  if (!m) throw new InvalidArgument(`invalid time ${JSON.stringify(text)}: want RFC 3339 (2006-01-02T15:04:05Z) or a duration (10m)`, {suffixKind: true})
  const ms = Date.parse(`${m[1]}T${m[2]}${m[4].toUpperCase()}`)
  if (Number.isNaN(ms)) throw new InvalidArgument(`invalid time ${JSON.stringify(text)}`, {suffixKind: true})
  const micros = m[3] ? Number(m[3].padEnd(9, '0').slice(0, 6)) : 0
  return ms * 1000 + micros
}
