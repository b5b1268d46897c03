import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {exitCodeFor} from '../../../src/cli/exit-codes.js'
import * as E from '../../../src/lib/errors/index.js'

describe('errors', () => {
  const table: Array<[E.BerthError, E.ErrorKind, number]> = [
    [new E.InvalidArgument('x'), 'invalid argument', 2],
    [new E.NotFound('x'), 'not found', 3],
    [new E.AlreadyExists('x'), 'already exists', 4],
    [new E.FailedPrecondition('x'), 'failed precondition', 5],
    [new E.Conflict('x'), 'conflict', 5],
    [new E.Unavailable('x'), 'unavailable', 6],
    [new E.PermissionDenied('x'), 'permission denied', 7],
    [new E.DataLoss('x'), 'data loss', 8],
    [new E.NotImplemented('x'), 'not implemented', 1],
    [new E.Internal('x'), 'internal', 1],
  ]
  for (const [err, kind, code] of table) {
    test(`${err.name} is ${kind} and exits ${code}`, () => {
      assert.equal(E.errorKind(err), kind)
      assert.equal(exitCodeFor(err), code)
      assert.ok(E.isBerthError(err))
    })
  }

  test('foreign errors are internal and exit 1', () => {
    assert.equal(E.errorKind(new Error('boom')), 'internal')
    assert.equal(exitCodeFor(new Error('boom')), 1)
    assert.equal(exitCodeFor('a string'), 1)
    assert.equal(exitCodeFor(null), 1)
  })

  test('oclif usage errors keep their exit code', () => {
    const err = Object.assign(new Error('Nonexistent flag: --x'), {oclif: {exit: 2}})
    assert.equal(exitCodeFor(err), 2)
  })

  test('describe appends the kind only when asked, as errdefs wrapping does', () => {
    assert.equal(E.describe(new E.AlreadyExists('namespace "foo"', {suffixKind: true})), 'namespace "foo": already exists')
    assert.equal(E.describe(new E.AlreadyExists('namespace "foo" exists')), 'namespace "foo" exists')
    assert.equal(E.describe(new Error('plain')), 'plain')
  })

  test('withContext keeps the kind and prefixes the text', () => {
    const inner = new E.FailedPrecondition('namespace "a" must be empty, but it still has images', {suffixKind: true})
    const outer = E.withContext(inner, 'unable to delete a')
    assert.equal(outer.kind, 'failed precondition')
    assert.equal(E.describe(outer), 'unable to delete a: namespace "a" must be empty, but it still has images: failed precondition')
    assert.equal(exitCodeFor(outer), 5)
    assert.equal(outer.cause, inner)
  })

  test('the cause chain lists every level once', () => {
    const root = new Error('disk full')
    const mid = new E.Unavailable('cannot write', {cause: root})
    const top = E.withContext(mid, 'pull failed')
    assert.deepEqual(E.causeChain(top), ['Unavailable: pull failed: cannot write', 'Unavailable: cannot write', 'Error: disk full'])
  })
})
