// The schema, as forward-only migrations. `PRAGMA user_version` records how many have run;
// a database newer than this binary is refused rather than guessed at.
import type {Database} from 'better-sqlite3'
import {DataLoss, FailedPrecondition} from '../errors/index.js'
import {SCHEMA_VERSION} from './schema-version.js'

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
  {
    version: 2,
    description: 'content, images and leases',
    up(db) {
      db.exec(`
        -- Blob bytes present under content/blobs/<alg>/<hex>: one row per file, for every
        -- namespace. Inserted only after the file was fsynced and renamed into place; deleted by
        -- GC (under the digest's lock) before the file is unlinked.
        CREATE TABLE blobs (
          digest     TEXT PRIMARY KEY,
          size       INTEGER NOT NULL,
          created_at INTEGER NOT NULL               -- unix microseconds
        ) WITHOUT ROWID;

        -- Per-namespace visibility of a blob, with that namespace's own labels.
        CREATE TABLE content (
          namespace  TEXT NOT NULL REFERENCES namespaces (name),
          digest     TEXT NOT NULL REFERENCES blobs (digest),
          size       INTEGER NOT NULL,
          labels     TEXT NOT NULL DEFAULT '{}',    -- JSON object, keys sorted
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (namespace, digest)
        ) WITHOUT ROWID;
        CREATE INDEX content_by_digest ON content (digest);

        CREATE TABLE images (
          namespace          TEXT NOT NULL REFERENCES namespaces (name),
          name               TEXT NOT NULL,
          target_media_type  TEXT NOT NULL,
          target_digest      TEXT NOT NULL,
          target_size        INTEGER NOT NULL,
          target_annotations TEXT,                  -- JSON object or NULL
          labels             TEXT NOT NULL DEFAULT '{}',
          created_at         INTEGER NOT NULL,
          updated_at         INTEGER NOT NULL,
          PRIMARY KEY (namespace, name)
        ) WITHOUT ROWID;

        -- Leases are not namespace owners: they are dropped with their namespace.
        CREATE TABLE leases (
          namespace  TEXT NOT NULL REFERENCES namespaces (name),
          id         TEXT NOT NULL,
          labels     TEXT NOT NULL DEFAULT '{}',
          created_at INTEGER NOT NULL,
          expires_at INTEGER,                       -- unix microseconds; NULL never expires
          PRIMARY KEY (namespace, id)
        ) WITHOUT ROWID;

        CREATE TABLE lease_resources (
          namespace TEXT NOT NULL,
          lease_id  TEXT NOT NULL,
          kind      TEXT NOT NULL CHECK (kind IN ('content', 'snapshot', 'ingest')),
          ref       TEXT NOT NULL,                  -- digest, snapshot key or ingest ref
          PRIMARY KEY (namespace, lease_id, kind, ref),
          FOREIGN KEY (namespace, lease_id) REFERENCES leases (namespace, id) ON DELETE CASCADE
        ) WITHOUT ROWID;
      `)
    },
  },
  {
    version: 3,
    description: 'snapshots',
    up(db) {
      db.exec(`
        -- A snapshot directory under snapshots/<snapshotter>/<id>/. Committed directories made by
        -- unpack carry their chain ID and are shared by every namespace the sharing policy lets
        -- record them; active and view directories belong to exactly one snapshot record. A row
        -- exists only once its directory is complete; GC deletes the row before the directory.
        CREATE TABLE snapshot_dirs (
          snapshotter TEXT NOT NULL,
          id          TEXT NOT NULL,                -- directory name; also its l/<id> link name
          kind        TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
          parent      TEXT,                         -- the parent directory's id (same snapshotter)
          chain_id    TEXT,                         -- verified chain ID of an unpacked layer, else NULL
          created_at  INTEGER NOT NULL,
          PRIMARY KEY (snapshotter, id)
        ) WITHOUT ROWID;
        CREATE INDEX snapshot_dirs_by_chain ON snapshot_dirs (snapshotter, chain_id) WHERE chain_id IS NOT NULL;
        CREATE INDEX snapshot_dirs_by_parent ON snapshot_dirs (snapshotter, parent);

        -- A namespace's snapshot: its key (a chain ID for unpacked layers) names a directory.
        -- The record's parent is a key in the same namespace; what a mount stacks is the
        -- directory chain, which always holds the same layers.
        CREATE TABLE snapshots (
          namespace   TEXT NOT NULL REFERENCES namespaces (name),
          snapshotter TEXT NOT NULL,
          key         TEXT NOT NULL,
          parent      TEXT,
          dir         TEXT NOT NULL,
          labels      TEXT NOT NULL DEFAULT '{}',
          created_at  INTEGER NOT NULL,
          updated_at  INTEGER NOT NULL,
          PRIMARY KEY (namespace, snapshotter, key),
          FOREIGN KEY (snapshotter, dir) REFERENCES snapshot_dirs (snapshotter, id)
        ) WITHOUT ROWID;
        CREATE INDEX snapshots_by_dir ON snapshots (snapshotter, dir);
        CREATE INDEX snapshots_by_parent ON snapshots (namespace, snapshotter, parent);
      `)
    },
  },
  {
    version: 4,
    description: 'containers',
    up(db) {
      db.exec(`
        -- A container is metadata; its runtime spec template lives in containers/<ns>/<id>/ and is
        -- written before the row. Its snapshot (snapshotter, snapshot_key) is a GC root.
        CREATE TABLE containers (
          namespace       TEXT NOT NULL REFERENCES namespaces (name),
          id              TEXT NOT NULL,
          image           TEXT NOT NULL DEFAULT '',
          runtime_name    TEXT NOT NULL,
          runtime_options TEXT,                     -- JSON or NULL
          snapshotter     TEXT,
          snapshot_key    TEXT,
          labels          TEXT NOT NULL DEFAULT '{}',
          created_at      INTEGER NOT NULL,
          updated_at      INTEGER NOT NULL,
          PRIMARY KEY (namespace, id)
        ) WITHOUT ROWID;
      `)
    },
  },
  {
    version: 5,
    description: 'tasks',
    up(db) {
      db.exec(`
        -- A task: the running instance of a container, one per container. Its volatile files
        -- (bundle, rootfs mountpoint, pid and exit files, log) live in <state>/tasks/<ns>/<id>/.
        -- The row records the last known state; commands reconcile it with the exit files and
        -- /proc. boot_id tells a task of an earlier boot (its processes are gone).
        CREATE TABLE tasks (
          namespace    TEXT NOT NULL REFERENCES namespaces (name),
          container_id TEXT NOT NULL,
          instance     TEXT NOT NULL,              -- random; names this run of the task
          status       TEXT NOT NULL CHECK (status IN ('created', 'running', 'paused', 'stopped')),
          pid          INTEGER NOT NULL DEFAULT 0,
          pid_start    INTEGER,                    -- /proc/<pid>/stat start time: guards pid reuse
          monitor      TEXT NOT NULL CHECK (monitor IN ('conmon', 'client')),
          monitor_pid  INTEGER NOT NULL DEFAULT 0,
          boot_id      TEXT NOT NULL,
          terminal     INTEGER NOT NULL DEFAULT 0,
          exit_status  INTEGER,
          exited_at    INTEGER,                    -- unix microseconds
          exit_known   INTEGER NOT NULL DEFAULT 1, -- 0: the process vanished without a record
          oom          INTEGER NOT NULL DEFAULT 0,
          created_at   INTEGER NOT NULL,
          updated_at   INTEGER NOT NULL,
          PRIMARY KEY (namespace, container_id),
          FOREIGN KEY (namespace, container_id) REFERENCES containers (namespace, id)
        ) WITHOUT ROWID;

        -- Extra processes started in a task with \`tasks exec\`; exec ids are unique per task.
        CREATE TABLE task_execs (
          namespace    TEXT NOT NULL,
          container_id TEXT NOT NULL,
          exec_id      TEXT NOT NULL,
          status       TEXT NOT NULL CHECK (status IN ('created', 'running', 'stopped')),
          pid          INTEGER NOT NULL DEFAULT 0,
          pid_start    INTEGER,
          exit_status  INTEGER,
          exited_at    INTEGER,
          created_at   INTEGER NOT NULL,
          PRIMARY KEY (namespace, container_id, exec_id),
          FOREIGN KEY (namespace, container_id) REFERENCES tasks (namespace, container_id) ON DELETE CASCADE
        ) WITHOUT ROWID;
      `)
    },
  },
  {
    version: 6,
    description: 'pods, container metadata and network attachments',
    up(db) {
      db.exec(`
        -- A pod (seed 004): a record plus Linux namespaces pinned at files under
        -- <state>/pods/<ns>/<id>/ while it is up. Pod ids and container ids are disjoint; names
        -- are unique per namespace.
        CREATE TABLE pods (
          namespace     TEXT NOT NULL REFERENCES namespaces (name),
          id            TEXT NOT NULL,
          name          TEXT NOT NULL,
          hostname      TEXT NOT NULL DEFAULT '',
          labels        TEXT NOT NULL DEFAULT '{}',
          share         TEXT NOT NULL,             -- JSON array of 'net', 'ipc', 'uts'
          network       TEXT NOT NULL,             -- JSON {mode, networks, ports}
          k8s_namespace TEXT NOT NULL DEFAULT '',
          uid           TEXT NOT NULL DEFAULT '',
          attempt       INTEGER NOT NULL DEFAULT 0,
          created_at    INTEGER NOT NULL,
          updated_at    INTEGER NOT NULL,
          PRIMARY KEY (namespace, id),
          UNIQUE (namespace, name)
        ) WITHOUT ROWID;

        -- What a container record lacks: its pod, its networks and the seed's metadata. Goes with
        -- the container (cascade).
        CREATE TABLE container_meta (
          namespace TEXT NOT NULL,
          id        TEXT NOT NULL,
          pod_id    TEXT,
          network   TEXT NOT NULL DEFAULT '{}',    -- JSON {mode, networks, ports}
          metadata  TEXT NOT NULL DEFAULT '{}',    -- JSON, seed 004's RuntimeContainerMetadata
          PRIMARY KEY (namespace, id),
          FOREIGN KEY (namespace, id) REFERENCES containers (namespace, id) ON DELETE CASCADE,
          FOREIGN KEY (namespace, pod_id) REFERENCES pods (namespace, id)
        ) WITHOUT ROWID;
        CREATE INDEX container_meta_by_pod ON container_meta (namespace, pod_id) WHERE pod_id IS NOT NULL;

        -- One CNI attachment of a pinned network namespace. Inserted before CNI ADD (so a killed
        -- ctr leaves a row GC can DEL), completed with ADD's result, deleted after DEL. Volatile
        -- like the pins: rows of another boot are dropped.
        CREATE TABLE net_attachments (
          cni_id     TEXT NOT NULL,               -- CNI_CONTAINERID
          network    TEXT NOT NULL,
          namespace  TEXT NOT NULL,
          owner_kind TEXT NOT NULL CHECK (owner_kind IN ('container', 'pod')),
          owner_id   TEXT NOT NULL,
          ifname     TEXT NOT NULL,
          netns      TEXT NOT NULL,               -- the pin
          config     TEXT NOT NULL,               -- the network config list used at ADD (JSON)
          cni_path   TEXT NOT NULL,
          ports      TEXT NOT NULL DEFAULT '[]',  -- JSON port mappings
          result     TEXT,                        -- ADD's result (JSON); NULL while adding
          boot_id    TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          PRIMARY KEY (cni_id, network)
        ) WITHOUT ROWID;
        CREATE INDEX net_attachments_by_owner ON net_attachments (namespace, owner_kind, owner_id);
      `)
    },
  },
  {
    version: 7,
    description: 'the process that owns a lease',
    up(db) {
      // The owner id (process-owner.ts) of the process a lease was made for, e.g. by a pull:
      // once that process is dead, GC deletes the lease at once. NULL: a lease made by
      // `ctr leases create`, which only its expiry ends.
      db.exec('ALTER TABLE leases ADD COLUMN owner TEXT')
    },
  },
]

