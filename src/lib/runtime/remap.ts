// The remapped parent of a user-namespaced container (`--uidmap`/`--gidmap`), as containerd's
// WithRemappedSnapshot makes it: a committed snapshot `<chainID>-<hostUid>-<hostGid>` (one mapping
// from id 0) or `<chainID>-<uidmaps>-<gidmaps>` whose every file is owned by the host ids its
// container ids map to, so that root in the container owns what root owned in the image. Made once
// per image and mapping, then shared by every container that asks for the same.
//
// Invariants: the work happens in a temporary active snapshot held by the caller's lease and is
// committed under its name only when complete (a crash leaves only garbage GC removes); the
// committed name is added to the lease so that GC keeps it until the container's snapshot sits on
// it. setuid/setgid bits, which chown clears, are put back; file capabilities (an xattr that chown
// drops) are not.
import {lchownSync, lstatSync, mkdirSync, readdirSync, rmSync, chmodSync} from 'node:fs'
import {join} from 'node:path'
import {InvalidArgument, isAlreadyExists} from '../errors/index.js'
import {SnapshotService} from '../snapshot/service.js'
import {nowMicros, remapDir, type Store} from '../store/index.js'
import {randomBytes} from '../sys/random.js'
import type {LinuxIDMapping} from './oci-spec.js'

/** The label that marks a remapped snapshot (its value: the chain it copies), so that removal can find it. */
export const REMAPPED_LABEL = 'berth.io/remapped-from'

/** The host id of container id `id` under `maps`, or undefined when no mapping covers it. */
export function toHostId(id: number, maps: readonly LinuxIDMapping[]): number | undefined {
  for (const m of maps) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID)
  return undefined
}

/** The key of the remapped snapshot of `chainId` (containerd 1.7's naming for a single mapping from 0). */
export function remappedKey(chainId: string, uidMaps: readonly LinuxIDMapping[], gidMaps: readonly LinuxIDMapping[]): string {
  if (uidMaps.length === 1 && gidMaps.length === 1 && uidMaps[0].containerID === 0 && gidMaps[0].containerID === 0) {
    return `${chainId}-${uidMaps[0].hostID}-${gidMaps[0].hostID}`
  }
  const text = (maps: readonly LinuxIDMapping[]) => maps.map((m) => `${m.containerID}:${m.hostID}:${m.size}`).join(',')
  return `${chainId}-${text(uidMaps)}-${text(gidMaps)}`
}

/**
 * Chown every entry of the tree at `dir` (itself included, symlinks not followed) from container
 * ids to host ids. @throws InvalidArgument for an owner no mapping covers.
 */
export function shiftOwners(dir: string, uidMaps: readonly LinuxIDMapping[], gidMaps: readonly LinuxIDMapping[]): void {
  const shift = (path: string, rel: string): void => {
    const st = lstatSync(path)
    const uid = toHostId(st.uid, uidMaps)
    const gid = toHostId(st.gid, gidMaps)
    if (uid === undefined) throw new InvalidArgument(`/${rel} is owned by uid ${st.uid}, which --uidmap does not map`)
    if (gid === undefined) throw new InvalidArgument(`/${rel} is owned by gid ${st.gid}, which --gidmap does not map`)
    lchownSync(path, uid, gid)
    if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) chmodSync(path, st.mode & 0o7777)
    if (st.isDirectory()) for (const name of readdirSync(path)) shift(join(path, name), rel === '' ? name : `${rel}/${name}`)
  }
  shift(dir, '')
}

/**
 * The committed remapped snapshot of `chainId` for these mappings, made if needed; its key is added
 * to lease `leaseId`. @throws as prepare, mount and shiftOwners.
 */
export async function remappedSnapshot(
  store: Store,
  snapshots: SnapshotService,
  ns: string,
  chainId: string,
  uidMaps: readonly LinuxIDMapping[],
  gidMaps: readonly LinuxIDMapping[],
  leaseId: string,
): Promise<string> {
  const key = remappedKey(chainId, uidMaps, gidMaps)
  // Held before it is looked at: releaseRemapped leaves a held one alone.
  store.leases.addResource(ns, leaseId, 'snapshot', `${snapshots.name}/${key}`)
  if (snapshots.find(key)?.kind === 'committed') return key
  const temp = `${key}-remap-${randomBytes(6).toString('hex')}`
  await snapshots.prepare(temp, {kind: 'active', parent: chainId, leaseId})
  const target = join(remapDir(store.state), temp.slice(-12))
  try {
    mkdirSync(target, {recursive: true, mode: 0o700})
    snapshots.mount(temp, target)
    try {
      shiftOwners(target, uidMaps, gidMaps)
    } finally {
      SnapshotService.unmountAll(target)
      rmSync(target, {recursive: true, force: true})
    }
    try {
      snapshots.commit(key, temp, {[REMAPPED_LABEL]: chainId})
    } catch (err) {
      if (!isAlreadyExists(err)) throw err
      // Another create made the same one meanwhile: use it.
      snapshots.remove(temp)
    }
    return key
  } catch (err) {
    if (snapshots.find(temp)) snapshots.remove(temp)
    throw err
  }
}

/**
 * Remove remapped snapshot `key` once nothing uses it: no child, no lease (a create about to use
 * it holds one). Anything else is left alone; so is a remapped snapshot that gained a child meanwhile.
 */
export function releaseRemapped(store: Store, snapshots: SnapshotService, ns: string, key: string): void {
  const rec = snapshots.find(key)
  if (!rec || rec.kind !== 'committed' || rec.labels[REMAPPED_LABEL] === undefined) return
  if (snapshots.list().some((s) => s.parent === key)) return
  const ref = `${snapshots.name}/${key}`
  const now = nowMicros()
  const held = store.leases
    .list(ns)
    .some((l) => (l.expiresAt === undefined || l.expiresAt > now) && store.leases.resources(ns, l.id).some((r) => r.kind === 'snapshot' && r.ref === ref))
  if (held) return
  try {
    snapshots.remove(key)
  } catch {
    // a child appeared since: it stays
  }
}
