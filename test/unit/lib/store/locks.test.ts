import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {acquireLock} from '../../../../src/lib/store/index.js'

const root = mkdtempSync(join(tmpdir(), 'berth-locks-'))
after(() => rmSync(root, {recursive: true, force: true}))
const lockModule = new URL('../../../../src/lib/store/locks.js', import.meta.url).href

/** A child process that takes the lock, says so, and then waits to be killed. */
function holder(name: string): Promise<{kill(): Promise<void>}> {
  const code =
    `const {acquireLock} = await import(${JSON.stringify(lockModule)}); await acquireLock(${JSON.stringify(root)}, ` +
    `${JSON.stringify(name)}); console.log('held'); setInterval(() => {}, 1000)`
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {stdio: ['ignore', 'pipe', 'inherit']})
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () =>
      resolve({
        kill: () =>
          new Promise((done) => {
            child.once('exit', () => done())
            child.kill('SIGKILL')
          }),
      }),
    )
    child.once('exit', (c) => reject(new Error(`holder exited ${c}`)))
  })
}

describe('locks', () => {
  test('exclusive within a process; released by release()', async () => {
    const a = await acquireLock(root, 'one')
    await assert.rejects(acquireLock(root, 'one', {timeoutMs: 0}), (err) => errorKind(err) === 'unavailable')
    a.release()
    a.release() // idempotent
    const b = await acquireLock(root, 'one', {timeoutMs: 0})
    b.release()
  })

  test('a waiter gets the lock when the holder releases it', async () => {
    const a = await acquireLock(root, 'two')
    const waiting = acquireLock(root, 'two', {timeoutMs: 10_000})
    setTimeout(() => a.release(), 100)
    const b = await waiting
    b.release()
  })

  test('a timed wait gives up with Unavailable', async () => {
    const a = await acquireLock(root, 'three')
    await assert.rejects(acquireLock(root, 'three', {timeoutMs: 200}), (err) => errorKind(err) === 'unavailable')
    a.release()
  })

  test('a lock held by a killed process is free again', async () => {
    const h = await holder('four')
    await assert.rejects(acquireLock(root, 'four', {timeoutMs: 0}), (err) => errorKind(err) === 'unavailable')
    await h.kill()
    const b = await acquireLock(root, 'four', {timeoutMs: 2000})
    b.release()
  })

  test('shared locks coexist and exclude an exclusive one', async () => {
    const a = await acquireLock(root, 'five', {shared: true})
    const b = await acquireLock(root, 'five', {shared: true, timeoutMs: 0})
    await assert.rejects(acquireLock(root, 'five', {timeoutMs: 0}), (err) => errorKind(err) === 'unavailable')
    a.release()
    b.release()
  })

  test('bad lock names are refused', async () => {
    await assert.rejects(acquireLock(root, '../escape'), (err) => errorKind(err) === 'invalid argument')
  })
})
