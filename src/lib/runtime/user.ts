// Resolve a container user (`uid`, `uid:gid`, `name`, `name:group`, …) through the container rootfs's own
// /etc/passwd and /etc/group, as containerd's oci.WithUser and WithAdditionalGIDs do.
//
// Invariant: nothing outside the rootfs is ever read. Paths are resolved component by component with the
// rootfs as `/` (an absolute symlink restarts at the rootfs, `..` stops there — containerd's RootPath rule),
// the final file is opened with O_NOFOLLOW|O_NONBLOCK and must be a regular file of bounded size. The
// rootfs must not be changing underneath (the caller mounts it before the container runs).
//
// The rootfs is a mounted directory, or an image's layer directories read without mounting them
// (`{layers}`, top first), with overlayfs's rules: a char 0:0 device whites a path out, a directory
// with trusted.overlay.opaque=y hides the layers below it, and a non-directory hides everything
// below. `containers create` reads the accounts that way: a temporary mount cost 5 ms.
import {closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync, type Stats} from 'node:fs'
import {FailedPrecondition, InvalidArgument, NotFound} from '../errors/index.js'
import {lgetxattr} from '../sys/index.js'
import {shortPath} from '../sys/tree.js'

/** A container rootfs: a directory (mounted), or an overlay's layer directories (top first), not mounted. */
export type RootFs = string | {readonly layers: readonly string[]}

/** One /etc/passwd line. */
export interface PasswdEntry {
  name: string
  uid: number
  gid: number
  home: string
  shell: string
}

/** One /etc/group line. */
export interface GroupEntry {
  name: string
  gid: number
  members: string[]
}

/** A resolved user: what goes into `process.user`, plus the passwd name and home when there is an entry. */
export interface ResolvedUser {
  uid: number
  gid: number
  additionalGids: number[]
  username?: string
  home?: string
}

/** Files larger than this are refused: a real passwd or group file is far smaller. */
export const MAX_ACCOUNT_FILE_BYTES = 4 * 1024 * 1024
const MAX_ID = 4294967294 // (uint32)-1 means "no id" to the kernel
const SYMLOOP_MAX = 40

const parseId = (s: string): number | undefined => {
  if (!/^\d{1,10}$/.test(s)) return undefined
  const n = Number(s)
  return n <= MAX_ID ? n : undefined
}

const lines = (text: string): string[][] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('+') && !l.startsWith('-'))
    .map((l) => l.split(':'))

/** The entries of an /etc/passwd text; comments, NIS lines and lines with a non-numeric uid or gid are skipped. */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = []
  for (const f of lines(text)) {
    const uid = parseId(f[2] ?? '')
    const gid = parseId(f[3] ?? '')
    if (!f[0] || uid === undefined || gid === undefined) continue
    out.push({name: f[0], uid, gid, home: f[5] ?? '', shell: f[6] ?? ''})
  }
  return out
}

/** The entries of an /etc/group text; comments, NIS lines and lines with a non-numeric gid are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = []
  for (const f of lines(text)) {
    const gid = parseId(f[2] ?? '')
    if (!f[0] || gid === undefined) continue
    out.push({
      name: f[0],
      gid,
      members: (f[3] ?? '')
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== ''),
    })
  }
  return out
}

const errCode = (err: unknown): string | undefined => (err as NodeJS.ErrnoException).code

/** Where a path of the rootfs lives on the host, and what it is there. */
interface Located {
  host: string
  st: Stats
}

const lstatOrUndefined = (path: string): Stats | undefined => {
  try {
    return lstatSync(path)
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR') return undefined
    // Symlinks in the image can lead deeper than any path the host kernel takes.
    if (errCode(err) === 'ENAMETOOLONG')
      throw new FailedPrecondition(`a path in the container rootfs is too long to resolve (${shortPath(path)})`, {cause: err})
    throw err
  }
}

const isWhiteout = (st: Stats): boolean => st.isCharacterDevice() && st.rdev === 0
const isOpaque = (dir: string): boolean => lgetxattr(dir, 'trusted.overlay.opaque')?.toString() === 'y'

