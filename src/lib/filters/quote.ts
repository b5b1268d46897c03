// Decodes a quoted filter literal ("...", /.../ or |...|) with Go's string escapes, as containerd's
// `filters/quote.go` (a copy of strconv.Unquote that also accepts `/` and `|` as delimiters) does.
//
// Invariant: for the three delimiters the scanner produces, returns undefined exactly where Go returns
// "quote syntax error" (Go's single-quoted rune literals never reach here and are rejected); escapes
// that produce raw bytes (`\xNN`, octal) are assembled as UTF-8 first, so `"\xc3\xa9"` is "é".

import {Buffer} from 'node:buffer'

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  '\\': 0x5c,
}

const HEX_LENGTH: Readonly<Record<string, number>> = {x: 2, u: 4, U: 8}

/** The text a quoted literal stands for (delimiters included in `literal`), or undefined if malformed. */
export function unquote(literal: string): string | undefined {
  if (literal.length < 2) return undefined
  const quote = literal[0]
  if (literal[literal.length - 1] !== quote) return undefined
  if (quote !== '"' && quote !== '/' && quote !== '|') return undefined
  const body = literal.slice(1, -1)
  if (body.includes('\n')) return undefined
  if (!body.includes('\\') && !body.includes(quote)) return body

  const bytes: number[] = []
  let i = 0
  while (i < body.length) {
    const c = body[i]
    if (c === quote) return undefined
    if (c !== '\\') {
      const cp = body.codePointAt(i) as number
      pushUtf8(bytes, cp)
      i += cp > 0xffff ? 2 : 1
      continue
    }
    if (i + 1 >= body.length) return undefined
    const e = body[i + 1]
    i += 2
    const simple = SIMPLE_ESCAPES[e]
    if (simple !== undefined) {
      bytes.push(simple)
      continue
    }
    const hexLength = HEX_LENGTH[e]
    if (hexLength !== undefined) {
      const digits = body.slice(i, i + hexLength)
      if (digits.length < hexLength || !/^[0-9A-Fa-f]+$/.test(digits)) return undefined
      const v = Number.parseInt(digits, 16)
      i += hexLength
      if (e === 'x') {
        bytes.push(v) // a single byte, possibly not UTF-8
      } else {
        if (v > 0x10ffff) return undefined
        pushUtf8(bytes, v)
      }
      continue
    }
    if (e >= '0' && e <= '7') {
      const digits = body.slice(i, i + 2)
      if (!/^[0-7]{2}$/.test(digits)) return undefined
      const v = Number.parseInt(e + digits, 8)
      i += 2
      if (v > 255) return undefined
      bytes.push(v)
      continue
    }
    if (e === "'" || e === '"' || e === '|' || e === '/') {
      if (e !== quote) return undefined
      bytes.push(e.charCodeAt(0))
      continue
    }
    return undefined
  }
  return Buffer.from(bytes).toString('utf8')
}

/** Appends the UTF-8 encoding of a code point; surrogates become U+FFFD as Go's EncodeRune does. */
function pushUtf8(bytes: number[], codePoint: number): void {
  const cp = codePoint >= 0xd800 && codePoint <= 0xdfff ? 0xfffd : codePoint
  if (cp < 0x80) {
    bytes.push(cp)
  } else if (cp < 0x800) {
    bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f))
  } else if (cp < 0x10000) {
    bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f))
  } else {
    bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f))
  }
}
