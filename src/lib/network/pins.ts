// Linux namespaces pinned at files: the native addon unshares them in a thread of its own and
// bind-mounts their nsfs handles onto empty files, so they live without any process (no infra or
// pause container, and no `unshare`/`ip` processes to make them: two exec'd programs cost more than
// the rest of a pod's pinning). Containers join them through the spec's `linux.namespaces[].path`; unmounting
// the files (with no process left inside) frees them.
//
// Invariants: a pin file is either absent, an empty regular file (a pin that failed or was
// undone), or an nsfs mount; pinning an already pinned file is refused by the caller's checks,
// and unpinning tolerates every state.
import {spawn} from 'node:child_process'
import {mkdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {FailedPrecondition} from '../errors/index.js'
import {readMountTable, unmountDetached} from '../store/index.js'
import {pinNewNamespaces} from '../sys/index.js'

/** The files to pin namespaces at; absent kinds are not made. */
export interface PinFiles {
  readonly net?: string
  readonly ipc?: string
  readonly uts?: string
}

/**
 * Make new namespaces and pin them. With a net namespace, its loopback is brought up (what CNI's
 * loopback plugin does); with a uts namespace, `hostname` is set in it.
 * @throws FailedPrecondition when that fails (the files are removed again).
 */
export function pinNamespaces(files: PinFiles, options: {hostname?: string} = {}): void {
  const kinds = (['net', 'ipc', 'uts'] as const).filter((k) => files[k] !== undefined)
  if (kinds.length === 0) return
  for (const k of kinds) {
    const file = files[k]!
    mkdirSync(dirname(file), {recursive: true, mode: 0o711})
    writeFileSync(file, '', {mode: 0o600})
  }
  try {
    pinNewNamespaces(files, files.uts ? options.hostname : undefined)
  } catch (err) {
    for (const k of kinds) unpin(files[k]!)
    throw new FailedPrecondition(`cannot pin namespaces: ${(err as Error).message}`, {cause: err})
  }
}

/** Unmount a pin and remove its file; a missing or unmounted file is fine. */
export function unpin(file: string): void {
  unmountDetached(file)
  rmSync(file, {force: true})
}

/** Whether `file` is a live pin (an nsfs mount). */
export function isPinned(file: string): boolean {
  try {
    // An nsfs mount is on another device than its directory; a plain file is not.
    return statSync(file).dev !== statSync(dirname(file)).dev
  } catch {
    return false
  }
}

/** The pins (nsfs mounts) at or below `dir`, from the mount table. */
export function pinsUnder(dir: string): string[] {
  return readMountTable()
    .filter((m) => m.type === 'nsfs' && (m.target === dir || m.target.startsWith(`${dir}/`)))
    .map((m) => m.target)
}

/** Run a program to its end; its stdout is ignored. */
export function run(
  program: string,
  args: readonly string[],
  options: {input?: string; env?: NodeJS.ProcessEnv} = {},
): Promise<{code: number; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {stdio: ['pipe', 'pipe', 'pipe'], env: options.env ?? process.env})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdin.on('error', () => {})
    child.stdin.end(options.input ?? '')
    child.on('error', (err) => reject(new FailedPrecondition(`cannot run ${program}: ${err.message}`, {cause: err})))
    child.on('close', (code) => resolve({code: code ?? 1, stdout, stderr}))
  })
}
