// Opens a real store in a temporary directory for library-level tests.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {interpret} from '../../src/lib/config/index.js'
import {openStore, type Store} from '../../src/lib/store/index.js'

export interface TempStore {
  readonly dir: string
  readonly store: Store
  cleanup(): void
}

/** A fresh store under a temp dir; `config` overrides config-file keys (TOML names). */
export async function tempStore(config: Record<string, unknown> = {}): Promise<TempStore> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-store-'))
  const store = await openStore({root: join(dir, 'root'), state: join(dir, 'state'), config: {source: undefined, ...interpret(config)}})
  return {
    dir,
    store,
    cleanup() {
      store.close()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

/** Events as [namespace, topic, payload] triples, in order. */
export function eventTriples(store: Store): Array<[string, string, unknown]> {
  return (store.db.prepare('SELECT namespace, topic, payload FROM events ORDER BY seq').all() as Array<{namespace: string; topic: string; payload: string}>).map(
    (r) => [r.namespace, r.topic, JSON.parse(r.payload)],
  )
}
