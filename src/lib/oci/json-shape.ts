// Module-private helpers that check the shape of parsed JSON and throw InvalidArgument naming the document and field path.
import {InvalidArgument} from '../errors/index.js'

/** Where a value sits: the document kind (`manifest`) and the JSON path inside it (`layers[2].digest`). */
export interface At {
  readonly doc: string
  readonly path: string
}

export const child = (at: At, key: string | number): At => ({
  doc: at.doc,
  path: typeof key === 'number' ? `${at.path}[${key}]` : at.path === '' ? key : `${at.path}.${key}`,
})

/** @throws InvalidArgument `invalid <doc>: <path>: <problem>` (or without the path at the root). */
export function shapeError(at: At, problem: string, cause?: unknown): never {
  const where = at.path === '' ? '' : `${at.path}: `
  throw new InvalidArgument(`invalid ${at.doc}: ${where}${problem}`, cause === undefined ? undefined : {cause})
}

export function describeType(v: unknown): string {
  if (v === null || v === undefined) return String(v)
  if (Array.isArray(v)) return 'an array'
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`
}

export type JsonObject = Record<string, unknown>

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function expectObject(v: unknown, at: At): JsonObject {
  if (!isObject(v)) shapeError(at, `expected an object, got ${describeType(v)}`)
  return v
}

export function expectString(v: unknown, at: At): string {
  if (typeof v !== 'string') shapeError(at, `expected a string, got ${describeType(v)}`)
  return v
}

export function expectArray(v: unknown, at: At): unknown[] {
  if (!Array.isArray(v)) shapeError(at, `expected an array, got ${describeType(v)}`)
  return v
}

/** Checks each listed optional field of `obj` when present (null counts as absent only where `nullable`). */
export function optionalField<T>(obj: JsonObject, key: string, at: At, check: (v: unknown, at: At) => T, nullable = false): void {
  if (!Object.hasOwn(obj, key)) return
  const v = obj[key]
  if (v === undefined || (nullable && v === null)) return
  check(v, child(at, key))
}

export function expectStringArray(v: unknown, at: At): string[] {
  const arr = expectArray(v, at)
  arr.forEach((s, i) => expectString(s, child(at, i)))
  return arr as string[]
}

export function expectStringMap(v: unknown, at: At): Record<string, string> {
  const obj = expectObject(v, at)
  for (const [k, s] of Object.entries(obj)) expectString(s, child(at, k))
  return obj as Record<string, string>
}

/** Parse JSON bytes into an object. @throws InvalidArgument for bytes that are not a JSON object. */
export function parseJsonObject(bytes: Uint8Array | string, doc: string): JsonObject {
  let value: unknown
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch (cause) {
    shapeError({doc, path: ''}, `not valid JSON: ${(cause as Error).message}`, cause)
  }
  return expectObject(value, {doc, path: ''})
}
