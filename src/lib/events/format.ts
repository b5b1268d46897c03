// How events print: ctr's line `<Go time> <namespace> <topic> <payload json>`, or one JSON object
// a line for `--format json`.
import {formatGoTime, formatRfc3339Nano} from './time.js'

export {formatGoTime, formatRfc3339Nano} from './time.js'

/** One stored event. `tsMicros` is wall-clock unix time in microseconds. */
export interface EventRecord {
  readonly seq: number
  readonly tsMicros: number
  readonly namespace: string
  readonly topic: string
  /** The payload as stored: JSON with keys in containerd's proto field order. */
  readonly payloadJson: string
}

/** One event in ctr's line format (no trailing newline). */
export function formatEventLine(e: EventRecord): string {
  return `${formatGoTime(e.tsMicros)} ${e.namespace} ${e.topic} ${e.payloadJson}`
}

/** One event as a JSON object on one line (no trailing newline). */
export function formatEventJson(e: EventRecord): string {
  return (
    `{"timestamp":${JSON.stringify(formatRfc3339Nano(e.tsMicros))},"namespace":${JSON.stringify(e.namespace)},` +
    `"topic":${JSON.stringify(e.topic)},"event":${e.payloadJson}}`
  )
}
