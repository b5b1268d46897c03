// How event times print: Go's `time.Time.String()` (ctr's line) and RFC 3339 with nanoseconds
// (payload timestamps, `--format json`), both in UTC with Go's trimming of trailing zeros.
// Pure. A time is unix microseconds (number, the store's unit) or nanoseconds (bigint).

/** Unix time: a number is microseconds, a bigint nanoseconds. */
export type UnixTime = number | bigint

/** Go's `time.Time.String()` of a UTC instant: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
export function formatGoTime(t: UnixTime): string {
  const {date, fraction} = split(t)
  return `${date.replace('T', ' ')}${fraction} +0000 UTC`
}

/** Go's RFC3339Nano of a UTC instant: `2006-01-02T15:04:05.999999999Z`. */
export function formatRfc3339Nano(t: UnixTime): string {
  const {date, fraction} = split(t)
  return `${date}${fraction}Z`
}

/** The payload form of a timestamp (gogo `stdtime`, as ctr 1.6/1.7 print it): RFC3339Nano. */
export const rfc3339Nano = formatRfc3339Nano

function split(t: UnixTime): {date: string; fraction: string} {
  const nanos = typeof t === 'bigint' ? t : BigInt(Math.round(t)) * 1000n
  let seconds = nanos / 1_000_000_000n
  let rest = nanos % 1_000_000_000n
  if (rest < 0n) {
    // before 1970: floor, not truncate
    seconds -= 1n
    rest += 1_000_000_000n
  }
  const date = new Date(Number(seconds) * 1000).toISOString().slice(0, 19)
  // Go trims trailing zeros of the fraction and drops it entirely when zero.
  const fraction = rest === 0n ? '' : `.${String(rest).padStart(9, '0').replace(/0+$/, '')}`
  return {date, fraction}
}
