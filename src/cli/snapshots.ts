// Snapshot commands' shared parts: ctr's kind names, snapshots.Info as JSON, mount commands,
// the tree, and the body `prepare` and `view` share.
import {Flags} from '@oclif/core'
import {join} from 'node:path'
import {resolveSnapshotter} from '../lib/config/index.js'
import {formatRfc3339Nano} from '../lib/events/format.js'
import {GC_ROOT_LABEL, type Mount, SnapshotService} from '../lib/snapshot/index.js'
import type {SnapshotKind, SnapshotRecord, Store} from '../lib/store/index.js'
import {snapshotterFlag} from './flags.js'
import {toJson} from './output.js'

const KIND_NAMES: Record<SnapshotKind, string> = {active: 'Active', view: 'View', committed: 'Committed'}

/** `Active`, `View`, `Committed` (containerd's Kind.String). */
export function kindName(kind: SnapshotKind): string {
  return KIND_NAMES[kind]
}

/** containerd's snapshots.Info as encoding/json prints it (empty Parent and Labels omitted). */
export function snapshotInfoView(r: SnapshotRecord): Record<string, unknown> {
  return {
    Kind: kindName(r.kind),
    Name: r.key,
    ...(r.parent !== undefined ? {Parent: r.parent} : {}),
    ...(Object.keys(r.labels).length > 0 ? {Labels: r.labels} : {}),
    Created: formatRfc3339Nano(r.createdAt),
    Updated: formatRfc3339Nano(r.updatedAt),
  }
}

/**
 * Mounts as ctr prints them with --mounts: containerd's mount.Mount through encoding/json, so the
 * keys are the Go field names, Type, Source, Target (empty: the whole target) and Options.
 */
export function mountsJson(mounts: readonly Mount[]): string {
  return toJson(mounts.map((m) => ({Type: m.type, Source: m.source, Target: '', Options: m.options})))
}

/** ctr's printMounts: one `mount -t <type> <source> <target> -o <options>` line per mount. */
export function formatMountCommands(target: string, mounts: readonly Mount[]): string {
  return mounts.map((m) => `mount -t ${m.type} ${m.source} ${join(target)} -o ${m.options.join(',')}\n`).join('')
}

/**
 * ctr's `snapshots tree`: roots (no parent, or a parent not listed) at level 0 as ` <key>`,
 * children under their parent as `  \_ <key>`, two more spaces per level.
 */
export function formatSnapshotTree(records: readonly SnapshotRecord[]): string {
  const keys = new Set(records.map((r) => r.key))
  const children = new Map<string, SnapshotRecord[]>()
  const roots: SnapshotRecord[] = []
  for (const r of records) {
    if (r.parent === undefined || !keys.has(r.parent)) roots.push(r)
    else children.set(r.parent, [...(children.get(r.parent) ?? []), r])
  }
  let out = ''
  const print = (r: SnapshotRecord, level: number, seen: Set<string>) => {
    if (seen.has(r.key)) return
    seen.add(r.key)
    out += `${'  '.repeat(level)}${level > 0 ? '\\_' : ''} ${r.key}\n`
    for (const c of children.get(r.key) ?? []) print(c, level + 1, seen)
  }
  const seen = new Set<string>()
  for (const r of roots) print(r, 0, seen)
  return out
}

/** `containerd.io/gc.root=<now, RFC 3339>`: what ctr's hand-made snapshots carry. */
export function gcRootLabels(): Record<string, string> {
  return {[GC_ROOT_LABEL]: new Date().toISOString().replace(/\.\d+Z$/, 'Z')}
}

/** The flags of `snapshots prepare` and `snapshots view`. */
export const prepareFlags = {
  snapshotter: snapshotterFlag,
  target: Flags.string({char: 't', summary: 'mount target path; print the mount commands for it'}),
  mounts: Flags.boolean({summary: 'print the snapshot mounts as JSON'}),
}

/**
 * `snapshots prepare|view KEY [PARENT]`: create the snapshot labelled `containerd.io/gc.root` (as
 * ctr does, so GC keeps it) and return what to print: mount commands for --target, JSON for --mounts.
 */
export async function prepareSnapshot(
  store: Store,
  ns: string,
  kind: 'active' | 'view',
  args: {key: string; parent?: string},
  flags: {snapshotter?: string; target?: string; mounts?: boolean},
): Promise<string> {
  const snapshots = new SnapshotService(store, ns, resolveSnapshotter(store.config, flags.snapshotter))
  const {mounts} = await snapshots.prepare(args.key, {kind, parent: args.parent, labels: gcRootLabels()})
  return (flags.target ? formatMountCommands(flags.target, mounts) : '') + (flags.mounts ? mountsJson(mounts) : '')
}
