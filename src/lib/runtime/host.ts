// Facts about the calling process and host that a spec depends on: the RLIMIT_NOFILE hard limit, the
// effective capabilities, the hostname, the device nodes under /dev (privileged containers) or at a
// `--device` path, and optional facilities (AppArmor, RDT, GPUs, systemd) that some flags need.
// Read from /proc, /sys and /dev on demand; the spec builder itself takes them as plain data.
import {existsSync, lstatSync, readdirSync, readFileSync, statSync, type BigIntStats} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {Internal, InvalidArgument, NotFound} from '../errors/index.js'
import {capabilitiesFromMask} from './capabilities.js'
import type {LinuxDevice} from './oci-spec.js'

/** What the spec builder needs to know about the process that will run runc (features only when read). */
export interface HostFacts extends Partial<HostFeatures> {
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
  return capabilitiesFromMask(m[1])
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
    out.push(deviceOf(path, st))
  }
  return out
}

/** The spec's device entry for a node whose lstat is `st` (glibc's major/minor split of rdev). */
function deviceOf(path: string, st: BigIntStats): LinuxDevice {
  const rdev = st.rdev
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn))
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn))
  return {
    path,
    type: st.isBlockDevice() ? 'b' : st.isFIFO() ? 'p' : 'c',
    major,
    minor,
    fileMode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
  }
}

/**
 * The devices of one `--device PATH`, as containerd's oci.WithDevices finds them: the node at
 * `path` (character, block or fifo; the container sees it at the same path), or every character and
 * block device under a directory (as readHostDevices walks /dev).
 * @throws NotFound `error stating device path: ...`; InvalidArgument `... not a device node`.
 */
export function devicesFromPath(path: string): LinuxDevice[] {
  let st: BigIntStats
  try {
    st = statSync(path, {bigint: true})
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const why = e.code === 'ENOENT' ? 'no such file or directory' : e.message
    throw e.code === 'ENOENT'
      ? new NotFound(`error stating device path: stat ${path}: ${why}`, {cause: err})
      : new InvalidArgument(`error stating device path: stat ${path}: ${why}`, {cause: err})
  }
  if (st.isDirectory()) return readHostDevices(path)
  const own = lstatSync(path, {bigint: true})
  if (!(own.isCharacterDevice() || own.isBlockDevice() || own.isFIFO())) throw new InvalidArgument(`--device ${JSON.stringify(path)}: not a device node`)
  return [deviceOf(path, own)]
}

/** Optional facilities of this host that some flags need; read only when such a flag is given. */
export interface HostFeatures {
  /** AppArmor is enabled in the kernel (`/sys/module/apparmor/parameters/enabled` is `Y`). */
  apparmor: boolean
  /** Intel RDT is usable: a resctrl file system is mounted (runc reads `/sys/fs/resctrl`). */
  resctrl: boolean
  /** An NVIDIA GPU device node exists (`/dev/nvidia0`). */
  gpu: boolean
  /** systemd runs as PID 1 (`/run/systemd/system` exists, as sd_booted checks). */
  systemd: boolean
}

/** Read the host's optional facilities. */
export function readHostFeatures(): HostFeatures {
  let apparmor = false
  try {
    apparmor = readFileSync('/sys/module/apparmor/parameters/enabled', 'latin1').trim() === 'Y'
  } catch {
    // no AppArmor module
  }
  let resctrl = false
  try {
    resctrl = readFileSync('/proc/self/mounts', 'latin1')
      .split('\n')
      .some((l) => l.split(' ')[2] === 'resctrl')
  } catch {
    // no /proc: no resctrl we could tell runc about
  }
  return {apparmor, resctrl, gpu: existsSync('/dev/nvidia0'), systemd: existsSync('/run/systemd/system')}
}
