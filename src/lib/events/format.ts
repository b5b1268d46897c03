// How events print: ctr's line `<Go time> <namespace> <topic> <payload json>`, or one JSON object
// a line for `--format json`.
import type {EventRecord} from '../store/index.js'

/** Go's `time.Time.String()` of a UTC instant: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
export function formatGoTime(tsMicros: number): string {
  const {date, fraction} = split(tsMicros)
  return `${date.replace('T', ' ')}${fraction} +0000 UTC`
}

/** Go's RFC3339Nano of a UTC instant: `2006-01-02T15:04:05.999999999Z`. */
export function formatRfc3339Nano(tsMicros: number): string {
  const {date, fraction} = split(tsMicros)
  return `${date}${fraction}Z`
}

function split(tsMicros: number): {date: string; fraction: string} {
  const seconds = Math.floor(tsMicros / 1e6)
  const micros = tsMicros - seconds * 1e6
  const date = new Date(seconds * 1000).toISOString().slice(0, 19)
  // Go trims trailing zeros of the fraction and drops it entirely when zero.
  const fraction = micros === 0 ? '' : `.${String(micros).padStart(6, '0').replace(/0+$/, '')}`
  return {date, fraction}
}

/** One event in ctr's line format (no trailing newline). */
export function formatEventLine(e: EventRecord): string {
  return `${formatGoTime(e.tsMicros)} ${e.namespace} ${e.topic} ${e.payloadJson}`
}

/** One event as a JSON object on one line (no trailing newline). */
export function formatEventJson(e: EventRecord): string {
  return `{"timestamp":${JSON.stringify(formatRfc3339Nano(e.tsMicros))},"namespace":${JSON.stringify(e.namespace)},"topic":${JSON.stringify(e.topic)},"event":${e.payloadJson}}`
}
