// The schema, as forward-only migrations. `PRAGMA user_version` records how many have run;
// a database newer than this binary is refused rather than guessed at.
import type {Database} from 'better-sqlite3'
import {FailedPrecondition} from '../errors/index.js'

/** One step forward. `up` runs inside the migrating transaction and must be synchronous. */
export interface Migration {
  readonly version: number
  readonly description: string
  readonly up: (db: Database) => void
}

/** Every migration, in order; version N is the N-th. Never edit a released one: add another. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'namespaces and the event log',
    up(db) {
      db.exec(`
        CREATE TABLE namespaces (
          name       TEXT PRIMARY KEY,
          labels     TEXT NOT NULL DEFAULT '{}',  -- JSON object, keys sorted
          created_at INTEGER NOT NULL,            -- unix microseconds
          updated_at INTEGER NOT NULL
        ) WITHOUT ROWID;

        -- Every mutation appends its event here in the same transaction; seq orders them.
        CREATE TABLE events (
          seq       INTEGER PRIMARY KEY AUTOINCREMENT,
          ts_us     INTEGER NOT NULL,               -- unix microseconds
          namespace TEXT NOT NULL,
          topic     TEXT NOT NULL,
          payload   TEXT NOT NULL                   -- JSON, keys in containerd's proto order
        );
        CREATE INDEX events_by_time ON events (ts_us);
      `)
    },
  },
]

/** The schema version this binary writes. */
export const SCHEMA_VERSION = MIGRATIONS.length

/**
 * Bring `db` up to the last of `migrations`, inside one immediate transaction so that concurrent
 * openers migrate exactly once. Returns the version found before migrating.
 * @throws FailedPrecondition when the database is newer than `migrations`.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const target = migrations.length
  const found = db.pragma('user_version', {simple: true}) as number
  if (found === target) return found
  if (found > target) throw newerSchema(found, target)
  return db.transaction(() => {
    // Re-read under the write lock: another process may have migrated meanwhile.
    const current = db.pragma('user_version', {simple: true}) as number
    if (current > target) throw newerSchema(current, target)
    for (const m of migrations.slice(current)) m.up(db)
    db.pragma(`user_version = ${target}`)
    return current
  }).immediate()
}

function newerSchema(found: number, supported: number): FailedPrecondition {
  return new FailedPrecondition(
    `metadata store schema version ${found} is newer than this ctr supports (${supported}); upgrade ctr`,
    {suffixKind: true},
  )
}