/** `parts` (no symlink resolved) in a stack of overlay layers, as the merged mount would show it. */
function locateInLayers(layers: readonly string[], parts: readonly string[]): Located | undefined {
  let visible = layers
  let found: Located | undefined
  for (let depth = 1; depth <= parts.length; depth++) {
    const rel = parts.slice(0, depth).join('/')
    const below: string[] = []
    found = undefined
    for (const [i, layer] of visible.entries()) {
      const host = `${layer}/${rel}`
      const st = lstatOrUndefined(host)
      if (st === undefined) continue
      if (isWhiteout(st)) break
      if (!st.isDirectory()) {
        // A file over directories is hidden by them; under none, it hides what is below.
        if (below.length === 0) found = {host, st}
        break
      }
      below.push(layer)
      found ??= {host, st}
      if (i < visible.length - 1 && isOpaque(host)) break
    }
    if (found === undefined || (!found.st.isDirectory() && depth < parts.length)) return found
    visible = below
  }
  return found
}

/**
 * The host path of `path` inside `root`, with every symlink resolved as if `root` were `/`.
 * Returns undefined when a component does not exist or is not a directory.
 * @throws InvalidArgument for a relative root; FailedPrecondition after 40 symlinks (a loop) or for a
 * host path longer than the kernel takes.
 */
export function resolveInRoot(root: RootFs, path: string): string | undefined {
  const dirs = typeof root === 'string' ? [root] : root.layers
  if (dirs.length === 0 || dirs.some((d) => !d.startsWith('/'))) throw new InvalidArgument(`rootfs ${JSON.stringify(root)} must be an absolute path`)
  const bases = dirs.map((d) => d.replace(/\/+$/, ''))
  const locate = (parts: readonly string[]): Located | undefined => {
    if (bases.length > 1) return locateInLayers(bases, parts)
    const host = `${bases[0]}/${parts.join('/')}`
    const st = lstatOrUndefined(host)
    return st === undefined ? undefined : {host, st}
  }
  const split = (p: string) => p.split('/').filter((c) => c !== '' && c !== '.')
  const pending = split(path)
  const done: string[] = []
  const hosts: string[] = [] // hosts[i]: where done[0..i] was found, kept in step with done
  let followed = 0
  while (pending.length > 0) {
    const part = pending.shift()!
    if (part === '..') {
      done.pop()
      hosts.pop()
      continue
    }
    done.push(part)
    const at = locate(done)
    if (at === undefined) return undefined
    if (at.st.isSymbolicLink()) {
      if (++followed > SYMLOOP_MAX) throw new FailedPrecondition(`resolving ${JSON.stringify(path)} in the container rootfs: too many levels of symbolic links`)
      const target = readlinkSync(at.host)
      done.pop()
      if (target.startsWith('/')) done.length = hosts.length = 0
      pending.unshift(...split(target))
      continue
    }
    if (!at.st.isDirectory() && pending.length > 0) return undefined
    hosts.push(at.host)
  }
  return hosts.at(-1) ?? (bases[0] || '/')
}

/**
 * The text of a file inside the rootfs (see {@link resolveInRoot}), or undefined when it is absent or not a
 * regular file (a FIFO or device planted by an image is never opened for reading).
 * @throws FailedPrecondition for a file over {@link MAX_ACCOUNT_FILE_BYTES} or a symlink loop.
 */
