// Regression (issue 14, "a full disk stays full"): ENOSPC is the same error kind wherever it
// strikes — an ingest write or the database (errors/errno.ts), an unpack (its extractor uses the
// same table) and a tree removal or any file-system step that goes through sys/tree.ts' fsError,
// which used to call it an internal error (exit 1).
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {fromSystemError, kindOfCode} from '../../../../src/lib/errors/errno.js'
import {fsError} from '../../../../src/lib/sys/tree.js'

const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC', errno: -28, syscall: 'write'})

test('ENOSPC is unavailable (exit 6) in every mapper', () => {
  assert.equal(kindOfCode('ENOSPC'), 'unavailable')
  assert.equal(kindOfCode('EDQUOT'), 'unavailable')
  assert.equal(errorKind(fromSystemError(enospc(), 'cannot write ingest "x"')), 'unavailable')
  assert.equal(errorKind(fromSystemError(Object.assign(new Error('database or disk is full'), {code: 'SQLITE_FULL'}))), 'unavailable')
  const fs = fsError(enospc(), 'unpack layer')
  assert.equal(errorKind(fs), 'unavailable')
  assert.equal(fs.message, 'unpack layer: ENOSPC: no space left on device')
})
