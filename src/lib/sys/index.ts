// Typed access to the Linux system calls Node lacks (mknod, xattrs, mount, flock, nanosecond
// utimensat, fallocate, copy_file_range, sync_file_range, fadvise, a link up in a netns), through Berth's own N-API addon (native/berth.c).
//
// Invariants: importing this module has no side effects — the addon is loaded on the first call,
// by absolute path from this module's location, so it works from the tsc output
// (dist/src/lib/sys/) and from the one-file bundle (dist/bundle/ctr.cjs) alike. Failed calls
// throw Node-style errors (`code` like 'EPERM', `errno`, `syscall`, `path`), exactly like `node:fs`.
import {existsSync} from 'node:fs'
import {createRequire} from 'node:module'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {getSystemErrorMap} from 'node:util'
import {FailedPrecondition} from '../errors/index.js'

/** File type bits for {@link mknod} (Linux values, checked against the addon by the tests). */
export const S_IFCHR = 0o020000
export const S_IFBLK = 0o060000
export const S_IFIFO = 0o010000

/** mount(2) flags. */
export const MS_RDONLY = 0x1
export const MS_NOSUID = 0x2
export const MS_NODEV = 0x4
export const MS_NOEXEC = 0x8
export const MS_REMOUNT = 0x20
export const MS_BIND = 0x1000
export const MS_REC = 0x4000
export const MS_PRIVATE = 0x40000

/** umount2(2) flags. */
export const MNT_FORCE = 0x1
export const MNT_DETACH = 0x2
export const MNT_EXPIRE = 0x4
export const UMOUNT_NOFOLLOW = 0x8

/** flock(2) operations. */
export const LOCK_SH = 1
export const LOCK_EX = 2
export const LOCK_NB = 4
export const LOCK_UN = 8

/** shutdown(2) directions. */
export const SHUT_RD = 0
export const SHUT_WR = 1
export const SHUT_RDWR = 2

/** fallocate(2) mode: open a hole at an offset, moving the rest of the file up (block-aligned; ext4, xfs). */
export const FALLOC_FL_INSERT_RANGE = 0x20

/** sync_file_range(2) flags. */
export const SYNC_FILE_RANGE_WAIT_BEFORE = 1
export const SYNC_FILE_RANGE_WRITE = 2
export const SYNC_FILE_RANGE_WAIT_AFTER = 4

/** posix_fadvise(2) advice. */
export const POSIX_FADV_SEQUENTIAL = 2
export const POSIX_FADV_WILLNEED = 3
export const POSIX_FADV_DONTNEED = 4

/** inotify(7) event bits (the addon checks them against the kernel's headers in its constants). */
export const IN_MODIFY = 0x2
export const IN_ATTRIB = 0x4
export const IN_CLOSE_WRITE = 0x8
export const IN_MOVED_FROM = 0x40
export const IN_MOVED_TO = 0x80
export const IN_CREATE = 0x100
export const IN_DELETE = 0x200
export const IN_Q_OVERFLOW = 0x4000

/** One inotify event: its bits and the name of the file in the watched directory ('' for the directory or an overflow). */
export interface InotifyEvent {
  readonly mask: number
  readonly name: string
}

/** A point in time as the kernel stores it: whole seconds (may be negative) and nanoseconds 0..999999999. */
export interface Timespec {
  readonly sec: number
  readonly nsec: number
}

/** The error every failed call throws: what `node:fs` throws for the same failure. */
export interface SystemError extends Error {
  readonly code: string
  readonly errno: number
  readonly syscall: string
  readonly path?: string
}

interface Addon {
  mknod(path: string, mode: number, major: number, minor: number): void
  lsetxattr(path: string, name: string, value: Buffer): void
  lgetxattr(path: string, name: string): Buffer | undefined
  llistxattr(path: string): string[]
  lremovexattr(path: string, name: string): void
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null, cwd: string | undefined): void
  umount(target: string, flags: number): void
  flock(fd: number, operation: number): void
  lutimens(path: string, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): void
  futimens(fd: number, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): void
  createEmpty(path: string, mode: number, uid: number, gid: number, sec: number, nsec: number, what: number): void
  seqpacketConnect(path: string): number
  shutdown(fd: number, how: number): void
  fallocate(fd: number, mode: number, offset: number, length: number): void
  copyFileRange(inFd: number, inOffset: number, outFd: number, outOffset: number, length: number): number
  copyFileRangeAsync(inFd: number, inOffset: number, outFd: number, outOffset: number, length: number): Promise<number>
  syncFileRange(fd: number, offset: number, nbytes: number, flags: number): void
  fadvise(fd: number, offset: number, length: number, advice: number): void
  inotifyWatch(dir: string, mask: number): number
  inotifyRead(fd: number): (number | string)[]
  linkUp(nsPath: string, name: string): void
  pinNamespaces(net: string | null, ipc: string | null, uts: string | null, hostname: string | null): void
  realtimeMicros(): number
  readonly constants: Readonly<Record<string, number>>
}

