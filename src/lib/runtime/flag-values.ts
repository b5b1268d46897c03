// ctr's textual run/create flag values and their parsers: `--with-ns nstype:path`, `--uidmap`
// and `--gidmap` (`container-id:host-id:size`), `--rlimit-nofile soft[:hard]`, CDI device names.
// Pure; errors are InvalidArgument worded as ctr words them.
import {InvalidArgument} from '../errors/index.js'
import type {LinuxIDMapping, NamespaceType} from './oci-spec.js'

/** The namespace types `--with-ns` accepts (runtime-spec's Linux namespace names). */
export const NAMESPACE_TYPES: readonly NamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup']

/**
 * One `--with-ns` value, `nstype:path` (split at the first colon).
 * @throws InvalidArgument with ctr's texts for a missing colon or an unknown type.
 */
export function parseNamespaceFlag(value: string): {type: NamespaceType; path: string} {
  const colon = value.indexOf(':')
  if (colon < 0) throw new InvalidArgument("joining a Linux namespace using --with-ns requires the format 'nstype:path'")
  const type = value.slice(0, colon)
  if (!(NAMESPACE_TYPES as readonly string[]).includes(type)) throw new InvalidArgument(`the Linux namespace type specified in --with-ns is not valid: ${type}`)
  const path = value.slice(colon + 1)
  if (!path.startsWith('/')) throw new InvalidArgument(`--with-ns ${JSON.stringify(value)}: the namespace path must be absolute`)
  return {type: type as NamespaceType, path}
}

/** Go's strconv.ParseUint(s, 0, 32), without `_` separators: decimal, 0x hex, 0o or 0 octal, 0b binary. */
function parseUint32(s: string): number | undefined {
  const m = /^(?:0[xX]([0-9a-fA-F]+)|0[oO]?([0-7]+)|0[bB]([01]+)|([1-9][0-9]*|0))$/.exec(s)
  if (!m) return undefined
  const [, hex, oct, bin, dec] = m
  const n = parseInt(hex ?? oct ?? bin ?? dec, hex !== undefined ? 16 : oct !== undefined ? 8 : bin !== undefined ? 2 : 10)
  return Number.isSafeInteger(n) && n <= 0xffffffff ? n : undefined
}

/**
 * One `--uidmap`/`--gidmap` value, `container-id:host-id:size`.
 * @throws InvalidArgument with ctr's texts.
 */
export function parseIdMapping(value: string): LinuxIDMapping {
  const parts = value.split(':')
  if (parts.length !== 3) throw new InvalidArgument('user namespace mappings require the format `container-id:host-id:size`')
  const [c, h, s] = parts.map(parseUint32)
  const bad = (what: string, text: string) =>
    new InvalidArgument(`invalid ${what} for user namespace remapping: strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax`)
  if (c === undefined) throw bad('container id', parts[0])
  if (h === undefined) throw bad('host id', parts[1])
  if (s === undefined) throw bad('size', parts[2])
  if (s === 0) throw new InvalidArgument(`user namespace mapping ${JSON.stringify(value)}: size must not be 0`)
  return {containerID: c, hostID: h, size: s}
}

/**
 * `--rlimit-nofile soft[:hard]` (hard defaults to soft).
 * @throws InvalidArgument `failed to parse rlimit-nofile "<v>": ...`.
 */
export function parseRlimitNofile(value: string): {soft: number; hard: number} {
  const colon = value.indexOf(':')
  const softText = colon < 0 ? value : value.slice(0, colon)
  const hardText = colon < 0 ? value : value.slice(colon + 1)
  const parse = (text: string): number => {
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
      throw new InvalidArgument(`failed to parse rlimit-nofile ${JSON.stringify(value)}: strconv.ParseUint: parsing ${JSON.stringify(text)}: invalid syntax`)
    }
    return Number(text)
  }
  return {soft: parse(softText), hard: parse(hardText)}
}

/**
 * Whether a `--device` value is a CDI qualified device name (`vendor.com/class=name`) rather than
 * a path, by the CDI parser's rules: a vendor (a domain-like name), `/`, a class, `=`, a name.
 */
export function isCdiDeviceName(value: string): boolean {
  return /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\/[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?=[A-Za-z0-9](?:[A-Za-z0-9_.:-]*[A-Za-z0-9])?$/.test(value)
}

/** The `--rootfs-propagation` values runc knows. */
export const ROOTFS_PROPAGATIONS: readonly string[] = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable']

/** Where `--log-uri` sends a task's stdout and stderr. */
export type LogDestination = {readonly file: string} | {readonly binary: string; readonly args: readonly string[]}

/**
 * `--log-uri`, as containerd's shims read it: `file:///abs/path` (or `file:/abs/path`) appends
 * stdout and stderr to that file; `binary:///abs/path?k=v` starts that logging program with the
 * arguments `k v` (a key alone when its value is empty), CONTAINER_ID and CONTAINER_NAMESPACE in
 * its environment, stdout on fd 3, stderr on fd 4, and fd 5 to close (or write to) once ready.
 * @throws InvalidArgument (`unknown STDIO scheme <s>` for any other scheme).
 */
export function parseLogUri(uri: string): LogDestination {
  let u: URL
  try {
    u = new URL(uri)
  } catch {
    throw new InvalidArgument(`--log-uri ${JSON.stringify(uri)}: not a URI (use file:///path/to/log or binary:///path/to/program)`)
  }
  const scheme = u.protocol.replace(/:$/, '')
  if (scheme !== 'file' && scheme !== 'binary') throw new InvalidArgument(`unknown STDIO scheme ${scheme}`)
  if (u.host !== '') throw new InvalidArgument(`--log-uri ${JSON.stringify(uri)}: a ${scheme} URI has no host (${scheme}:///absolute/path)`)
  const path = decodeURIComponent(u.pathname)
  if (!path.startsWith('/') || path.endsWith('/'))
    throw new InvalidArgument(`--log-uri ${JSON.stringify(uri)}: expected the absolute path of a ${scheme === 'file' ? 'file' : 'program'}`)
  if (scheme === 'file') return {file: path}
  const args: string[] = []
  for (const [k, v] of u.searchParams) args.push(...(v === '' ? [k] : [k, v]))
  return {binary: path, args}
}
