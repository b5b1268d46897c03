// The on-disk layout, spelled once: where the persistent root and the volatile state live, every
// directory Berth makes below them, and their modes. Code elsewhere asks here for a path and never
// joins `root`/`state` with a literal itself; what lies *inside* one object's directory (a task's
// pid and exit files, a snapshot's fs/ and work/) belongs to the module that owns that object.
// Invariant: root and state, and every directory Berth makes below them, are root's alone (0700),
// so that no other user reaches a container's or an image's files through them (the class of
// CVE-2021-41103; docs/architecture.md, "Who can reach what"). Modes are given explicitly, never
// left to the umask.
import {homedir} from 'node:os'
import {join} from 'node:path'
import {parseDigest} from '../oci/digest.js'

/** Mode of root, state and every directory Berth makes below them. */
export const PRIVATE_DIR_MODE = 0o700
/**
 * Mode of state and of the chain `<state>/userns/<ns>/<id>/` to the rootfs of a container with a
 * user namespace, whose mapped root must walk to it; nothing else below state is traversable.
 */
export const TRAVERSE_DIR_MODE = 0o711
/** Mode of directories Berth makes *above* root or state (missing parents of a `--root` path). */
export const PARENT_DIR_MODE = 0o711
/** Mode of the files Berth writes below root and state: the database, specs, ingest metadata, locks. */
export const PRIVATE_FILE_MODE = 0o600
/** Mode of the metadata database. */
export const DB_MODE = PRIVATE_FILE_MODE

/** The default persistent root: /var/lib/berth for root, $XDG_DATA_HOME/berth otherwise. */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/var/lib/berth'
  return join(env['XDG_DATA_HOME'] || join(homedir(), '.local', 'share'), 'berth')
}

/** The default volatile state dir: /run/berth for root, $XDG_RUNTIME_DIR/berth otherwise. */
export function defaultState(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/run/berth'
  return join(env['XDG_RUNTIME_DIR'] || join('/tmp', `berth-${process.getuid?.() ?? 'user'}`), 'berth')
}

// --- the persistent root (docs/design.md §2) ---

/** `<root>/meta.db`: the SQLite metadata database, the only source of truth. */
export function metaDbPath(root: string): string {
  return join(root, META_DB_NAME)
}

/** The database file's name, as messages name it. */
export const META_DB_NAME = 'meta.db'

/** `<root>/content`: the blob store (one copy of each blob, shared by all namespaces). */
export function contentDir(root: string): string {
  return join(root, 'content')
}

/** `<root>/content/blobs/<alg>`: the committed blobs of one digest algorithm. */
export function blobsDir(root: string, algorithm: string): string {
  return join(root, 'content', 'blobs', algorithm)
}

/** `<root>/content/blobs/<alg>/<hex>` for a digest. @throws InvalidArgument for a bad digest. */
export function blobPath(root: string, digest: string): string {
  parseDigest(digest)
  const colon = digest.indexOf(':')
  return join(blobsDir(root, digest.slice(0, colon)), digest.slice(colon + 1))
}

/** `<root>/content/ingest`: partial downloads and import staging areas, one directory each. */
export function ingestRoot(root: string): string {
  return join(root, 'content', 'ingest')
}

/** `<root>/snapshots`: one directory per snapshotter. */
export function snapshotsDir(root: string): string {
  return join(root, 'snapshots')
}

/** `<root>/snapshots/<snapshotter>`: that snapshotter's snapshot directories. */
export function snapshotterDir(root: string, snapshotter: string): string {
  return join(root, 'snapshots', snapshotter)
}

/** `<root>/locks`: the flock files of cross-process locks. */
export function locksDir(root: string): string {
  return join(root, 'locks')
}

/** `<root>/containers`: the containers' persistent directories, by namespace. */
export function containersDir(root: string): string {
  return join(root, 'containers')
}

/** `<root>/containers/<ns>/<id>`: the container's persistent directory (the spec template). */
export function containerDir(root: string, ns: string, id: string): string {
  return join(containersDir(root), ns, id)
}

/** `<root>/cni/net.d`: the CNI configuration Berth writes for its default network. */
export function cniConfDir(root: string): string {
  return join(root, 'cni', 'net.d')
}

// --- the volatile state ---

/** `<state>/tasks/<ns>/<id>`: a task's files, also its OCI bundle. */
export function taskDir(state: string, ns: string, id: string): string {
  return join(state, 'tasks', ns, id)
}

/** The one child of state that may be 0711 (TRAVERSE_DIR_MODE): the chain to user-namespace rootfs mountpoints. */
export const USERNS_DIR = 'userns'

/** `<state>/userns/<ns>/<id>`: the rootfs mountpoint's directory of a container with a user namespace. */
export function usernsDir(state: string, ns: string, id: string): string {
  return join(usernsBase(state), ns, id)
}

/** `<state>/userns`: the top of the 0711 chain user-namespaced rootfs mounts hang on. */
export function usernsBase(state: string): string {
  return join(state, USERNS_DIR)
}

/** `<state>/runc`: the parent of runc's per-namespace state roots. */
export function runcStateDir(state: string): string {
  return join(state, 'runc')
}

/** `<state>/runc/<ns>`: runc's `--root` for a namespace. */
export function runcRoot(state: string, ns: string): string {
  return join(state, 'runc', ns)
}

/** `<state>/containers/<ns>/<id>`: the container's volatile run dir (seed 004), removed with it. */
export function containerRunDir(state: string, ns: string, id: string): string {
  return join(state, 'containers', ns, id)
}

/** `<state>/netns`: pinned network namespaces of networked containers, by namespace and id. */
export function netnsDir(state: string): string {
  return join(state, 'netns')
}

/** `<state>/netns/<ns>/<id>`: the pinned network namespace of a networked container. */
export function containerNetnsPath(state: string, ns: string, id: string): string {
  return join(netnsDir(state), ns, id)
}

/** `<state>/pods`: pods' namespace pins, by namespace and id. */
export function podsDir(state: string): string {
  return join(state, 'pods')
}

/** `<state>/pods/<ns>/<id>/`: a pod's pins. */
export function podDir(state: string, ns: string, id: string): string {
  return join(podsDir(state), ns, id)
}

/** `<state>/checkpoints`: scratch directories of checkpoints and restores in progress. */
export function checkpointsDir(state: string): string {
  return join(state, 'checkpoints')
}

/** `<state>/remap`: scratch mountpoints where a remapped snapshot's files are re-owned (`--uidmap`/`--gidmap`). */
export function remapDir(state: string): string {
  return join(state, 'remap')
}

/** `<state>/cni/ipam`: host-local IPAM's data dir for Berth's default network. */
export function cniIpamDir(state: string): string {
  return join(state, 'cni', 'ipam')
}

/** `<root>/owners`: one flocked file per process that owns ingests and leases (process-owner.ts). */
export function ownersDir(root: string): string {
  return join(root, 'owners')
}

/** `<root>/lost+found`: where `ctr fsck --repair` moves blob files that fail their digest (kept, never deleted). */
export function lostAndFoundDir(root: string): string {
  return join(root, 'lost+found')
}
