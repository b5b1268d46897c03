// Filter values and their matching semantics: selectors combined with AND (one argument) and OR
// (several arguments), as containerd's `filters/filter.go` defines them.
//
// Invariant: matching never throws and never recompiles — a `~=` selector carries its pattern
// compiled once, by the parser, which refuses an invalid one.

import type {CompiledRegexp} from './regexp.js'

/** A path of field names, e.g. `['labels', 'foo']` for `labels.foo`. */
export type FieldPath = readonly string[]

/** An object seen through the filter: the value at a field path, or undefined when absent. */
export interface Adaptor {
  field(path: FieldPath): string | undefined
}

/** A parsed filter; `match` says whether the adapted object is selected. */
export interface Filter {
  match(adaptor: Adaptor): boolean
}

/** The selector operators; `present` is a bare field path. */
export type Operator = 'present' | '==' | '!=' | '~='

/** Matches everything: the empty filter and the empty list of filters. */
export const always: Filter = {match: () => true}

/** One `<fieldpath>[<operator><value>]` test. */
export class Selector implements Filter {
  constructor(
    readonly fieldpath: FieldPath,
    readonly operator: Operator,
    readonly value: string,
    /** The compiled pattern of a `~=` selector. */
    private readonly regexp?: CompiledRegexp,
  ) {}

  match(adaptor: Adaptor): boolean {
    const found = adaptor.field(this.fieldpath)
    switch (this.operator) {
      case 'present':
        return found !== undefined
      case '==':
        return found !== undefined && found === this.value
      case '!=':
        // containerd compares the zero value "" for an absent field.
        return (found ?? '') !== this.value
      case '~=':
        return this.regexp !== undefined && this.regexp.test(found ?? '')
    }
  }
}

/** True when every filter matches (containerd's `All`). */
export class AllOf implements Filter {
  constructor(readonly filters: readonly Filter[]) {}

  match(adaptor: Adaptor): boolean {
    for (const filter of this.filters) if (!filter.match(adaptor)) return false
    return true
  }
}

/** True when any filter matches (containerd's `Any`). */
export class AnyOf implements Filter {
  constructor(readonly filters: readonly Filter[]) {}

  match(adaptor: Adaptor): boolean {
    for (const filter of this.filters) if (filter.match(adaptor)) return true
    return false
  }
}
