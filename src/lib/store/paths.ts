// Where the persistent root and the volatile state live, and the directory modes Berth uses.
import {homedir} from 'node:os'
import {join} from 'node:path'

/** Mode of every directory Berth creates: others may traverse, not list. */
export const DIR_MODE = 0o711
/** Mode of the metadata database. */
export const DB_MODE = 0o600

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
