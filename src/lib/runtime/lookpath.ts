// Find the process's executable in the rootfs before runc is started, the way runc's init does
// (exec.LookPath with the spec's PATH). A missing command then fails with one clean error instead
// of runc's own lines on the terminal the process would have shared, and with its reason (not
// found, or cannot be executed) for `ctr run`'s status.
import {statSync} from 'node:fs'
import {posix} from 'node:path'
import {ExecFailed, type ExecFailureReason} from './exec-failure.js'
import type {Mount, Process} from './oci-spec.js'
import {resolveInRoot} from './user.js'

/**
 * @throws ExecFailed (a FailedPrecondition) `<context>: unable to start container process: exec: "<cmd>": executable file not
 * found in $PATH`, `stat <path>: no such file or directory` (reason `not found`), `permission denied` or `is a directory`
 * (reason `cannot invoke`), in the words of runc's own look-up (Go's exec.LookPath). Paths under a spec mount are not
 * checked: what the mount brings is only known once it is mounted.
 */
export function checkExecutable(rootfs: string, proc: Process | undefined, mounts: readonly Mount[], context: string): void {
  const name = proc?.args?.[0]
  if (!name) return
  const underMount = (path: string) =>
    mounts.some((m) => m.destination === path || path.startsWith(m.destination.endsWith('/') ? m.destination : `${m.destination}/`))
  /** Why `path` cannot be executed, as exec.LookPath says it; '' when it can, undefined when unknown (under a mount). */
  const lookAt = (path: string): string | undefined => {
    if (underMount(path)) return undefined
    const host = resolveInRoot(rootfs, path)
    const missing = `stat ${name}: no such file or directory`
    if (host === undefined) return missing
    try {
      const st = statSync(host)
      if (st.isDirectory()) return 'is a directory'
      return st.isFile() && (st.mode & 0o111) !== 0 ? '' : 'permission denied'
    } catch {
      return missing
    }
  }
  const fail = (why: string, reason: ExecFailureReason) =>
    new ExecFailed(`${context}: unable to start container process: exec: ${JSON.stringify(name)}: ${why}`, reason)
  if (name.includes('/')) {
    const why = lookAt(posix.resolve(proc?.cwd || '/', name))
    if (why) throw fail(why, why.startsWith('stat ') ? 'not found' : 'cannot invoke')
    return
  }
  // On $PATH, as exec.LookPath: a directory or a file without x bits is passed over, not reported.
  const pathEnv =
    (proc?.env ?? [])
      .filter((e) => e.startsWith('PATH='))
      .pop()
      ?.slice(5) ?? ''
  for (const dir of pathEnv.split(':')) {
    if (dir === '') continue
    const why = lookAt(posix.join(posix.resolve(proc?.cwd || '/', dir), name))
    if (!why) return // found (or under a mount: runc will say)
  }
  throw fail('executable file not found in $PATH', 'not found')
}
