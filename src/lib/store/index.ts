// The store: one open metadata database plus the sub-stores commands use. Opened lazily by the
// CLI, closed when the command ends.
import type {Database} from 'better-sqlite3'
import type {BerthConfig} from '../config/index.js'
import {openDatabase, ensureDir} from './database.js'
import type {Retention} from './event-log.js'
import {NamespaceStore} from './namespaces.js'
import {SCHEMA_VERSION} from './migrations.js'

export {SCHEMA_VERSION} from './migrations.js'
export {defaultRoot, defaultState} from './paths.js'
export {BUSY_TIMEOUT_MS} from './database.js'
export type {NamespaceRecord} from './namespaces.js'
export type {EventRecord, EventQuery, Retention} from './event-log.js'
export {acquireLock, type Lock} from './locks.js'
export {NAMESPACE_OWNERS, tableOwner, type NamespaceOwner} from './owners.js'

/** Where a store lives and how it is configured. */
export interface StoreOptions {
  readonly root: string
  readonly state: string
  readonly config: BerthConfig
}

/** An open store. Close it when done; it holds an SQLite connection. */
export interface Store {
  readonly root: string
  readonly state: string
  readonly config: BerthConfig
  readonly db: Database
  readonly namespaces: NamespaceStore
  readonly retention: Retention
  /** Counts of stored objects by kind, for `ctr info`. */
  counts(): Record<string, number>
  close(): void
}

/**
 * Open the store at `options.root`, creating root and state directories on first use.
 * @throws PermissionDenied, Unavailable, FailedPrecondition (schema newer than this binary).
 */
export async function openStore(options: StoreOptions): Promise<Store> {
  ensureDir(options.state)
  const db = await openDatabase(options.root)
  const retention: Retention = {maxRows: options.config.eventRetentionRows, maxAgeSeconds: options.config.eventRetentionSeconds}
  return {
    ...options,
    db,
    retention,
    namespaces: new NamespaceStore(db, retention),
    counts: () => ({
      namespaces: (db.prepare('SELECT count(*) AS n FROM namespaces').get() as {n: number}).n,
      events: (db.prepare('SELECT count(*) AS n FROM events').get() as {n: number}).n,
    }),
    close: () => db.close(),
  }
}

/** The schema version stored in an open database (equals SCHEMA_VERSION once opened). */
export function storedSchemaVersion(db: Database): number {
  return (db.pragma('user_version', {simple: true}) as number) || SCHEMA_VERSION
}
export {appendEvent, iterateEvents, lastEventSeq, trimEvents, nowMicros} from './event-log.js'
