// Compiles the Go RE2 patterns of the `~=` operator into equivalent JavaScript RegExps.
//
// RE2 is almost a subset of JavaScript's syntax with the `u` flag; this translator rewrites the parts
// that differ (leading `(?ims)` flags, `\A`/`\z`, `\Q…\E`, POSIX `[[:alpha:]]`, `\pL`, octal and
// punctuation escapes, Go's ASCII-only `\s`, literal `{`/`]`/`}`, `.` and `^`/`$` per flag) and
// rejects what Go's regexp would reject (backreferences, look-arounds, unknown escapes). Unsupported
// but valid RE2 — flags anywhere but the start, `(?U)` — is rejected too, so such a filter matches
// nothing instead of matching wrongly. Matching only asks "is there a match", so group names and
// leftmost-first vs leftmost-longest make no difference.

const GENERAL_CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '),
)

/** Go's POSIX classes (ASCII only), as JavaScript class bodies. */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\u{0}-\\u{7f}',
  blank: '\\t ',
  cntrl: '\\u{0}-\\u{1f}\\u{7f}',
  digit: '0-9',
  graph: '\\u{21}-\\u{7e}',
  lower: 'a-z',
  print: '\\u{20}-\\u{7e}',
  punct: '\\u{21}-\\u{2f}\\u{3a}-\\u{40}\\u{5b}-\\u{60}\\u{7b}-\\u{7e}',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
}

/** Go's `\s` is ASCII-only and excludes `\v`; JavaScript's is Unicode-wide. */
const GO_SPACE = '\\t\\n\\f\\r '

/** A piece of an escape or class: one character, a set (possibly complemented), an assertion or literal text. */
type Atom =
  | {type: 'char'; cp: number}
  | {type: 'set'; body: string; complement: boolean}
  | {type: 'assert'; js: string}
  | {type: 'literal'; cps: number[]}

class RegexpSyntaxError extends Error {}

/** The JavaScript source and flags equivalent to a Go RE2 pattern; throws when it cannot be translated. */
export function translateRegexp(pattern: string): {source: string; flags: string} {
  return new Translator(pattern).run()
}

/** A RegExp equivalent to the Go RE2 pattern, or undefined when the pattern is invalid or unsupported. */
export function compileRegexp(pattern: string): RegExp | undefined {
  try {
    const {source, flags} = translateRegexp(pattern)
    return new RegExp(source, flags)
  } catch {
    return undefined
  }
}

class Translator {
  private i = 0
  private out = ''
  private ignoreCase = false
  private dotAll = false
  private multiLine = false

  constructor(private readonly src: string) {}

  run(): {source: string; flags: string} {
    this.leadingFlags()
    while (this.i < this.src.length) this.term()
    return {source: this.out, flags: this.ignoreCase ? 'iu' : 'u'}
  }

  /** `(?i)`, `(?sm)`, `(?i-s)`… at the very start set the flags for the whole pattern. */
  private leadingFlags(): void {
    for (;;) {
      const m = /^\(\?([imsU]*)(?:-([imsU]*))?\)/.exec(this.src.slice(this.i))
      if (m === null) return
      const on = m[1] ?? ''
      const off = m[2]
      if (off !== undefined && off === '') fail('missing flags after -')
      if (on === '' && off === undefined) fail('empty flag group')
      for (const flag of on) this.setFlag(flag, true)
      for (const flag of off ?? '') this.setFlag(flag, false)
      this.i += m[0].length
    }
  }

  private setFlag(flag: string, value: boolean): void {
    if (flag === 'i') this.ignoreCase = value
    else if (flag === 's') this.dotAll = value
    else if (flag === 'm') this.multiLine = value
    else if (value) fail('ungreedy mode (?U) is not supported')
  }

  private term(): void {
    const c = this.src[this.i] as string
    switch (c) {
      case '\\':
        this.out += atomOutside(this.escape(false))
        return
      case '[':
        this.charClass()
        return
      case '(':
        this.group()
        return
      case ')':
      case '|':
      case '*':
      case '+':
      case '?':
        this.out += c
        this.i++
        return
      case '{':
        this.repeatOrBrace()
        return
      case '}':
      case ']':
        this.out += `\\${c}`
        this.i++
        return
      case '.':
        this.out += this.dotAll ? '[\\s\\S]' : '[^\\n]'
        this.i++
        return
      case '^':
        this.out += this.multiLine ? '(?<![^\\n])' : '^'
        this.i++
        return
      case '$':
        this.out += this.multiLine ? '(?![^\\n])' : '$'
        this.i++
        return
      default: {
        const cp = this.src.codePointAt(this.i) as number
        this.out += String.fromCodePoint(cp)
        this.i += cp > 0xffff ? 2 : 1
      }
    }
  }

