// The network gate of a foreground start: a networked container's CNI ADD runs while `runc run`
// creates the container, and the container's process must not start before ADD is done. runc run
// cannot be paused between create and start from outside, so a createRuntime hook waits instead:
// `flock --shared <bundle>/network-gate grep -qsx go <bundle>/network-gate`. This process takes
// the exclusive lock on the gate before runc runs and holds it while ADD runs; it writes `go` and
// closes the file (releasing the lock) when ADD succeeded, and closes it empty when ADD failed, so
// the hook fails and runc tears the container down. If this process dies, the kernel releases the
// lock and the empty gate fails the hook just the same: no process ever runs without its network.
import {closeSync, openSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {FailedPrecondition} from '../errors/index.js'
import {PRIVATE_FILE_MODE} from '../store/index.js'
import * as sys from '../sys/index.js'
import {locateProgram} from './runtimes.js'

/** The gate file's name in a bundle. */
export const NETWORK_GATE_FILE = 'network-gate'

/** An open, exclusively locked gate. */
export interface NetworkGate {
  /** The createRuntime hook that waits for the gate (to put first in the rendered spec). */
  readonly hook: {path: string; args: string[]}
  /** Open the gate (ADD succeeded) or fail it (`ok` false); once, later calls do nothing. */
  close(ok: boolean): void
}

/**
 * Make and lock `<bundle>/network-gate`.
 * @throws FailedPrecondition when flock(1) or grep is missing.
 */
export function lockNetworkGate(bundle: string): NetworkGate {
  const flock = locateProgram('flock')
  const grep = locateProgram('grep')
  if (!flock || !grep) throw new FailedPrecondition(`cannot gate the network of a foreground start: ${flock ? 'grep' : 'flock'} not found (util-linux, grep)`)
  const path = join(bundle, NETWORK_GATE_FILE)
  const fd = openSync(path, 'wx', PRIVATE_FILE_MODE)
  try {
    sys.flock(fd, sys.LOCK_EX | sys.LOCK_NB) // a fresh file nobody else has: taken at once
  } catch (err) {
    closeSync(fd)
    throw err
  }
  let open = true
  return {
    hook: {path: flock, args: ['flock', '--shared', path, grep, '-qsx', 'go', path]},
    close(ok: boolean): void {
      if (!open) return
      open = false
      try {
        if (ok) writeSync(fd, 'go\n')
      } finally {
        closeSync(fd)
      }
    },
  }
}

/** The rendered spec JSON with `hook` first among its createRuntime hooks. */
export function withGateHook(specJson: string, hook: NetworkGate['hook']): string {
  const spec = JSON.parse(specJson) as {hooks?: Record<string, unknown[]>}
  const hooks = (spec.hooks ??= {})
  hooks['createRuntime'] = [hook, ...(hooks['createRuntime'] ?? [])]
  return JSON.stringify(spec)
}
