// containerd's plugin list, answered for Berth: one entry per part Berth really has, under
// containerd's plugin types, each with the status a check on this host and store gives. There is
// no daemon and so no plugin graph: an entry is the part of Berth that does that plugin's job
// (the metadata plugin is SQLite, not bolt; the task monitor is conmon), and its status comes
// from looking (is runc there, does an overlay mount work here), never from a fixed list.
import {hostPlatform, type Platform} from '../oci/platform.js'
import {locateProgram} from '../runtime/runtimes.js'
import {SNAPSHOTTERS} from '../snapshot/snapshotter.js'
import {openSnapshotter} from '../snapshot/snapshotters.js'
import {contentDir, metaDbPath, runcStateDir, SCHEMA_VERSION, type Store} from '../store/index.js'

/** One entry of containerd's introspection Plugins response. */
export interface PluginInfo {
  /** `io.containerd.<kind>.v1` */
  readonly type: string
  readonly id: string
  /** Other plugins' `<type>.<id>`, or `<type>.*`. */
  readonly requires: readonly string[]
  readonly platforms: readonly Platform[]
  readonly exports: Readonly<Record<string, string>>
  readonly capabilities: readonly string[]
  /** Why it cannot work here; a message ending in `skip plugin` means skipped, as containerd's ErrSkipPlugin. */
  readonly initError?: {readonly code: string; readonly message: string}
}

export type PluginStatus = 'ok' | 'skip' | 'error'

/** ctr's STATUS column: `ok`, `skip` (the plugin does not apply here) or `error`. */
export function pluginStatus(p: PluginInfo): PluginStatus {
  if (p.initError === undefined) return 'ok'
  return p.initError.message.includes('skip plugin') ? 'skip' : 'error'
}

const CONTENT = 'io.containerd.content.v1'
const SNAPSHOTTER = 'io.containerd.snapshotter.v1'
const METADATA = 'io.containerd.metadata.v1'
const EVENT = 'io.containerd.event.v1'

/** Berth's plugins, checked now, in containerd's registration order. Never throws. */
export async function listPlugins(store: Store): Promise<PluginInfo[]> {
  const host = [hostPlatform()]
  const base = {requires: [], platforms: [], exports: {}, capabilities: []}
  const skip = (why: string) => ({code: 'Unknown', message: `${why}: skip plugin`})
  const plugins: PluginInfo[] = [{...base, type: CONTENT, id: 'content', exports: {root: contentDir(store.root)}}]
  for (const name of [...SNAPSHOTTERS].sort()) {
    const snapshotter = openSnapshotter(store.root, name)
    const problem = await snapshotter.problem()
    plugins.push({
      ...base,
      type: SNAPSHOTTER,
      id: name,
      platforms: host,
      exports: {root: snapshotter.dir},
      ...(problem === undefined ? {} : {initError: skip(problem)}),
    })
  }
  plugins.push(
    {
      ...base,
      type: METADATA,
      id: 'sqlite',
      requires: [CONTENT, SNAPSHOTTER],
      exports: {path: metaDbPath(store.root), schema: String(SCHEMA_VERSION), policy: store.config.contentSharingPolicy},
    },
    {...base, type: 'io.containerd.differ.v1', id: 'walking', requires: [METADATA], platforms: host},
    {...base, type: EVENT, id: 'exchange'},
    {...base, type: 'io.containerd.gc.v1', id: 'scheduler', requires: [METADATA]},
    {...base, type: 'io.containerd.lease.v1', id: 'manager', requires: [METADATA]},
    program('io.containerd.runtime.v2', 'task', store.config.runtime.runc, {root: runcStateDir(store.state)}),
    program('io.containerd.monitor.v1', 'conmon', store.config.runtime.conmon, {}),
  )
  return plugins

  /** A plugin that is a program run by Berth: ok when it is there, skipped when not. */
  function program(type: string, id: string, name: string, exports: Record<string, string>): PluginInfo {
    const path = locateProgram(name)
    const entry = {...base, type, id, requires: [EVENT, METADATA], platforms: host}
    if (path === undefined) return {...entry, exports, initError: skip(`${name} not found in PATH`)}
    return {...entry, exports: {...exports, [id === 'task' ? 'runc' : 'path']: path}}
  }
}
