// reportError: one `ctr:` line and an exit code from the one errno table, for errors no library
// wrapped; a raw JavaScript error never reaches the user as its class name.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {reportError} from '../../../src/cli/base-command.js'

function report(err: unknown): {stderr: string; code: number | string | undefined} {
  const write = process.stderr.write
  const saved = process.exitCode
  let stderr = ''
  process.stderr.write = (chunk: string) => ((stderr += chunk), true)
  try {
    reportError(err, false)
    return {stderr, code: process.exitCode}
  } finally {
    process.stderr.write = write
    process.exitCode = saved
  }
}

const errno = (code: string, message: string) => Object.assign(new Error(message), {code})

test('errno and SQLite codes map through one table', () => {
  const table: Array<[Error, number]> = [
    [errno('ENOSPC', 'ENOSPC: no space left on device, write'), 6],
    [errno('SQLITE_FULL', 'database or disk is full'), 6],
    [errno('EACCES', 'EACCES: permission denied, open'), 7],
    [errno('EROFS', 'EROFS: read-only file system, open'), 7],
    [errno('SQLITE_CORRUPT', 'database disk image is malformed'), 8],
    [errno('EIO', 'EIO: i/o error, read'), 8],
    [errno('ENAMETOOLONG', 'ENAMETOOLONG: name too long'), 2],
  ]
  for (const [err, code] of table) {
    const r = report(err)
    assert.equal(r.code, code, err.message)
    assert.equal(r.stderr, `ctr: ${err.message}\n`)
  }
})

test('a TypeError or RangeError is an internal error, without its class name', () => {
  for (const err of [new TypeError("Cannot read properties of undefined (reading 'x')"), new RangeError('Maximum call stack size exceeded')]) {
    const r = report(err)
    assert.equal(r.code, 1)
    assert.equal(r.stderr, `ctr: internal error: ${err.message} (run with --debug for the details)\n`)
  }
})
