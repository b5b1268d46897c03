// containerd's filter language for every `ls`/`events` command: parse `name==x,labels."a b"~=y`
// arguments once, then match any number of objects through an Adaptor.
//
// Semantics are containerd's (`filters/*.go`): selectors in one argument are AND'd, arguments are OR'd,
// a bare field path tests presence, `==` needs the field present and equal, `!=` holds when the field
// is absent or different, `~=` is an unanchored Go RE2 match against the value ("" when absent),
// in linear time (re2js). Parse errors read exactly like containerd's, e.g.
// `filters: parse error: [labels.ns >|/|< key==value]: quoted literal not terminated: invalid argument`.
//
// One deliberate extension: containerd starts a delimited literal at any value beginning with `/` or
// `|`, so `topic~=/tasks/.+` fails there. Here such a value is delimited only when the literal is
// terminated and followed by the end, `,` or whitespace; otherwise the whole run up to the next `,` or
// whitespace is an ordinary value. So `topic~=/tasks/.+` is the regexp `/tasks/.+`, `topic==/tasks/exit`
// compares with "/tasks/exit" and `labels.key==/value` with "/value" (containerd: "quoted literal not
// terminated"), while `topic~=/^\/tasks\//`, `topic~=|^/tasks/|` and `name~=/foo/,x==y` stay
// delimited regexps. Every input containerd accepts means the same here; field paths are unchanged
// (`labels.ns/key==value` is still an error). A second one: a `~=` pattern that does not compile is
// a parse error (`filters: parse error: [name~= >|(|< []: error parsing regexp: missing closing ]: …`)
// where containerd would log it and match nothing.

import {AllOf, always, AnyOf, type FieldPath, type Filter, Selector} from './filter.js'
import {parseSelectors} from './parser.js'

export type {Adaptor, FieldPath, Filter} from './filter.js'
export {objectAdaptor} from './adaptor.js'

/**
 * Parses one CLI argument: selectors joined by `,` (AND). The empty string matches everything.
 * @throws InvalidArgument (`suffixKind`) with containerd's `filters: parse error: [...]: <reason>` text.
 */
export function parseFilter(input: string): Filter {
  if (input === '') return always
  return parseSelectors(input)
}

/**
 * Parses several CLI arguments and ORs them; an empty list matches everything.
 * @throws InvalidArgument for the first argument that does not parse.
 */
export function parseFilters(inputs: readonly string[]): Filter {
  if (inputs.length === 0) return always
  return new AnyOf(inputs.map(parseFilter))
}

/**
 * Whether any selector of `filter` tests the map entry `key` of map field `map` (e.g. labels
 * `containerd.io/checkpoint`), however the path was spelled: `labels."containerd.io/checkpoint"` or
 * `labels.containerd."io/checkpoint"` (the path after the map name is re-joined with `.`).
 */
export function mentionsMapKey(filter: Filter, map: string, key: string): boolean {
  const paths: FieldPath[] = []
  const walk = (f: Filter): void => {
    if (f instanceof Selector) paths.push(f.fieldpath)
    else if (f instanceof AllOf || f instanceof AnyOf) f.filters.forEach(walk)
  }
  walk(filter)
  return paths.some((p) => p[0] === map && p.slice(1).join('.') === key)
}
