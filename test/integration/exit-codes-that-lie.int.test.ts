// Regression: exit codes that lied. A corrupt, foreign or emptied meta.db exited 1 (or started a
// new store that GC would then empty); a store without permission or on a read-only mount exited
// 1; `images rm` of a missing image printed a `ctr:` error line with exit 0. Through the built CLI.
import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {createRequire} from 'node:module'
import {CTR_BIN, sandbox, type Sandbox} from '../helpers/cli.js'

/** Root is needed for a bind mount and to act as another user; CI runs as root and never skips. */
const asRoot = process.env['CI'] || process.getuid?.() === 0 ? undefined : 'needs root'

describe('exit codes that lied', () => {
  let sb: Sandbox
  before(() => {
    sb = sandbox()
    sb.ok(['namespaces', 'create', 'kept'])
  })
  after(() => sb.cleanup())

  test('a 0-byte meta.db beside existing blobs is refused (8), not a new store; the blobs stay', () => {
    const s = sandbox()
    try {
      const blobs = join(s.root, 'content', 'blobs', 'sha256')
      mkdirSync(blobs, {recursive: true})
      writeFileSync(join(blobs, 'a'.repeat(64)), 'precious')
      writeFileSync(join(s.root, 'meta.db'), '')
      const r = s.run(['images', 'ls'])
      assert.equal(r.code, 8, r.stderr)
      assert.match(r.stderr, /^ctr: metadata store ".*meta\.db" is empty, but .* holds 1 entries: the database was lost or truncated; restore it from a backup/)
      assert.equal(s.run(['gc']).code, 8)
      assert.deepEqual(readdirSync(blobs), ['a'.repeat(64)])
    } finally {
      s.cleanup()
    }
  })

  test('a corrupt meta.db is data loss (8), naming the file and what to do', () => {
    const s = sandbox()
    try {
      mkdirSync(s.root, {recursive: true})
      writeFileSync(join(s.root, 'meta.db'), Buffer.alloc(8192, 0x5a))
      const r = s.run(['namespaces', 'ls'])
      assert.equal(r.code, 8, r.stderr)
      assert.match(
        r.stderr,
        /^ctr: metadata store ".*meta\.db" is damaged \(file is not a database\): restore it from a backup, or move it away to start an empty store\n$/,
      )
    } finally {
      s.cleanup()
    }
  })

  test('a foreign SQLite database is refused (8) and left unchanged', () => {
    const s = sandbox()
    try {
      mkdirSync(s.root, {recursive: true})
      const db = join(s.root, 'meta.db')
      execFileSync(process.execPath, [
        '-e',
        `const D=require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))}); const d=new D(${JSON.stringify(db)}); ` +
          `d.exec('CREATE TABLE notes (t TEXT)'); d.close()`,
      ])
      const r = s.run(['namespaces', 'ls'])
      assert.equal(r.code, 8, r.stderr)
      assert.match(r.stderr, /SQLite database of another program/)
    } finally {
      s.cleanup()
    }
  })

  test('a read-only store is permission denied (7) for a write', {skip: asRoot}, () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-ro-'))
    const ro = join(dir, 'ro')
    mkdirSync(ro)
    try {
      execFileSync('mount', ['--bind', sb.root, ro])
      try {
        execFileSync('mount', ['-o', 'remount,ro,bind', ro])
        const r = spawnSync(CTR_BIN, ['namespaces', 'create', 'nope'], {env: {...sb.env, BERTH_ROOT: ro}, encoding: 'utf8'})
        assert.equal(r.status, 7, r.stderr)
        assert.match(r.stderr, /^ctr: metadata store ".*meta\.db": .*\(the store is on a read-only file system, or this user may not write it\)\n$/)
      } finally {
        execFileSync('umount', [ro])
      }
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  test('a store ctr may not write is permission denied (7): an immutable root (EPERM even for root)', {skip: asRoot}, () => {
    // Running ctr as another user would need the checkout to be readable by that user, which a
    // CI clone need not be; an immutable directory refuses root itself.
    const dir = mkdtempSync(join(tmpdir(), 'berth-perm-'))
    const root = join(dir, 'root')
    mkdirSync(root, {mode: 0o700})
    execFileSync('chattr', ['+i', root])
    try {
      const r = spawnSync(CTR_BIN, ['namespaces', 'create', 'nope'], {env: {...sb.env, BERTH_ROOT: root, BERTH_STATE: join(dir, 'state')}, encoding: 'utf8'})
      assert.equal(r.status, 7, r.stderr)
      assert.match(r.stderr, /^ctr: cannot create ".*meta\.db": EPERM: operation not permitted/)
    } finally {
      execFileSync('chattr', ['-i', root])
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
