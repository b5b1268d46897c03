// Go's time.ParseDuration, for the flags ctr declares as durations (--timeout, --connect-timeout):
// a signed sequence of decimal numbers with units ns, us (µs, μs), ms, s, m, h; `0` alone is zero.
import {InvalidArgument} from '../lib/errors/index.js'

const UNIT_MS: Readonly<Record<string, number>> = {ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000}

/**
 * Milliseconds in a Go duration (`10s`, `1m30s`, `500ms`, `1.5h`, `-2s`, `0`).
 * @throws InvalidArgument with Go's wording (`time: invalid duration "x"`, `time: missing unit ...`, `time: unknown unit ...`).
 */
export function parseGoDuration(text: string): number {
  const invalid = (what = 'invalid duration') => new InvalidArgument(`time: ${what} ${JSON.stringify(text)}`)
  let rest = text
  let sign = 1
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1
    rest = rest.slice(1)
  }
  if (rest === '0') return 0
  if (rest === '') throw invalid()
  let total = 0
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)!
    if (number[0] === '' || number[0] === '.') throw invalid()
    rest = rest.slice(number[0].length)
    const unit = /^[^\d.]*/.exec(rest)![0]
    if (unit === '') throw invalid('missing unit in duration')
    const scale = UNIT_MS[unit]
    if (scale === undefined) throw new InvalidArgument(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(text)}`)
    total += Number(number[0].startsWith('.') ? `0${number[0]}` : number[0]) * scale
    rest = rest.slice(unit.length)
  }
  return sign * total
}
