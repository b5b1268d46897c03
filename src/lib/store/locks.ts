// Cross-process locks: flock(2) on files under `<root>/locks/`. The lock belongs to an open file
// description this process holds, so it is released when the process exits or is killed.
//
// An uncontended lock is taken at once with a non-blocking flock(2) through Berth's addon. A
// contended one is waited for without blocking the event loop (a blocked process could never
// finish the work its other jobs hold locks for): the util-linux `flock` program is handed our
// open descriptor as its fd 3 and waits for it; the lock lives on the shared open file
// description after the child exits, until we close our descriptor.
import {spawn} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import {join} from 'node:path'
import {InvalidArgument, Internal, Unavailable} from '../errors/index.js'
import * as sys from '../sys/index.js'
import {ensureDir} from './dirs.js'
import {locksDir, PRIVATE_FILE_MODE} from './paths.js'

/** A held lock. `release()` is idempotent. */
export interface Lock {
  readonly path: string
  release(): void
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/

/**
 * Take the exclusive lock `name` under `<root>/locks/`, waiting up to `timeoutMs`
 * (0: fail at once if held; undefined: wait as long as it takes).
 * @throws InvalidArgument (bad name), Unavailable (timed out), Internal.
 */
export async function acquireLock(root: string, name: string, options: {timeoutMs?: number; shared?: boolean} = {}): Promise<Lock> {
  if (!NAME.test(name)) throw new InvalidArgument(`invalid lock name ${JSON.stringify(name)}`)
  const dir = locksDir(root)
  ensureDir(dir)
  const path = join(dir, name)
  const fd = openSync(path, 'a', PRIVATE_FILE_MODE)
  if (tryFlock(fd, options.shared ?? false)) return heldLock(path, fd)
  if (options.timeoutMs === 0) {
    closeSync(fd)
    throw new Unavailable(`lock ${JSON.stringify(name)} is held by another process`, {suffixKind: true})
  }
  const args = [options.shared ? '-s' : '-x']
  if (options.timeoutMs !== undefined) args.push('-w', String(options.timeoutMs / 1000))
  args.push('-E', '75', '3')
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('flock', args, {stdio: ['ignore', 'ignore', 'pipe', fd]})
      let stderr = ''
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
      child.on('error', reject)
      child.on('exit', (c) => (c === 0 || c === 75 ? resolve(c) : reject(new Error(stderr.trim() || `flock exited with ${c}`))))
    })
    if (code === 75) throw new Unavailable(`lock ${JSON.stringify(name)} is held by another process`, {suffixKind: true})
  } catch (err) {
    closeSync(fd)
    if ((err as {kind?: string}).kind === 'unavailable') throw err
    throw new Internal(`cannot lock ${JSON.stringify(path)}: ${(err as Error).message}`, {cause: err})
  }
  return heldLock(path, fd)
}

/** Non-blocking flock: true when taken, false when another holder has it. */
function tryFlock(fd: number, shared: boolean): boolean {
  try {
    sys.flock(fd, (shared ? sys.LOCK_SH : sys.LOCK_EX) | sys.LOCK_NB)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EWOULDBLOCK' || (err as NodeJS.ErrnoException).code === 'EAGAIN') return false
    closeSync(fd)
    throw new Internal(`cannot lock: ${(err as Error).message}`, {cause: err})
  }
}

function heldLock(path: string, fd: number): Lock {
  let held = true
  return {
    path,
    release() {
      if (!held) return
      held = false
      closeSync(fd)
    },
  }
}
