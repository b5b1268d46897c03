// Linux capability names, the process's own capability mask, and ctr/docker-style --cap-add/--cap-drop.
// Invariant: a resolved set never holds a capability this process lacks (runc would fail with EPERM).
import {FailedPrecondition, InvalidArgument} from '../errors/index.js'

/** Every capability runc 1.1.5 knows, indexed by capability number (0 … 40, CAP_LAST_CAP of Linux 5.9+). */
export const CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
])

const KNOWN = new Set(CAPABILITIES)

/**
 * Canonical form of a capability name: upper case with the `CAP_` prefix (`net_admin` → `CAP_NET_ADMIN`);
 * `ALL` (any case, with or without the prefix) stays `ALL`.
 * @throws InvalidArgument for a name runc does not know.
 */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase()
  const bare = upper.startsWith('CAP_') ? upper.slice(4) : upper
  if (bare === 'ALL') return 'ALL'
  const full = `CAP_${bare}`
  if (!KNOWN.has(full)) throw new InvalidArgument(`unknown capability ${JSON.stringify(name)}`)
  return full
}

/**
 * The capability names in a hexadecimal mask as `/proc/<pid>/status` prints it (`CapEff: 000001fffeffffff`),
 * in capability-number order; bits beyond the known names are ignored.
 * @throws InvalidArgument when the text is not hexadecimal.
 */
export function capabilitiesFromMask(hex: string): string[] {
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex.trim())) throw new InvalidArgument(`invalid capability mask ${JSON.stringify(hex)}`)
  const mask = BigInt(`0x${hex.trim()}`)
  return CAPABILITIES.filter((_, bit) => ((mask >> BigInt(bit)) & 1n) === 1n)
}

/** Inputs of {@link resolveCapabilities}. */
export interface CapabilityOptions {
  /** Start from every capability this process holds instead of the default set. */
  privileged?: boolean
  capAdd?: readonly string[]
  capDrop?: readonly string[]
  /** The capabilities this process holds (its effective set); nothing outside it is granted. */
  available: readonly string[]
  /** The unprivileged starting set; {@link DEFAULT_CAPABILITIES} from defaults.ts when omitted. */
  defaults: readonly string[]
}

/**
 * The container's capability set (bounding = effective = permitted), Docker's rules on top of ctr's:
 * start from the defaults (or, privileged, everything available); `ALL` in capAdd starts from everything
 * available, `ALL` in capDrop from nothing; then named drops are removed and named adds appended — an add
 * wins over a drop of the same name. Defaults this process lacks are left out silently.
 * @throws InvalidArgument for unknown names; FailedPrecondition when an explicitly added capability is not
 * held by this process (runc could not grant it).
 */
export function resolveCapabilities(opts: CapabilityOptions): string[] {
  const available = new Set(opts.available.map((c) => normalizeCapability(c)))
  const adds = (opts.capAdd ?? []).map(normalizeCapability)
  const drops = (opts.capDrop ?? []).map(normalizeCapability)
  let base: string[]
  if (adds.includes('ALL')) base = CAPABILITIES.filter((c) => available.has(c))
  else if (drops.includes('ALL')) base = []
  else base = (opts.privileged ? CAPABILITIES : opts.defaults).filter((c) => available.has(c))
  const explicitAdds = adds.filter((c) => c !== 'ALL')
  for (const cap of explicitAdds) {
    if (!available.has(cap)) {
      throw new FailedPrecondition(`capability ${cap} cannot be added: this process does not hold it`)
    }
  }
  const result = base.filter((c) => !drops.includes(c) || explicitAdds.includes(c))
  for (const cap of explicitAdds) if (!result.includes(cap)) result.push(cap)
  return result
}