  private group(): void {
    const rest = this.src.slice(this.i)
    if (!rest.startsWith('(?')) {
      this.out += '('
      this.i++
      return
    }
    if (rest.startsWith('(?:')) {
      this.out += '(?:'
      this.i += 3
      return
    }
    // Names only matter for extraction, which filters never do; a plain group avoids JS name rules.
    const named = /^\(\?P?<[A-Za-z0-9_]+>/.exec(rest)
    if (named !== null) {
      this.out += '('
      this.i += named[0].length
      return
    }
    if (/^\(\?[imsU-]*[:)]/.test(rest)) fail('flags are only supported at the start of the pattern')
    fail('invalid or unsupported Perl syntax')
  }

  private repeatOrBrace(): void {
    const m = /^\{(\d+)(?:,(\d*))?\}/.exec(this.src.slice(this.i))
    if (m === null) {
      this.out += '\\{' // Go treats a `{` that does not start a repeat as a literal.
      this.i++
      return
    }
    const min = Number(m[1])
    const max = m[2] === undefined || m[2] === '' ? min : Number(m[2])
    if (min > 1000 || max > 1000 || max < min) fail('invalid repeat count')
    this.out += m[0]
    this.i += m[0].length
  }

  private charClass(): void {
    this.i++ // '['
    let negated = false
    if (this.src[this.i] === '^') {
      negated = true
      this.i++
    }
    let body = ''
    const complements: string[] = []
    for (let first = true; ; first = false) {
      if (this.i >= this.src.length) fail('missing closing ]')
      if (this.src[this.i] === ']' && !first) {
        this.i++
        break
      }
      const posix = /^\[:(\^?)([a-z]*):\]/.exec(this.src.slice(this.i))
      if (posix !== null) {
        const set = POSIX_CLASSES[posix[2] ?? '']
        if (set === undefined) fail('invalid character class range')
        if (posix[1] === '^') complements.push(set)
        else body += set
        this.i += posix[0].length
        continue
      }
      const lo = this.classAtom()
      if (lo.type === 'set') {
        if (lo.complement) complements.push(lo.body)
        else body += lo.body
        continue
      }
      if (lo.type !== 'char') fail('invalid escape in character class')
      if (this.src[this.i] === '-' && this.i + 1 < this.src.length && this.src[this.i + 1] !== ']') {
        this.i++
        const hi = this.classAtom()
        if (hi.type !== 'char' || hi.cp < lo.cp) fail('invalid character class range')
        body += `${escapeChar(lo.cp)}-${escapeChar(hi.cp)}`
      } else {
        body += escapeChar(lo.cp)
      }
    }
    if (complements.length === 0) {
      this.out += negated ? `[^${body}]` : `[${body}]`
      return
    }
    const alternatives = body === '' ? [] : [`[${body}]`]
    for (const set of complements) alternatives.push(`[^${set}]`)
    const union = `(?:${alternatives.join('|')})`
    this.out += negated ? `(?:(?!${union})[\\s\\S])` : union
  }

  private classAtom(): Atom {
    if (this.src[this.i] === '\\') return this.escape(true)
    const cp = this.src.codePointAt(this.i) as number
    this.i += cp > 0xffff ? 2 : 1
    return {type: 'char', cp}
  }

  /** Reads one escape starting at the backslash. */
  private escape(inClass: boolean): Atom {
    this.i++ // '\'
    if (this.i >= this.src.length) fail('trailing backslash at end of expression')
    const cp = this.src.codePointAt(this.i) as number
    const c = String.fromCodePoint(cp)
    this.i += c.length
    switch (c) {
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7':
        if (!isOctal(this.src[this.i])) fail('backreferences are not supported')
        return this.octal(c)
      case '0':
        return this.octal(c)
      case 'x':
        return {type: 'char', cp: this.hexEscape()}
      case 'a':
        return {type: 'char', cp: 0x07}
      case 'f':
        return {type: 'char', cp: 0x0c}
      case 'n':
        return {type: 'char', cp: 0x0a}
      case 'r':
        return {type: 'char', cp: 0x0d}
      case 't':
        return {type: 'char', cp: 0x09}
      case 'v':
        return {type: 'char', cp: 0x0b}
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        return {type: 'set', body: `\\${c}`, complement: false}
      case 's':
        return {type: 'set', body: GO_SPACE, complement: false}
      case 'S':
        return {type: 'set', body: GO_SPACE, complement: true}
      case 'p':
      case 'P':
        return {type: 'set', body: this.unicodeClass(c === 'P'), complement: false}
    }
    if (!inClass) {
      switch (c) {
        case 'A':
          return {type: 'assert', js: '(?<![\\s\\S])'}
        case 'z':
          return {type: 'assert', js: '(?![\\s\\S])'}
        case 'b':
        case 'B':
          return {type: 'assert', js: `\\${c}`}
        case 'Q': {
          const end = this.src.indexOf('\\E', this.i)
          const text = this.src.slice(this.i, end === -1 ? this.src.length : end)
          this.i = end === -1 ? this.src.length : end + 2
          return {type: 'literal', cps: Array.from(text, (ch) => ch.codePointAt(0) as number)}
        }
      }
    }
    // Go lets any ASCII punctuation (anything but [0-9A-Za-z]) be escaped to stand for itself.
    if (cp < 0x80 && !/[0-9A-Za-z]/.test(c)) return {type: 'char', cp}
    fail(`invalid escape sequence \\${c}`)
  }

  /** `\0`, `\12`, `\123`: the first digit is read, up to two more octal digits follow. */
  private octal(first: string): Atom {
    let digits = first
    while (digits.length < 3 && isOctal(this.src[this.i])) {
      digits += this.src[this.i]
      this.i++
    }
    return {type: 'char', cp: Number.parseInt(digits, 8)}
  }

  /** `\xNN` or `\x{N…}`. */
  private hexEscape(): number {
    const rest = this.src.slice(this.i)
    const braced = /^\{([0-9A-Fa-f]+)\}/.exec(rest)
    if (braced !== null) {
      const cp = Number.parseInt(braced[1] as string, 16)
      if (!(cp <= 0x10ffff)) fail('invalid escape sequence')
      this.i += braced[0].length
      return cp
    }
    const pair = /^[0-9A-Fa-f]{2}/.exec(rest)
    if (pair === null) fail('invalid escape sequence')
    this.i += 2
    return Number.parseInt(pair[0], 16)
  }

  /** `\pL`, `\p{Greek}`, `\p{^Lu}`, `\PN` as a JavaScript `\p{…}`/`\P{…}` class item. */
  private unicodeClass(negated: boolean): string {
    let name: string
    if (this.src[this.i] === '{') {
      const end = this.src.indexOf('}', this.i)
      if (end === -1) fail('invalid character class range')
      name = this.src.slice(this.i + 1, end)
      this.i = end + 1
    } else {
      if (this.i >= this.src.length) fail('invalid character class range')
      const cp = this.src.codePointAt(this.i) as number
      name = String.fromCodePoint(cp)
      this.i += name.length
    }
    let complement = negated
    if (name.startsWith('^')) {
      complement = !complement
      name = name.slice(1)
    }
    if (!/^[A-Za-z_]+$/.test(name)) fail('invalid character class range')
    const property = name === 'Any' || GENERAL_CATEGORIES.has(name) ? name : `Script=${name}`
    return `\\${complement ? 'P' : 'p'}{${property}}`
  }
}

function atomOutside(atom: Atom): string {
  switch (atom.type) {
    case 'char':
      return escapeChar(atom.cp)
    case 'set':
      return atom.complement ? `[^${atom.body}]` : `[${atom.body}]`
    case 'assert':
      return atom.js
    case 'literal':
      return atom.cps.map(escapeChar).join('')
  }
}

/** A code point written so that it is literal both inside and outside a `u`-mode class. */
function escapeChar(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) {
    return String.fromCodePoint(cp)
  }
  return `\\u{${cp.toString(16)}}`
}

function isOctal(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '7'
}

function fail(message: string): never {
  throw new RegexpSyntaxError(message)
}
