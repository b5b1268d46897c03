// Facts about the calling process and host that a spec depends on: the RLIMIT_NOFILE hard limit, the
// effective capabilities, the hostname and, for privileged containers, the device nodes under /dev.
// Read from /proc and /dev on demand; the spec builder itself takes them as plain data.
import {lstatSync, readdirSync, readFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {Internal} from '../errors/index.js'
import {capabilitiesFromMask} from './capabilities.js'
import type {LinuxDevice} from './oci-spec.js'

/** What the spec builder needs to know about the process that will run runc. */
export interface HostFacts {
  /** The current RLIMIT_NOFILE hard limit (Infinity when unlimited); a spec never asks for more. */
  nofileHard: number
  /** The effective capabilities of this process (runc can grant nothing else). */
  capabilities: readonly string[]
  /** The host name, for `HOSTNAME` with the host network. */
  hostname: string
}

/**
 * The soft and hard limit of one row of `/proc/<pid>/limits` (e.g. `Max open files`); `unlimited` is Infinity.
 * @throws Internal when the row is missing or malformed.
 */
export function parseProcLimits(text: string, row = 'Max open files'): {soft: number; hard: number} {
  const line = text.split('\n').find((l) => l.startsWith(`${row} `))
  const [soft, hard] = line === undefined ? [] : line.slice(row.length).trim().split(/\s+/)
  const num = (s: string | undefined) => (s === 'unlimited' ? Infinity : s !== undefined && /^\d+$/.test(s) ? Number(s) : NaN)
  const limits = {soft: num(soft), hard: num(hard)}
  if (Number.isNaN(limits.soft) || Number.isNaN(limits.hard)) throw new Internal(`cannot read ${JSON.stringify(row)} from the process limits`)
  return limits
}

/**
 * The capability names of one mask line of `/proc/<pid>/status` (default `CapEff`).
 * @throws Internal when the line is missing.
 */
export function parseStatusCapabilities(text: string, field = 'CapEff'): string[] {
  const m = new RegExp(`^${field}:\\s*([0-9a-fA-F]+)\\s*$`, 'm').exec(text)
  if (!m) throw new Internal(`cannot read ${field} from the process status`)
  return capabilitiesFromMask(m[1]!)
}

/** Read the facts for this process from /proc. @throws Internal when /proc is unreadable. */
export function readHostFacts(): HostFacts {
  return {
    nofileHard: parseProcLimits(readFileSync('/proc/self/limits', 'utf8')).hard,
    capabilities: parseStatusCapabilities(readFileSync('/proc/self/status', 'utf8')),
    hostname: hostname(),
  }
}

const SKIPPED_DIRS = new Set(['pts', 'shm', 'fd', 'mqueue', '.lxc', '.lxd-mounts', '.udev'])

/**
 * Every character and block device under `dir` (default /dev), for a privileged container — containerd's
 * oci.HostDevices: symlinks are not followed, pts/shm/fd/mqueue and `console` are skipped, vanished
 * entries are ignored.
 */
export function readHostDevices(dir = '/dev'): LinuxDevice[] {
  const out: LinuxDevice[] = []
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out
    throw err
  }
  for (const name of names.sort()) {
    const path = join(dir, name)
    let st
    try {
      st = lstatSync(path, {bigint: true})
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
    if (st.isDirectory()) {
      if (!SKIPPED_DIRS.has(name)) out.push(...readHostDevices(path))
      continue
    }
    if (name === 'console' || !(st.isCharacterDevice() || st.isBlockDevice())) continue
    const rdev = st.rdev
    const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn))
    const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))
    out.push({
      path,
      type: st.isBlockDevice() ? 'b' : 'c',
      major,
      minor,
      fileMode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
    })
  }
  return out
}