export {SCHEMA_VERSION}
// The version is a constant of its own (schema-version.ts) so that opening a current store never
// loads the migrations; adding a migration without raising it is a bug caught on first load.
if (MIGRATIONS.length !== SCHEMA_VERSION) throw new Error(`SCHEMA_VERSION is ${SCHEMA_VERSION}, but there are ${MIGRATIONS.length} migrations`)

/**
 * Bring `db` up to the last of `migrations`, inside one immediate transaction so that concurrent
 * openers migrate exactly once. Returns the version found before migrating (`found`: the
 * version the caller has already read, as the store's opener does in its first statement).
 * @throws FailedPrecondition when the database is newer than `migrations`.
 */
export function migrate(db: Database, migrations: readonly Migration[] = MIGRATIONS, found = db.pragma('user_version', {simple: true}) as number): number {
  const target = migrations.length
  if (found === target) return found
  if (found > target) throw newerSchema(found, target)
  return db
    .transaction(() => {
      // Re-read under the write lock: another process may have migrated meanwhile.
      const current = db.pragma('user_version', {simple: true}) as number
      if (current > target) throw newerSchema(current, target)
      if (current === 0 && db.prepare("SELECT 1 FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' LIMIT 1").get() !== undefined) {
        // Version 0 with tables: some other program's database, not a new one. Migrating would mix our tables into it.
        throw new DataLoss(
          'metadata store is a SQLite database of another program (no Berth schema version, but it has tables): move it away or point --root elsewhere',
          {suffixKind: true},
        )
      }
      for (const m of migrations.slice(current)) m.up(db)
      db.pragma(`user_version = ${target}`)
      return current
    })
    .immediate()
}

function newerSchema(found: number, supported: number): FailedPrecondition {
  return new FailedPrecondition(`metadata store schema version ${found} is newer than this ctr supports (${supported}); upgrade ctr`, {suffixKind: true})
}
