// The one table from system and SQLite error codes to Berth's error kinds, so that a full disk, a
// read-only store or a corrupt database reads and exits the same wherever it strikes.
import {type BerthError, errorKind, errorOfKind, type ErrorKind, isBerthError} from './index.js'

/** errno names (node:fs `code`) and SQLite result codes (better-sqlite3 `code`) to kinds. */
const KIND_OF_CODE: Readonly<Record<string, ErrorKind>> = {
  // the store or a file cannot be written or read by this user, or is mounted read-only
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'permission denied',
  SQLITE_READONLY: 'permission denied',
  SQLITE_READONLY_DBMOVED: 'permission denied',
  SQLITE_READONLY_DIRECTORY: 'permission denied',
  SQLITE_PERM: 'permission denied',
  SQLITE_AUTH: 'permission denied',
  SQLITE_CANTOPEN: 'permission denied', // the directory exists (ensureDir): what is left is access
  // out of a resource: free it and try again (a full disk is one kind wherever it strikes)
  ENOSPC: 'unavailable',
  EDQUOT: 'unavailable',
  EMFILE: 'unavailable',
  ENFILE: 'unavailable',
  ENOMEM: 'unavailable',
  EAGAIN: 'unavailable',
  EBUSY: 'unavailable',
  SQLITE_FULL: 'unavailable',
  SQLITE_BUSY: 'unavailable',
  SQLITE_LOCKED: 'unavailable',
  SQLITE_NOMEM: 'unavailable',
  // what is on disk is not what was written
  EIO: 'data loss',
  EBADMSG: 'data loss',
  SQLITE_CORRUPT: 'data loss',
  SQLITE_NOTADB: 'data loss',
  SQLITE_IOERR: 'data loss',
  SQLITE_IOERR_SHORT_READ: 'data loss',
  // a name or a depth the kernel refuses
  ENAMETOOLONG: 'invalid argument',
  ELOOP: 'invalid argument',
  EINVAL: 'invalid argument',
  ENOTDIR: 'invalid argument',
  EISDIR: 'invalid argument',
  ENOENT: 'not found',
  EEXIST: 'already exists',
  ENOTEMPTY: 'failed precondition',
}

/** The kind for an error code, or `internal` for a code the table does not know. */
export function kindOfCode(code: string | undefined): ErrorKind {
  if (code === undefined) return 'internal'
  return KIND_OF_CODE[code] ?? (code.startsWith('SQLITE_IOERR') ? 'data loss' : code.startsWith('SQLITE_CORRUPT') ? 'data loss' : 'internal')
}

/**
 * `err` as a Berth error whose message reads `<what>: <err's message>` (just the message without
 * `what`): a Berth error keeps its kind, a system or SQLite error gets the kind of its code from
 * the table above.
 */
export function fromSystemError(err: unknown, what?: string): BerthError {
  const message = err instanceof Error ? err.message : String(err)
  const text = what === undefined ? message : `${what}: ${message}`
  if (isBerthError(err)) return errorOfKind(errorKind(err), text, {cause: err})
  const code = (err as {code?: unknown} | null)?.code
  return errorOfKind(kindOfCode(typeof code === 'string' ? code : undefined), text, {cause: err})
}
