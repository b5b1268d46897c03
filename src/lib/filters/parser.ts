// Recursive-descent parser from one filter argument to a Filter, mirroring containerd's
// `filters/parser.go` token for token so that accepted inputs and error texts are the same.
//
// Grammar (what the scanner really accepts, not the looser doc comment upstream):
//
//   selectors := selector ( "," selector )*
//   selector  := fieldpath [ operator value ]      -- no operator: "field is present"
//   fieldpath := field ( "." field )*
//   field     := [A-Za-z0-9_]+ | "..."             -- only double quotes in a field path
//   operator  := "==" | "!=" | "~="
//   value     := run of printable non-space, non-comma characters | "..." | /.../ | |...|
//                                                  -- /.../ and |...| only after ~=; a ~= value must
//                                                     compile as a Go RE2 pattern
//
// Invariant: every failure is an InvalidArgument whose message is
// `filters: parse error: [<before> >|<char>|< <after>]: <reason>` (or `[<input>]: <reason>` at the end).

import {InvalidArgument} from '../errors/index.js'
import {AllOf, type FieldPath, type Operator, Selector} from './filter.js'
import {compileRegexp} from './regexp.js'
import {unquote} from './quote.js'
import {EOF, ILLEGAL, Scanner} from './scanner.js'

const OPERATORS: ReadonlyMap<string, Operator> = new Map([
  ['==', '=='],
  ['!=', '!='],
  ['~=', '~='],
])

/** Parses one non-empty filter argument; throws InvalidArgument on a syntax error. */
export function parseSelectors(input: string): AllOf {
  return new Parser(input).selectors()
}

class Parser {
  private readonly scanner: Scanner

  constructor(private readonly input: string) {
    this.scanner = new Scanner(input)
  }

  selectors(): AllOf {
    const selectors = [this.selector()]
    for (;;) {
      const next = this.scanner.peek()
      if (next === EOF) break
      if (next !== 0x2c /* , */) {
        // Go prints string(rune) of its negative illegal-token code, which is U+FFFD.
        const shown = next === ILLEGAL ? '\ufffd' : String.fromCodePoint(next)
        throw this.error(this.scanner.ppos, `unexpected input: ${shown}`)
      }
      const separator = this.scanner.scan()
      if (separator.kind !== 'separator') throw this.error(separator.pos, 'expected a separator')
      selectors.push(this.selector())
    }
    return new AllOf(selectors)
  }

  private selector(): Selector {
    const fieldpath = this.fieldpath()
    const next = this.scanner.peek()
    if (next === 0x2c || next === EOF) return new Selector(fieldpath, 'present', '')
    const operator = this.operator()
    const at = this.scanner.ppos
    const value = this.value(operator === '~=')
    if (operator !== '~=') return new Selector(fieldpath, operator, value)
    // containerd compiles a `~=` value only when it matches and then treats a bad pattern as "no
    // match"; a script that typed a broken pattern deserves to hear so (exit 2), not an empty list.
    const compiled = compileRegexp(value)
    if ('error' in compiled) throw this.error(at, compiled.error)
    return new Selector(fieldpath, operator, value, compiled)
  }

  private fieldpath(): FieldPath {
    const fields = [this.field()]
    while (this.scanner.peek() === 0x2e /* . */) {
      const separator = this.scanner.scan()
      if (separator.kind !== 'separator') throw this.error(separator.pos, 'expected a field separator (`.`)')
      fields.push(this.field())
    }
    return Object.freeze(fields)
  }

  private field(): string {
    const token = this.scanner.scan()
    switch (token.kind) {
      case 'field':
        return token.text
      case 'quoted':
        return this.unquote(token.pos, token.text, false)
      case 'illegal':
        throw this.error(token.pos, this.scanner.err)
      default:
        throw this.error(token.pos, 'expected field or quoted')
    }
  }

  private operator(): Operator {
    const token = this.scanner.scan()
    switch (token.kind) {
      case 'operator': {
        const operator = OPERATORS.get(token.text)
        if (operator === undefined) throw this.error(token.pos, `unsupported operator "${token.text}"`)
        return operator
      }
      case 'illegal':
        throw this.error(token.pos, this.scanner.err)
      default:
        throw this.error(token.pos, 'expected an operator ("=="|"!="|"~=")')
    }
  }

  private value(allowAltQuotes: boolean): string {
    const token = this.scanner.scan()
    switch (token.kind) {
      case 'value':
      case 'field':
        return token.text
      case 'quoted':
        return this.unquote(token.pos, token.text, allowAltQuotes)
      case 'illegal':
        throw this.error(token.pos, this.scanner.err)
      default:
        throw this.error(token.pos, 'expected value or quoted')
    }
  }

  private unquote(pos: number, literal: string, allowAltQuotes: boolean): string {
    if (!allowAltQuotes && literal[0] !== '"' && literal[0] !== "'") {
      throw this.error(pos, 'invalid quote encountered')
    }
    const text = unquote(literal)
    if (text === undefined) throw this.error(pos, 'unquoting failed: quote syntax error')
    return text
  }

  private error(pos: number, reason: string): InvalidArgument {
    return new InvalidArgument(`filters: parse error: ${locate(this.input, pos)}: ${reason}`, {suffixKind: true})
  }
}

/** containerd's error window: the input with the offending character fenced as `>|c|<`. */
function locate(input: string, pos: number): string {
  if (pos >= input.length) return `[${input}]`
  const at = String.fromCodePoint(input.codePointAt(pos) as number)
  return `[${input.slice(0, pos)} >|${at}|< ${input.slice(pos + at.length)}]`
}
