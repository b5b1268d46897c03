// Tokenizer for the filter grammar: turns one filter argument into field, operator, value, quoted and
// separator tokens exactly as containerd's `filters/scanner.go` does, plus Berth's bare-`/`-value rule.
//
// Invariants: positions are UTF-16 indices into the input (containerd counts UTF-8 bytes); the
// scanner never throws — problems surface as `illegal` tokens whose reason is in `err`, and the
// first recorded reason wins, as in containerd.

/** Returned by `next()`/`peek()` at the end of the input. */
export const EOF = -1
/** Returned by `next()`/`peek()` for a NUL or an undecodable character (see `err`). */
export const ILLEGAL = -2

/** What kind of token `scan()` produced; `char` is any other single character, kept in `char`. */
export type TokenKind = 'eof' | 'illegal' | 'quoted' | 'separator' | 'operator' | 'value' | 'field' | 'char'

/** One token: where it starts, what it is and its raw text (empty for eof, illegal characters and `char`). */
export interface Token {
  readonly pos: number
  readonly kind: TokenKind
  readonly text: string
  /** The code point (or EOF/ILLEGAL) for `char`, `eof` and character-level `illegal` tokens. */
  readonly char?: number
}

type QuotedEnd = 'ok' | 'illegal' | 'unterminated'

const BACKSLASH = 0x5c
const NEWLINE = 0x0a
const SLASH = 0x2f
const PIPE = 0x7c
const COMMA = 0x2c

/** Scans one filter argument, one token at a time. */
export class Scanner {
  /** The first problem met while reading (the text of the parse error for an illegal token). */
  err = ''
  /** Start of the character read last. */
  pos = 0
  /** End of the character read last: where the next one starts. */
  ppos = 0
  /** True between an operator and its value: the next run of text is a value, not a field. */
  private value = false

  constructor(readonly input: string) {}

  /** Reads one character; EOF at the end, ILLEGAL (recording why) for NUL or a broken character. */
  next(): number {
    if (this.pos >= this.input.length) return EOF
    this.pos = this.ppos
    if (this.ppos >= this.input.length) return EOF
    const cp = this.input.codePointAt(this.ppos) as number
    this.ppos += cp > 0xffff ? 2 : 1
    // Go decodes invalid UTF-8 (and a literal U+FFFD) as RuneError; Node hands us U+FFFD or a lone
    // surrogate for the same bytes.
    if (cp === 0xfffd || (cp >= 0xd800 && cp <= 0xdfff)) {
      this.error('rune error')
      return ILLEGAL
    }
    if (cp === 0) {
      this.error('unexpected null')
      return ILLEGAL
    }
    return cp
  }

  /** The next character without consuming it (a reason for ILLEGAL is still recorded, as in containerd). */
  peek(): number {
    const {pos, ppos} = this
    const ch = this.next()
    this.pos = pos
    this.ppos = ppos
    return ch
  }

  /** Reads the next token, skipping whitespace before it. */
  scan(): Token {
    let ch = this.next()
    let pos = this.pos
    for (;;) {
      if (ch === EOF) return {pos: this.pos, kind: 'eof', text: '', char: EOF}
      if (ch === ILLEGAL) return {pos: this.pos, kind: 'illegal', text: '', char: ILLEGAL}
      if (isQuoteRune(ch)) return this.quotedOrBareValue(ch, pos)
      if (isSeparatorRune(ch)) {
        this.value = false
        return this.token(pos, 'separator')
      }
      if (isOperatorRune(ch)) {
        while (isOperatorRune(this.peek())) this.next()
        this.value = true
        return this.token(pos, 'operator')
      }
      if (isSpace(ch)) {
        ch = this.next()
        pos = this.pos
        continue
      }
      if (this.value) {
        // Like containerd, the first character of a value is taken whatever it is.
        this.scanWhile(isValueRune)
        this.value = false
        return this.token(pos, 'value')
      }
      if (isFieldRune(ch)) {
        this.scanWhile(isFieldRune)
        return this.token(pos, 'field')
      }
      return {pos: this.pos, kind: 'char', text: '', char: ch}
    }
  }