let addon: Addon | undefined

/** The loaded addon (loaded on first use). @throws FailedPrecondition when it was never built. */
function native(): Addon {
  return (addon ??= loadAddon())
}

/**
 * Where the addon lives: `<dist>/native/berth.node`, where `<dist>` is the `dist` directory this
 * module was compiled or bundled into; a checkout's `build/Release/berth.node` (node-gyp's own
 * output) is the fallback for a tsc-only build.
 * @returns the candidate paths, best first.
 */
export function addonPaths(): string[] {
  const dir = distDir()
  if (dir === undefined) return []
  return [join(dir, 'native', 'berth.node'), join(dir, '..', 'build', 'Release', 'berth.node')]
}

/** The `dist` directory this module was compiled or bundled into (the same for both), if any. */
export function distDir(): string | undefined {
  // In the bundle (CommonJS) the file's own path is at hand; the tsc output (ESM) derives it.
  let dir = dirname(typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url))
  while (basename(dir) !== 'dist' && dirname(dir) !== dir) dir = dirname(dir)
  return basename(dir) === 'dist' ? dir : undefined
}

function loadAddon(): Addon {
  const paths = addonPaths()
  const path = paths.find((p) => existsSync(p))
  if (path === undefined) {
    throw new FailedPrecondition(`native addon berth.node not found (looked in ${paths.join(', ') || 'no dist directory'}): run \`npm run build\``)
  }
  // The bundle (CommonJS) has require at hand; import.meta.url would cost a pathToFileURL there.
  return (typeof require === 'function' ? require : createRequire(import.meta.url))(path) as Addon
}

let errnoNames: Map<number, [string, string]> | undefined

/** Turns the addon's bare error into the Node-style error `node:fs` would throw. */
function systemError(err: unknown): unknown {
  const e = err as {errno?: unknown; syscall?: unknown; path?: unknown; message: string; code?: string}
  if (typeof e !== 'object' || e === null || typeof e.errno !== 'number' || typeof e.syscall !== 'string') return err
  errnoNames ??= getSystemErrorMap()
  const [code, description] = errnoNames.get(e.errno) ?? [`Unknown system error ${e.errno}`, 'unknown error']
  e.code = code
  e.message = `${code}: ${description}, ${e.syscall}${typeof e.path === 'string' ? ` '${e.path}'` : ''}`
  return e
}

/**
 * Create a device node or FIFO at `path` (never following a symlink there: an existing entry
 * fails with EEXIST). `mode` combines a type ({@link S_IFCHR}, {@link S_IFBLK}, {@link S_IFIFO})
 * with permission bits, which the umask narrows.
 * @throws SystemError.
 */
export function mknod(path: string, mode: number, major = 0, minor = 0): void {
  try {
    native().mknod(path, mode, major, minor)
  } catch (err) {
    throw systemError(err)
  }
}

/** Set extended attribute `name` of the entry at `path` itself (symlinks are not followed). @throws SystemError. */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  try {
    native().lsetxattr(path, name, value)
  } catch (err) {
    throw systemError(err)
  }
}

/** @returns the value of attribute `name` of the entry at `path` itself, or undefined when it has none (ENODATA). @throws SystemError. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  try {
    return native().lgetxattr(path, name)
  } catch (err) {
    throw systemError(err)
  }
}

/** @returns the names of the extended attributes of the entry at `path` itself. @throws SystemError. */
export function llistxattr(path: string): string[] {
  try {
    return native().llistxattr(path)
  } catch (err) {
    throw systemError(err)
  }
}

/** Remove attribute `name` of the entry at `path` itself. @throws SystemError (ENODATA when absent). */
export function lremovexattr(path: string, name: string): void {
  try {
    native().lremovexattr(path, name)
  } catch (err) {
    throw systemError(err)
  }
}

