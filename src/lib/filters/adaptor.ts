// Generic Adaptor over plain objects: walks nested objects by field path and treats named maps
// (labels, annotations) the way containerd's `checkMap` does.
//
// Invariants: only own properties are read (so `constructor` or `__proto__` are never "present");
// only scalars yield a value; an empty string outside a map counts as absent, because containerd's
// adaptors report `len(value) > 0` as presence, while a map entry is present whatever its value.

import type {Adaptor, FieldPath} from './filter.js'

/**
 * An Adaptor over `value`. Nested objects are walked one path element at a time; when an element
 * names one of `maps` (at any depth), the rest of the path joined by `.` is a single key of that map
 * (`labels.a.b` looks up `"a.b"`). Strings are returned as they are (an empty one only from a map),
 * numbers, booleans and bigints as their decimal/`true`/`false` text; objects, arrays, null and missing
 * properties are absent (undefined). Maps may be plain objects or `Map` instances. Never throws.
 */
export function objectAdaptor(value: object, maps: readonly string[] = []): Adaptor {
  const mapNames: ReadonlySet<string> = new Set(maps)
  return {field: (path) => lookup(value, path, mapNames)}
}

function lookup(root: object, path: FieldPath, maps: ReadonlySet<string>): string | undefined {
  if (path.length === 0) return undefined
  let current: unknown = root
  for (let i = 0; i < path.length; i++) {
    if (!isRecord(current)) return undefined
    const key = path[i]
    if (!Object.hasOwn(current, key)) return undefined
    const next = current[key]
    if (maps.has(key) && (isRecord(next) || next instanceof Map)) return mapEntry(next, joinFrom(path, i + 1))
    current = next
  }
  return scalar(current, false)
}

function mapEntry(map: Record<string, unknown> | Map<unknown, unknown>, key: string): string | undefined {
  if (map instanceof Map) return scalar(map.get(key), true)
  return Object.hasOwn(map, key) ? scalar(map[key], true) : undefined
}

function joinFrom(path: FieldPath, start: number): string {
  let key = path[start] ?? ''
  for (let i = start + 1; i < path.length; i++) key += `.${path[i]}`
  return key
}

function scalar(value: unknown, inMap: boolean): string | undefined {
  switch (typeof value) {
    case 'string':
      return value !== '' || inMap ? value : undefined
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(value)
    default:
      return undefined
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map)
}
