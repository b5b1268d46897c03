// Compiles the Go RE2 patterns of the `~=` operator with re2js, a maintained port of RE2: Go's
// syntax and semantics exactly, matched in time linear in the input (no backtracking, so a pattern
// like `(a+)+$` cannot hang a listing).
//
// re2js (about 260 KB) is loaded on the first `~=` only, through a synchronous require: parsing is
// synchronous, and commands without a regexp must not pay for it at start-up.
import {createRequire} from 'node:module'

/** A compiled `~=` pattern: says whether the value contains a match (unanchored, as Go's MatchString). */
export interface CompiledRegexp {
  test(value: string): boolean
}

type Re2Module = typeof import('re2js')

let re2: Re2Module | undefined

function loadRe2(): Re2Module {
  re2 ??= createRequire(import.meta.url)('re2js') as Re2Module
  return re2
}

/**
 * Compile a Go RE2 pattern.
 * @returns the compiled pattern, or the reason Go's regexp would give (`error parsing regexp: …`) when it is invalid.
 */
export function compileRegexp(pattern: string): CompiledRegexp | {error: string} {
  const {RE2JS} = loadRe2()
  try {
    const compiled = RE2JS.compile(pattern)
    return {test: (value: string) => compiled.test(value)}
  } catch (err) {
    return {error: err instanceof Error ? err.message : String(err)}
  }
}
