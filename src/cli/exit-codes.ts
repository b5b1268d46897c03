// The one table from error kind to exit code (DESIGN §9). Never derive a code from message text.
import {errorKind, type ErrorKind} from '../lib/errors/index.js'
import {execFailureReason} from '../lib/runtime/exec-failure.js'

const EXIT_CODES: Record<ErrorKind, number> = {
  'invalid argument': 2,
  'not found': 3,
  'already exists': 4,
  'failed precondition': 5,
  conflict: 5,
  unavailable: 6,
  'permission denied': 7,
  'data loss': 8,
  'not implemented': 1,
  internal: 1,
}

/** The process exit code for a thrown value. oclif's own usage errors map to 2. */
export function exitCodeFor(err: unknown): number {
  const oclifExit = (err as {oclif?: {exit?: unknown}} | null)?.oclif?.exit
  if (typeof oclifExit === 'number' && errorKind(err) === 'internal') return oclifExit
  return EXIT_CODES[errorKind(err)]
}

/**
 * The status of a foreground task whose process could not be executed, as podman and docker say
 * it: 127 when its command was not found, 126 when it cannot be executed (a directory, no execute
 * permission); undefined for any other error.
 */
export function execFailureStatus(err: unknown): 126 | 127 | undefined {
  const reason = execFailureReason(err)
  return reason === 'not found' ? 127 : reason === 'cannot invoke' ? 126 : undefined
}

/** `ctr run`'s status when its process did not run: 126/127 as above, else 125 (ctr itself failed). */
export function runFailureStatus(err: unknown): number {
  return execFailureStatus(err) ?? 125
}
