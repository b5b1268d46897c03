import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import SQLite from 'better-sqlite3'
import {describe as text, errorKind} from '../../../../src/lib/errors/index.js'
import {type Migration, migrate, MIGRATIONS, SCHEMA_VERSION} from '../../../../src/lib/store/migrations.js'
import {openDatabase} from '../../../../src/lib/store/database.js'

const dir = mkdtempSync(join(tmpdir(), 'berth-migrations-'))
after(() => rmSync(dir, {recursive: true, force: true}))

const steps: Migration[] = [
  {version: 1, description: 'a', up: (db) => db.exec('CREATE TABLE a (x INTEGER)')},
  {version: 2, description: 'b', up: (db) => db.exec("ALTER TABLE a ADD COLUMN y TEXT DEFAULT 'new'")},
  {version: 3, description: 'c', up: (db) => db.exec('CREATE TABLE c (z INTEGER)')},
]

describe('migrations', () => {
  test('the real list is numbered 1..N with no gaps', () => {
    assert.deepEqual(
      MIGRATIONS.map((m) => m.version),
      Array.from({length: SCHEMA_VERSION}, (_, i) => i + 1),
    )
  })

  test('a new database runs every step; a second run does nothing', () => {
    const db = new SQLite(join(dir, 'fresh.db'))
    assert.equal(migrate(db, steps), 0)
    assert.equal(db.pragma('user_version', {simple: true}), 3)
    assert.equal(migrate(db, steps), 3)
    db.close()
  })

  test('an older database is migrated forward and keeps its data', () => {
    const db = new SQLite(join(dir, 'old.db'))
    migrate(db, steps.slice(0, 1))
    db.prepare('INSERT INTO a (x) VALUES (7)').run()
    assert.equal(migrate(db, steps), 1)
    assert.deepEqual(db.prepare('SELECT x, y FROM a').all(), [{x: 7, y: 'new'}])
    db.close()
  })

  test('a failing step rolls the whole migration back', () => {
    const db = new SQLite(join(dir, 'failing.db'))
    migrate(db, steps.slice(0, 1))
    const broken = [...steps.slice(0, 2), {version: 3, description: 'bad', up: () => void db.exec('CREATE TABLE nope (')}]
    assert.throws(() => migrate(db, broken))
    assert.equal(db.pragma('user_version', {simple: true}), 1)
    assert.deepEqual(db.prepare("SELECT name FROM pragma_table_info('a')").all(), [{name: 'x'}])
    db.close()
  })

  test('a database newer than the binary is refused and left untouched', async () => {
    const root = join(dir, 'newer')
    const db = await openDatabase(root)
    db.pragma(`user_version = ${SCHEMA_VERSION + 5}`)
    db.close()
    await assert.rejects(openDatabase(root), (err) => {
      return (
        errorKind(err) === 'failed precondition' &&
        text(err) ===
          `metadata store schema version ${SCHEMA_VERSION + 5} is newer than this ctr supports (${SCHEMA_VERSION}); upgrade ctr: failed precondition`
      )
    })
    const check = new SQLite(join(root, 'meta.db'))
    assert.equal(check.pragma('user_version', {simple: true}), SCHEMA_VERSION + 5)
    check.close()
  })
})
