// reportError: one `ctr:` line and an exit code from the one errno table, for errors no library
// wrapped; a raw JavaScript error never reaches the user as its class name. The line goes to fd 2
// with writeSync (not through process.stderr), so each case runs in a child whose real stderr is read.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {test} from 'node:test'
import {fileURLToPath} from 'node:url'

const baseCommand = fileURLToPath(new URL('../../../src/cli/base-command.js', import.meta.url))

interface Case {
  kind: 'Error' | 'TypeError' | 'RangeError'
  message: string
  code?: string
}

const child = `
const [kind, message, code] = JSON.parse(process.argv[1])
const {reportError} = await import(process.argv[2])
const err = new globalThis[kind](message)
if (code !== undefined) err.code = code
reportError(err, false)
`

function report(c: Case): {stderr: string; stdout: string; code: number | null} {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child, JSON.stringify([c.kind, c.message, c.code]), baseCommand], {
    encoding: 'utf8',
  })
  return {stderr: r.stderr, stdout: r.stdout, code: r.status}
}

test('errno and SQLite codes map through one table', () => {
  const table: Array<[Case, number]> = [
    [{kind: 'Error', code: 'ENOSPC', message: 'ENOSPC: no space left on device, write'}, 6],
    [{kind: 'Error', code: 'SQLITE_FULL', message: 'database or disk is full'}, 6],
    [{kind: 'Error', code: 'EACCES', message: 'EACCES: permission denied, open'}, 7],
    [{kind: 'Error', code: 'EROFS', message: 'EROFS: read-only file system, open'}, 7],
    [{kind: 'Error', code: 'SQLITE_CORRUPT', message: 'database disk image is malformed'}, 8],
    [{kind: 'Error', code: 'EIO', message: 'EIO: i/o error, read'}, 8],
    [{kind: 'Error', code: 'ENAMETOOLONG', message: 'ENAMETOOLONG: name too long'}, 2],
  ]
  for (const [c, code] of table) {
    const r = report(c)
    assert.equal(r.code, code, c.message)
    assert.equal(r.stderr, `ctr: ${c.message}\n`)
    assert.equal(r.stdout, '')
  }
})

test('a TypeError or RangeError is an internal error, without its class name', () => {
  const cases: Case[] = [
    {kind: 'TypeError', message: "Cannot read properties of undefined (reading 'x')"},
    {kind: 'RangeError', message: 'Maximum call stack size exceeded'},
  ]
  for (const c of cases) {
    const r = report(c)
    assert.equal(r.code, 1)
    assert.equal(r.stderr, `ctr: internal error: ${c.message} (run with --debug for the details)\n`)
  }
})
