// Typed errors shared by every layer. The kind, never the message text, decides the exit code.
// Messages read like containerd's: `<object> "<id>": <what>` and the class text is appended by
// `describe()` the way errdefs wraps (`...: failed precondition`).

/** Error classes, mirroring containerd's errdefs vocabulary. */
export type ErrorKind =
  | 'invalid argument'
  | 'not found'
  | 'already exists'
  | 'failed precondition'
  | 'conflict'
  | 'unavailable'
  | 'permission denied'
  | 'data loss'
  | 'not implemented'
  | 'internal'

const BRAND = Symbol.for('berth.error')

/** Base class of every error Berth raises on purpose. */
export class BerthError extends Error {
  readonly [BRAND] = true
  readonly kind: ErrorKind = 'internal'
  /** When true, `describe()` appends `: <kind>` as containerd's errdefs wrapping does. */
  readonly suffixKind: boolean

  constructor(message: string, options?: {cause?: unknown; suffixKind?: boolean}) {
    super(message, options?.cause === undefined ? undefined : {cause: options.cause})
    this.suffixKind = options?.suffixKind ?? false
  }
}

export class InvalidArgument extends BerthError {
  override readonly kind = 'invalid argument'
}
export class NotFound extends BerthError {
  override readonly kind = 'not found'
}
export class AlreadyExists extends BerthError {
  override readonly kind = 'already exists'
}
export class FailedPrecondition extends BerthError {
  override readonly kind = 'failed precondition'
}
export class Conflict extends BerthError {
  override readonly kind = 'conflict'
}
export class Unavailable extends BerthError {
  override readonly kind = 'unavailable'
}
export class PermissionDenied extends BerthError {
  override readonly kind = 'permission denied'
}
export class DataLoss extends BerthError {
  override readonly kind = 'data loss'
}
export class NotImplemented extends BerthError {
  override readonly kind = 'not implemented'
}
export class Internal extends BerthError {
  override readonly kind = 'internal'
}

/**
 * Gives error classes their names (`err.name`, shown by `--debug` and in stack traces) by hand:
 * the bundles are minified without esbuild's keepNames, whose wrapper around every function and
 * class cost about 2 ms of each command's start-up, so a class's own name is not its source name.
 */
export function nameErrorClasses(classes: Record<string, abstract new (...args: never[]) => Error>): void {
  for (const [name, cls] of Object.entries(classes)) Object.defineProperty(cls.prototype, 'name', {value: name, writable: true, configurable: true})
}

nameErrorClasses({
  BerthError,
  InvalidArgument,
  NotFound,
  AlreadyExists,
  FailedPrecondition,
  Conflict,
  Unavailable,
  PermissionDenied,
  DataLoss,
  NotImplemented,
  Internal,
})

/** True for any error raised through this module, across bundle copies (branded, not instanceof). */
export function isBerthError(err: unknown): err is BerthError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true
}

/** The kind of any thrown value; foreign errors are `internal`. */
export function errorKind(err: unknown): ErrorKind {
  return isBerthError(err) ? err.kind : 'internal'
}

export const isNotFound = (err: unknown): boolean => errorKind(err) === 'not found'
export const isAlreadyExists = (err: unknown): boolean => errorKind(err) === 'already exists'
export const isInvalidArgument = (err: unknown): boolean => errorKind(err) === 'invalid argument'

/** The one-line text of an error as the user sees it (without the `ctr: ` prefix). */
export function describe(err: unknown): string {
  if (isBerthError(err)) return err.suffixKind ? `${err.message}: ${err.kind}` : err.message
  if (err instanceof Error) return err.message
  return String(err)
}

/** The cause chain, outermost first, for `--debug`. */
export function causeChain(err: unknown): string[] {
  const lines: string[] = []
  const seen = new Set<unknown>()
  let current: unknown = err
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current)
    if (current instanceof Error) {
      lines.push(`${current.name}: ${current.message}`)
      current = (current as {cause?: unknown}).cause
    } else {
      lines.push(String(current))
      break
    }
  }
  return lines
}

/**
 * Prefix an error with context while keeping its kind, the way Go's `fmt.Errorf("...: %w", err)`
 * does: `withContext(err, 'unable to delete foo')` reads `unable to delete foo: <err>`.
 */
export function withContext(err: unknown, prefix: string): BerthError {
  return errorOfKind(errorKind(err), `${prefix}: ${describe(err)}`, {cause: err})
}

/** A new error of the class for `kind` (e.g. rebuilding one that crossed a thread boundary). */
export function errorOfKind(kind: ErrorKind, message: string, options?: {cause?: unknown}): BerthError {
  return new KIND_CLASSES[kind](message, options)
}

const KIND_CLASSES: Record<ErrorKind, new (message: string, options?: {cause?: unknown; suffixKind?: boolean}) => BerthError> = {
  'invalid argument': InvalidArgument,
  'not found': NotFound,
  'already exists': AlreadyExists,
  'failed precondition': FailedPrecondition,
  conflict: Conflict,
  unavailable: Unavailable,
  'permission denied': PermissionDenied,
  'data loss': DataLoss,
  'not implemented': NotImplemented,
  internal: Internal,
}
