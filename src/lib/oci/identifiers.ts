// containerd's identifier rule, shared by namespaces, container ids, lease ids and topic parts.
import {InvalidArgument} from '../errors/index.js'

const MAX_LENGTH = 76
const PATTERN = /^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$/
const PATTERN_TEXT = '^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$'

/**
 * Validate a user-chosen name with containerd's rule (pkg/identifiers).
 * @throws InvalidArgument with containerd's exact wording.
 */
export function validateIdentifier(s: string): void {
  if (s === '') throw new InvalidArgument('identifier must not be empty', {suffixKind: true})
  if (s.length > MAX_LENGTH) {
    throw new InvalidArgument(`identifier ${JSON.stringify(s)} greater than maximum length (${MAX_LENGTH} characters)`, {suffixKind: true})
  }
  if (!PATTERN.test(s)) throw new InvalidArgument(`identifier ${JSON.stringify(s)} must match ${PATTERN_TEXT}`, {suffixKind: true})
}
