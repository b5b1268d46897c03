// The event log: rows appended in the same transaction as the change they describe, read back
// in `seq` order, and trimmed by age and count. Payloads come from the event vocabulary
// (lib/events/topics.ts) and nowhere else.
import type {Database} from 'better-sqlite3'
import type {EventRecord} from '../events/format.js'
import {eventPayload, type TopicEvent} from '../events/topics.js'
import * as sys from '../sys/index.js'

export type {EventRecord} from '../events/format.js'

/** How many rows and how old the log may grow; checked every TRIM_EVERY appends. */
export interface Retention {
  readonly maxRows: number
  readonly maxAgeSeconds: number
}

const TRIM_EVERY = 512

/**
 * Wall-clock now in unix microseconds (finer than Date.now(), as ctr prints nanoseconds): from the
 * addon, which the commands that record events have loaded already; `performance` (perf_hooks,
 * about 1 ms to load) only where the addon is missing.
 */
export function nowMicros(): number {
  return sys.realtimeMicros() ?? Math.round((performance.timeOrigin + performance.now()) * 1000)
}

/**
 * Append one event of the vocabulary: its payload is built by the topic's builder. Must run inside
 * the caller's write transaction so that the event commits or rolls back with the change. Returns
 * the new row's seq.
 */
export function appendEvent(db: Database, namespace: string, event: TopicEvent, retention?: Retention): number {
  return appendEventRow(db, namespace, event.topic, eventPayload(event), retention)
}

/** Append one row as given: for appendEvent, and for tests of the log itself. */
export function appendEventRow(db: Database, namespace: string, topic: string, payload: Record<string, unknown>, retention?: Retention): number {
  const info = db
    .prepare('INSERT INTO events (ts_us, namespace, topic, payload) VALUES (?, ?, ?, ?)')
    .run(nowMicros(), namespace, topic, JSON.stringify(payload))
  const seq = Number(info.lastInsertRowid)
  if (retention && seq % TRIM_EVERY === 0) trimEvents(db, retention)
  return seq
}

/** Delete events beyond the retention limits (whichever keeps less). Returns rows deleted. */
export function trimEvents(db: Database, retention: Retention): number {
  const last = (db.prepare('SELECT max(seq) AS s FROM events').get() as {s: number | null}).s ?? 0
  const cutoff = nowMicros() - retention.maxAgeSeconds * 1e6
  return db.prepare('DELETE FROM events WHERE seq <= ? OR ts_us < ?').run(last - retention.maxRows, cutoff).changes
}

/** Query bounds: events after `afterSeq`, within [sinceMicros, untilMicros], at most `limit`. */
export interface EventQuery {
  readonly afterSeq?: number
  readonly sinceMicros?: number
  readonly untilMicros?: number
  readonly limit?: number
}

interface EventRow {
  seq: number
  ts_us: number
  namespace: string
  topic: string
  payload: string
}

/** Iterate events in seq order, streaming rows rather than loading the whole log. */
export function* iterateEvents(db: Database, q: EventQuery = {}): Generator<EventRecord> {
  const rows = db
    .prepare('SELECT seq, ts_us, namespace, topic, payload FROM events WHERE seq > ? AND ts_us >= ? AND ts_us <= ? ORDER BY seq LIMIT ?')
    .iterate(q.afterSeq ?? 0, q.sinceMicros ?? 0, q.untilMicros ?? Number.MAX_SAFE_INTEGER, q.limit ?? -1) as IterableIterator<EventRow>
  for (const r of rows) yield {seq: r.seq, tsMicros: r.ts_us, namespace: r.namespace, topic: r.topic, payloadJson: r.payload}
}

/** The highest seq written so far (0 for an empty log). */
export function lastEventSeq(db: Database): number {
  return (db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'").get() as {seq: number} | undefined)?.seq ?? 0
}
