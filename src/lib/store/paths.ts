// Where the persistent root and the volatile state live, and the modes of what Berth creates there.
// Invariant: root and state, and every directory Berth makes below them, are root's alone (0700),
// so that no other user reaches a container's or an image's files through them (the class of
// CVE-2021-41103; docs/architecture.md, "Who can reach what"). Modes are given explicitly, never
// left to the umask.
import {homedir} from 'node:os'
import {join} from 'node:path'

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