/**
 * mount(2). With `cwd`, the call runs with that working directory, and the previous one is
 * restored afterwards: overlayfs resolves relative `lowerdir=` entries against it, which keeps
 * the option string of many layers within its one-page limit. The working directory is
 * process-wide, so nothing else in the process should use relative paths meanwhile.
 * @throws SystemError.
 */
export function mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null, cwd?: string): void {
  try {
    native().mount(source, target, fstype, flags, data, cwd)
  } catch (err) {
    throw systemError(err)
  }
}

/** umount2(2) with `flags` ({@link MNT_DETACH}, ...). @throws SystemError. */
export function umount(target: string, flags = 0): void {
  try {
    native().umount(target, flags)
  } catch (err) {
    throw systemError(err)
  }
}

/**
 * flock(2) on an open descriptor: {@link LOCK_EX} or {@link LOCK_SH}, optionally with
 * {@link LOCK_NB}, or {@link LOCK_UN}. Without LOCK_NB it blocks the calling thread until the
 * lock is granted; with it, a held lock fails with code EAGAIN (EWOULDBLOCK).
 * @throws SystemError.
 */
export function flock(fd: number, operation: number): void {
  try {
    native().flock(fd, operation)
  } catch (err) {
    throw systemError(err)
  }
}

/**
 * The wall clock in unix microseconds (CLOCK_REALTIME), or undefined where the addon cannot load.
 * Cheaper than `performance.timeOrigin + performance.now()`, whose first use loads perf_hooks.
 */
export function realtimeMicros(): number | undefined {
  try {
    return native().realtimeMicros()
  } catch {
    return undefined
  }
}

/** Set the access and modification times of the entry at `path` itself (symlinks not followed), to the nanosecond. @throws SystemError. */
export function lutimens(path: string, atime: Timespec, mtime: Timespec): void {
  try {
    native().lutimens(path, atime.sec, atime.nsec, mtime.sec, mtime.nsec)
  } catch (err) {
    throw systemError(err)
  }
}

/** Set the access and modification times of an open file, to the nanosecond. @throws SystemError. */
export function futimens(fd: number, atime: Timespec, mtime: Timespec): void {
  try {
    native().futimens(fd, atime.sec, atime.nsec, mtime.sec, mtime.nsec)
  } catch (err) {
    throw systemError(err)
  }
}

/**
 * Create an empty regular file at `path` (O_CREAT|O_EXCL|O_NOFOLLOW: never following or reusing
 * what is there) and give it its metadata in the same call: owner when `chown`, mode (all 12 bits)
 * when `chmod`, else the open mode `mode & 0o777` narrowed by the umask; then the times (atime =
 * mtime). One native call for what would otherwise be four or five (open, fchown, fchmod, futimens,
 * close): a layer of many empty files spends most of its user time crossing into the kernel.
 * @throws SystemError (syscall open, fchown, fchmod or futimens; the file stays on failure).
 */
export function createEmptyFile(path: string, mode: number, owner: {uid: number; gid: number} | undefined, chmod: boolean, mtime: Timespec): void {
  try {
    native().createEmpty(path, mode, owner?.uid ?? 0, owner?.gid ?? 0, mtime.sec, mtime.nsec, (owner ? 1 : 0) | (chmod ? 2 : 0))
  } catch (err) {
    throw systemError(err)
  }
}

/** @returns the constants as compiled into the addon (loads it); for checking the ones exported here. */
export function nativeConstants(): Readonly<Record<string, number>> {
  return native().constants
}

/**
 * Connect a blocking, close-on-exec SOCK_SEQPACKET unix socket to `path` (Node's `net` cannot:
 * libuv knows stream sockets only). Paths longer than `sun_path` are reached through their
 * directory (`/proc/self/fd/<dirfd>/<name>`). Read it with `fs.read(fd, ..., null)`: each read
 * returns one packet (truncated to the buffer); 0 means the peer closed it. Close it with `fs.close`.
 * @returns the socket's descriptor.
 * @throws SystemError (ENOENT, ECONNREFUSED when nobody listens, ...).
 */
export function seqpacketConnect(path: string): number {
  try {
    return native().seqpacketConnect(path)
  } catch (err) {
    throw systemError(err)
  }
}

/** shutdown(2) of a socket: {@link SHUT_RD}, {@link SHUT_WR} or {@link SHUT_RDWR}. @throws SystemError. */
export function shutdownSocket(fd: number, how: number): void {
  try {
    native().shutdown(fd, how)
  } catch (err) {
    throw systemError(err)
  }
}