export function readRootFile(root: RootFs, path: string, maxBytes = MAX_ACCOUNT_FILE_BYTES): string | undefined {
  const host = resolveInRoot(root, path)
  if (host === undefined) return undefined
  let fd: number
  try {
    fd = openSync(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    if (errCode(err) === 'ENOENT' || errCode(err) === 'ENOTDIR' || errCode(err) === 'ELOOP') return undefined
    throw err
  }
  try {
    const st = fstatSync(fd)
    if (!st.isFile()) return undefined
    if (st.size > maxBytes) throw new FailedPrecondition(`${path} in the container rootfs is larger than ${maxBytes} bytes`)
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const chunk = Buffer.alloc(64 * 1024)
      const n = readSync(fd, chunk, 0, chunk.length, null)
      if (n === 0) break
      total += n
      if (total > maxBytes) throw new FailedPrecondition(`${path} in the container rootfs is larger than ${maxBytes} bytes`)
      chunks.push(chunk.subarray(0, n))
    }
    return Buffer.concat(chunks, total).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

/** The account files of a rootfs, read lazily and at most once. */
class Accounts {
  #passwd: PasswdEntry[] | undefined
  #group: GroupEntry[] | undefined
  constructor(private readonly rootfs: RootFs | undefined) {}
  passwd(): PasswdEntry[] {
    return (this.#passwd ??= this.rootfs === undefined ? [] : parsePasswd(readRootFile(this.rootfs, '/etc/passwd') ?? ''))
  }
  group(): GroupEntry[] {
    return (this.#group ??= this.rootfs === undefined ? [] : parseGroup(readRootFile(this.rootfs, '/etc/group') ?? ''))
  }
}

/**
 * Resolve a user string against the rootfs's /etc/passwd and /etc/group (OCI image-spec `User` forms:
 * `user`, `uid`, `user:group`, `uid:gid`, `uid:group`, `user:gid`). Empty means root. Rules (containerd 1.7):
 * - a numeric uid needs no passwd entry (then gid 0); with one, the gid comes from it;
 * - a name must exist in /etc/passwd, a group name in /etc/group;
 * - an explicit group replaces the passwd gid;
 * - additionalGids lists every group naming the user as a member, except the group named like the user.
 * Without a rootfs (undefined) the account files count as absent.
 * @throws InvalidArgument for a malformed string or out-of-range id; NotFound for an unknown user or group name.
 */
export function resolveUser(rootfs: RootFs | undefined, user: string | undefined): ResolvedUser {
  const accounts = new Accounts(rootfs)
  const spec = user ?? ''
  const parts = spec === '' ? ['0'] : spec.split(':')
  if (parts.length > 2 || parts.some((p) => p === '')) throw new InvalidArgument(`invalid USER value ${JSON.stringify(spec)}`)
  const [userPart, groupPart] = parts as [string, string | undefined]

  let entry: PasswdEntry | undefined
  let uid: number
  let gid: number
  const numericUid = parseId(userPart)
  if (numericUid !== undefined) {
    uid = numericUid
    entry = accounts.passwd().find((p) => p.uid === uid)
    // No user at all is containerd's default spec: 0:0, whatever passwd says about uid 0.
    gid = spec === '' ? 0 : (entry?.gid ?? 0)
  } else {
    if (/^\d+$/.test(userPart)) throw new InvalidArgument(`uid ${userPart} out of range`)
    entry = accounts.passwd().find((p) => p.name === userPart)
    if (!entry) throw new NotFound(`user ${JSON.stringify(userPart)}: no users found in the image's /etc/passwd`)
    uid = entry.uid
    gid = entry.gid
  }
  if (groupPart !== undefined) {
    const numericGid = parseId(groupPart)
    if (numericGid !== undefined) gid = numericGid
    else {
      if (/^\d+$/.test(groupPart)) throw new InvalidArgument(`gid ${groupPart} out of range`)
      const group = accounts.group().find((g) => g.name === groupPart)
      if (!group) throw new NotFound(`group ${JSON.stringify(groupPart)}: no groups found in the image's /etc/group`)
      gid = group.gid
    }
  }
  const username = spec === '' ? 'root' : entry?.name
  const additionalGids: number[] = []
  if (username !== undefined) {
    for (const g of accounts.group()) {
      if (g.name !== username && g.members.includes(username) && !additionalGids.includes(g.gid)) additionalGids.push(g.gid)
    }
  }
  const resolved: ResolvedUser = {uid, gid, additionalGids}
  if (entry) {
    resolved.username = entry.name
    resolved.home = entry.home
  }
  return resolved
}