  /**
   * A `"`, `/` or `|` literal — or, Berth's extension, a bare value: in value position a `/` or `|`
   * whose literal is unterminated or is followed by anything but end, `,` or whitespace starts an
   * ordinary value instead (`topic~=/tasks/.+` is the regexp `/tasks/.+`).
   */
  private quotedOrBareValue(quote: number, pos: number): Token {
    if (this.value && (quote === SLASH || quote === PIPE)) {
      const saved = {pos: this.pos, ppos: this.ppos, err: this.err}
      const end = this.scanQuoted(quote)
      const after = this.peek()
      if (end === 'unterminated' || !(after === EOF || after === COMMA || isSpace(after))) {
        this.pos = saved.pos
        this.ppos = saved.ppos
        this.err = saved.err
        this.scanWhile(isValueRune)
        this.value = false
        return this.token(pos, 'value')
      }
      return this.token(pos, end === 'ok' ? 'quoted' : 'illegal')
    }
    return this.token(pos, this.scanQuoted(quote) === 'ok' ? 'quoted' : 'illegal')
  }

  private token(pos: number, kind: TokenKind): Token {
    return {pos, kind, text: this.input.slice(pos, this.ppos)}
  }

  private scanWhile(accept: (ch: number) => boolean): void {
    while (accept(this.peek())) this.next()
  }

  /** Consumes a literal up to its closing quote, checking escapes the way Go's scanner does. */
  private scanQuoted(quote: number): QuotedEnd {
    let legal = true
    let ch = this.next()
    while (ch !== quote) {
      if (ch === NEWLINE || ch < 0) {
        this.error('quoted literal not terminated')
        return 'unterminated'
      }
      if (ch === BACKSLASH) {
        const [after, ok] = this.scanEscape(quote)
        ch = after
        if (!ok) legal = false
      } else {
        ch = this.next()
      }
    }
    return legal ? 'ok' : 'illegal'
  }

  /** Consumes one escape (after the backslash); returns the character after it and whether it was legal. */
  private scanEscape(quote: number): [number, boolean] {
    const ch = this.next()
    if (ch === quote || (ch >= 0 && 'abfnrtv\\'.includes(String.fromCodePoint(ch)))) return [this.next(), true]
    if (ch >= 0x30 && ch <= 0x37) return this.scanDigits(ch, 8, 3)
    if (ch === 0x78 /* x */) return this.scanDigits(this.next(), 16, 2)
    if (ch === 0x75 /* u */) return this.scanDigits(this.next(), 16, 4)
    if (ch === 0x55 /* U */) return this.scanDigits(this.next(), 16, 8)
    this.error('illegal escape sequence')
    return [ch, false]
  }

  private scanDigits(first: number, base: number, count: number): [number, boolean] {
    let ch = first
    let n = count
    while (n > 0 && digitValue(ch) < base) {
      ch = this.next()
      n--
    }
    if (n > 0) {
      this.error('illegal numeric escape sequence')
      return [ch, false]
    }
    return [ch, true]
  }

  private error(message: string): void {
    if (this.err === '') this.err = message
  }
}

function digitValue(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30
  if (ch >= 0x61 && ch <= 0x66) return ch - 0x61 + 10
  if (ch >= 0x41 && ch <= 0x46) return ch - 0x41 + 10
  return 16
}

/** `[A-Za-z0-9_]`: what an unquoted field may contain (no `-`, as in containerd). */
function isFieldRune(ch: number): boolean {
  return ch === 0x5f || (ch >= 0x41 && ch <= 0x5a) || (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x30 && ch <= 0x39)
}

function isOperatorRune(ch: number): boolean {
  return ch === 0x3d || ch === 0x21 || ch === 0x7e // = ! ~
}

function isQuoteRune(ch: number): boolean {
  return ch === 0x22 || ch === SLASH || ch === PIPE
}

function isSeparatorRune(ch: number): boolean {
  return ch === COMMA || ch === 0x2e
}

/** Go's `unicode.IsSpace`: ASCII/Latin-1 blanks plus the Unicode White_Space property. */
function isSpace(ch: number): boolean {
  if (ch < 0) return false
  if (ch <= 0xff) return (ch >= 0x09 && ch <= 0x0d) || ch === 0x20 || ch === 0x85 || ch === 0xa0
  return ch === 0x1680 || (ch >= 0x2000 && ch <= 0x200a) || ch === 0x2028 || ch === 0x2029 || ch === 0x202f || ch === 0x205f || ch === 0x3000
}

/** Made at first use: V8 builds the Unicode property classes when the literal is evaluated, about
 * 0.6 ms that every command importing the filters paid at start-up, filter or not. */
let graphicNonSpace: RegExp | undefined

/** Anything printable that is neither `,` nor whitespace (Go's letter/digit/graphic/punct test). */
function isValueRune(ch: number): boolean {
  if (ch < 0 || ch === COMMA || isSpace(ch)) return false
  if (ch < 0x80) return ch > 0x20 && ch < 0x7f
  graphicNonSpace ??= /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u
  return graphicNonSpace.test(String.fromCodePoint(ch))
}