/**
 * fallocate(2) with `mode` on an open descriptor; {@link FALLOC_FL_INSERT_RANGE} inserts `length`
 * bytes of hole at `offset` (both multiples of the filesystem's block size) without copying data.
 * @throws SystemError (EOPNOTSUPP where the filesystem cannot, EINVAL when not aligned).
 */
export function fallocate(fd: number, mode: number, offset: number, length: number): void {
  try {
    native().fallocate(fd, mode, offset, length)
  } catch (err) {
    throw systemError(err)
  }
}

/**
 * Copy `length` bytes from `inFd` at `inOffset` to `outFd` at `outOffset` inside the kernel
 * (copy_file_range(2); file offsets are not moved). Blocks the calling thread.
 * @returns the bytes copied: less than `length` only when the source ends first.
 * @throws SystemError (EXDEV, EINVAL, ... where the kernel cannot: callers fall back to read/write).
 */
export function copyFileRange(inFd: number, inOffset: number, outFd: number, outOffset: number, length: number): number {
  try {
    return native().copyFileRange(inFd, inOffset, outFd, outOffset, length)
  } catch (err) {
    throw systemError(err)
  }
}

/**
 * {@link copyFileRange} on libuv's thread pool: the event loop runs on meanwhile. Both descriptors
 * must stay open until the promise settles.
 * @returns the bytes copied. @throws SystemError (the promise rejects).
 */
export async function copyFileRangeAsync(inFd: number, inOffset: number, outFd: number, outOffset: number, length: number): Promise<number> {
  try {
    return await native().copyFileRangeAsync(inFd, inOffset, outFd, outOffset, length)
  } catch (err) {
    throw systemError(err)
  }
}

/** sync_file_range(2): {@link SYNC_FILE_RANGE_WRITE} starts writeback of the range (`nbytes` 0: to the end). @throws SystemError. */
export function syncFileRange(fd: number, offset: number, nbytes: number, flags: number): void {
  try {
    native().syncFileRange(fd, offset, nbytes, flags)
  } catch (err) {
    throw systemError(err)
  }
}

/** posix_fadvise(2) of a range (`length` 0: to the end) with {@link POSIX_FADV_SEQUENTIAL} and friends. @throws SystemError. */
export function fadvise(fd: number, offset: number, length: number, advice: number): void {
  try {
    native().fadvise(fd, offset, length, advice)
  } catch (err) {
    throw systemError(err)
  }
}

/**
 * A non-blocking inotify(7) descriptor watching directory `dir` for the events in `mask` (IN_*
 * bits); read it with {@link inotifyRead}, close it with closeSync. @throws SystemError.
 */
export function inotifyWatch(dir: string, mask: number): number {
  try {
    return native().inotifyWatch(dir, mask)
  } catch (err) {
    throw systemError(err)
  }
}

/** The events queued on inotify descriptor `fd`, without waiting (none: empty). @throws SystemError. */
export function inotifyRead(fd: number): InotifyEvent[] {
  let flat: (number | string)[]
  try {
    flat = native().inotifyRead(fd)
  } catch (err) {
    throw systemError(err)
  }
  const events: InotifyEvent[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) events.push({mask: flat[i] as number, name: flat[i + 1] as string})
  return events
}

/**
 * Bring network link `name` (`lo`) up in the network namespace at `nsPath` (a pin, or
 * `/proc/<pid>/ns/net`); one already up is left alone. The namespace is entered by a short-lived
 * thread of its own, so the process's namespace never changes. Needs CAP_NET_ADMIN there.
 * @throws SystemError (syscall open, setns, ioctl; ENODEV for no such link).
 */
export function linkUp(nsPath: string, name: string): void {
  try {
    native().linkUp(nsPath, name)
  } catch (err) {
    throw systemError(err)
  }
}

/**
 * Make new net, ipc and uts namespaces (those whose file is given) and pin each at its file (an
 * existing file, bind-mounted over with the namespace's nsfs handle), in a thread of the addon's
 * own: no process runs and none is needed to keep them. With `uts`, `hostname` is set in it; with
 * `net`, its `lo` is brought up. On failure no mount is left (the files stay).
 * @throws SystemError (syscall unshare, sethostname, ioctl or mount).
 */
export function pinNewNamespaces(files: {net?: string; ipc?: string; uts?: string}, hostname?: string): void {
  try {
    native().pinNamespaces(files.net ?? null, files.ipc ?? null, files.uts ?? null, hostname ?? null)
  } catch (err) {
    throw systemError(err)
  }
}
