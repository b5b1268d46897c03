// ensureDir and ensureTopDir: the modes of root, state and what Berth makes in them, whatever the
// umask, and the one-time tightening of a store an older Berth made with 0711 directories.
import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, afterEach, before, beforeEach, describe, test} from 'node:test'
import {openDatabase} from '../../../../src/lib/store/database.js'
import {ensureDir, ensureTopDir} from '../../../../src/lib/store/dirs.js'

const modeOf = (path: string) => statSync(path).mode & 0o7777

describe('store directories', () => {
  let dir: string
  let umask: number
  before(() => (dir = mkdtempSync(join(tmpdir(), 'berth-dirs-'))))
  after(() => rmSync(dir, {recursive: true, force: true}))
  // The widest umask: nothing may come out wider than asked for.
  beforeEach(() => (umask = process.umask(0o000)))
  afterEach(() => process.umask(umask))

  test('ensureDir makes missing directories 0700 by default, exactly', () => {
    ensureDir(join(dir, 'a', 'b', 'c'))
    for (const p of ['a', 'a/b', 'a/b/c']) assert.equal(modeOf(join(dir, p)), 0o700, p)
  })

  test('ensureTopDir makes the top 0700 and its missing parents 0711', () => {
    const top = join(dir, 'p1', 'p2', 'root')
    ensureTopDir(top)
    assert.equal(modeOf(top), 0o700)
    assert.equal(modeOf(join(dir, 'p1')), 0o711)
    assert.equal(modeOf(join(dir, 'p1', 'p2')), 0o711)
  })

  test('a top an older Berth made 0711 is tightened with its first-level directories, and nothing else', () => {
    const top = join(dir, 'old')
    for (const d of ['', 'content', 'content/blobs', 'snapshots', 'locks']) mkdirSync(join(top, d), {recursive: true, mode: 0o711})
    for (const d of ['', 'content', 'content/blobs', 'snapshots', 'locks']) chmodSync(join(top, d), 0o711)
    writeFileSync(join(top, 'meta.db'), '', {mode: 0o600})
    mkdirSync(join(dir, 'elsewhere'), {mode: 0o755})
    symlinkSync(join(dir, 'elsewhere'), join(top, 'link'))
    ensureTopDir(top)
    for (const d of ['', 'content', 'snapshots', 'locks']) assert.equal(modeOf(join(top, d)), 0o700, d || 'top')
    assert.equal(modeOf(join(top, 'content', 'blobs')), 0o711, 'below the first level: covered by it, left alone')
    assert.equal(modeOf(join(top, 'meta.db')), 0o600)
    assert.equal(modeOf(join(dir, 'elsewhere')), 0o755, 'a symlink is not followed')
  })

  test('a top in order is left alone: the check is its mode, one stat', () => {
    const top = join(dir, 'current')
    ensureTopDir(top)
    mkdirSync(join(top, 'wide'), {mode: 0o755})
    ensureTopDir(top)
    assert.equal(modeOf(join(top, 'wide')), 0o755)
  })
})

describe('prepared statements', () => {
  let dir: string
  before(() => (dir = mkdtempSync(join(tmpdir(), 'berth-stmt-'))))
  after(() => rmSync(dir, {recursive: true, force: true}))

  test('one text is prepared once; a statement being iterated is not handed out again', async () => {
    const db = await openDatabase(join(dir, 'root'))
    try {
      const sql = 'SELECT name FROM namespaces ORDER BY name'
      assert.equal(db.prepare(sql), db.prepare(sql))
      const insert = 'INSERT INTO namespaces (name, labels, created_at, updated_at) VALUES (?, ?, 0, 0)'
      for (const name of ['a', 'b']) db.prepare(insert).run(name, '{}')
      // The same text inside its own iteration: a fresh statement, and both iterations are whole.
      const pairs: string[] = []
      for (const outer of db.prepare(sql).iterate() as IterableIterator<{name: string}>) {
        for (const inner of db.prepare(sql).iterate() as IterableIterator<{name: string}>) pairs.push(`${outer.name}${inner.name}`)
      }
      assert.deepEqual(pairs, ['aa', 'ab', 'ba', 'bb'])
    } finally {
      db.close()
    }
  })
})
