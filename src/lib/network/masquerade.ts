// Masquerade per network, not per container. The bridge plugin's `ipMasq` gives every container
// a NAT chain of its own: 14 of the 27 iptables runs of a networked `run --rm`, about 60 ms of
// each networked start and stop on this machine (nftables backend). Berth's default network instead sets
// `ipMasq: false` and names its subnets under the conflist key `berthMasquerade`; Berth then keeps
// one chain per bridge (as podman's netavark does per network), made once and checked with one
// `iptables -C` at each attach:
//
//   -A POSTROUTING -s <subnet> -j BERTH-<bridge>
//   -A BERTH-<bridge> -d <subnet> -j ACCEPT              (the bridge's own traffic stays as it is)
//   -A BERTH-<bridge> ! -d 224.0.0.0/4 -j MASQUERADE     (multicast is never masqueraded)
//
// The same rules the plugin writes per container address, for the whole subnet. They live as long
// as the host's rule set: a reboot or a flush removes them, and the next attach writes them again.
// Nothing about them belongs to one container, so DEL, GC and fsck never touch them.
import {acquireLock} from '../store/index.js'
import {FailedPrecondition} from '../errors/index.js'
import type {NetConfList} from './cni.js'
import {run} from './pins.js'

/** The conflist key that asks Berth for a network-wide masquerade: `{"bridge": …, "subnets": […]}`. */
export const MASQUERADE_KEY = 'berthMasquerade'

/** A network's masquerade: its chain and the subnets it covers. */
export interface Masquerade {
  readonly chain: string
  readonly subnets: readonly string[]
}

const CIDR = /^[0-9a-fA-F.:]+\/\d{1,3}$/
const BRIDGE_NAME = /^[A-Za-z0-9_.-]{1,15}$/

/** The masquerade a config list asks for, or undefined. Malformed entries are refused, never half-applied. */
export function masqueradeOf(list: NetConfList): Masquerade | undefined {
  const value = list[MASQUERADE_KEY]
  if (value === undefined || value === false) return undefined
  const spec = value as {bridge?: unknown; subnets?: unknown}
  if (typeof spec !== 'object' || spec === null || typeof spec.bridge !== 'string' || !BRIDGE_NAME.test(spec.bridge))
    throw new FailedPrecondition(`network ${JSON.stringify(list.name)}: ${MASQUERADE_KEY} needs a bridge name (up to 15 letters, digits, _ . -)`)
  const subnets = Array.isArray(spec.subnets) ? spec.subnets : []
  if (subnets.length === 0 || !subnets.every((s): s is string => typeof s === 'string' && CIDR.test(s)))
    throw new FailedPrecondition(`network ${JSON.stringify(list.name)}: ${MASQUERADE_KEY} needs subnets in CIDR notation`)
  return {chain: `BERTH-${spec.bridge}`, subnets}
}

const tableOf = (subnet: string) => (subnet.includes(':') ? {program: 'ip6tables', multicast: 'ff00::/8'} : {program: 'iptables', multicast: '224.0.0.0/4'})

/** The subnets of one family whose POSTROUTING jump to the chain is missing (one `-C` each). */
async function missingJumps(program: string, m: Masquerade, subnets: readonly string[]): Promise<string[]> {
  const missing: string[] = []
  for (const subnet of subnets) {
    const r = await run(program, ['-w', '-t', 'nat', '-C', 'POSTROUTING', '-s', subnet, '-j', m.chain])
    if (r.code !== 0) missing.push(subnet)
  }
  return missing
}

/**
 * Make the network's masquerade rules if they are missing. Concurrent attaches serialise on a lock
 * under the state dir; the chain is written by one iptables-restore, which also empties it
 * first, so an interrupted earlier attempt never leaves rules twice.
 * @throws FailedPrecondition when iptables refuses.
 */
export async function ensureMasquerade(state: string, m: Masquerade): Promise<void> {
  const families = new Map<string, string[]>()
  for (const subnet of m.subnets) {
    const {program} = tableOf(subnet)
    families.set(program, [...(families.get(program) ?? []), subnet])
  }
  for (const [program, subnets] of families) {
    if ((await missingJumps(program, m, subnets)).length === 0) continue
    const lock = await acquireLock(state, `net.masquerade.${m.chain}`)
    try {
      const missing = await missingJumps(program, m, subnets)
      if (missing.length === 0) continue // made meanwhile
      const {multicast} = tableOf(subnets[0])
      const lines = ['*nat', `:${m.chain} - [0:0]`]
      for (const subnet of subnets) lines.push(`-A ${m.chain} -d ${subnet} -j ACCEPT`)
      lines.push(`-A ${m.chain} ! -d ${multicast} -j MASQUERADE`)
      for (const subnet of missing) lines.push(`-A POSTROUTING -s ${subnet} -j ${m.chain}`)
      lines.push('COMMIT', '')
      const r = await run(`${program}-restore`, ['-w', '--noflush'], {input: lines.join('\n')})
      if (r.code !== 0) throw new FailedPrecondition(`cannot write the masquerade rules of ${m.chain}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`)
    } finally {
      lock.release()
    }
  }
}
