// Find the process's executable in the rootfs before runc is started, the way runc's init does
// (exec.LookPath with the spec's PATH). A missing command then fails with one clean error instead
// of runc's own lines on the terminal the process would have shared.
import {statSync} from 'node:fs'
import {posix} from 'node:path'
import {FailedPrecondition} from '../errors/index.js'
import type {Mount, Process} from './oci-spec.js'
import {resolveInRoot} from './user.js'

/**
 * @throws FailedPrecondition `<context>: unable to start container process: exec: "<cmd>": executable file not
 * found in $PATH` (or `stat <path>: no such file or directory`). Paths under a spec mount are not
 * checked: what the mount brings is only known once it is mounted.
 */
export function checkExecutable(rootfs: string, proc: Process | undefined, mounts: readonly Mount[], context: string): void {
  const name = proc?.args?.[0]
  if (!name) return
  const underMount = (path: string) => mounts.some((m) => m.destination === path || path.startsWith(m.destination.endsWith('/') ? m.destination : `${m.destination}/`))
  const isExecutable = (path: string): boolean | undefined => {
    if (underMount(path)) return undefined
    const host = resolveInRoot(rootfs, path)
    if (host === undefined) return false
    try {
      const st = statSync(host)
      return st.isFile() && (st.mode & 0o111) !== 0
    } catch {
      return false
    }
  }
  const fail = (why: string) => new FailedPrecondition(`${context}: unable to start container process: exec: ${JSON.stringify(name)}: ${why}`)
  if (name.includes('/')) {
    const path = posix.resolve(proc?.cwd || '/', name)
    if (isExecutable(path) === false) throw fail(`stat ${name}: no such file or directory`)
    return
  }
  const pathEnv = (proc?.env ?? []).filter((e) => e.startsWith('PATH=')).pop()?.slice(5) ?? ''
  for (const dir of pathEnv.split(':')) {
    if (dir === '') continue
    const found = isExecutable(posix.join(posix.resolve(proc?.cwd || '/', dir), name))
    if (found !== false) return
  }
  throw fail('executable file not found in $PATH')
}
