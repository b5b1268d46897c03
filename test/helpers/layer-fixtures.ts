// A three-layer fixture that exercises everything a layer applier must preserve or apply:
// modes (setuid, setgid, sticky, 0000, 7777), owners (large ones too), mtimes (with nanoseconds),
// xattrs (user.*, security.capability), symlinks (relative, absolute, dangling, owned), hardlinks
// (in one layer and across layers), devices, fifos, PAX, GNU and UTF-8 names, whiteouts, opaque
// directories, replacements both ways, a path listed twice, and a whiteout followed by a new
// directory in the same layer. Every directory is listed explicitly with its metadata.
import type {TarEntry} from './tar-writer.js'

const T0 = 1_600_000_000
const CAP = Buffer.from('0100000200200000000000000000000000000000', 'hex') // cap_net_bind_service+ep (VFS_CAP_REVISION_2)

const dir = (path: string, mode = 0o755, mtime = T0, extra: Partial<TarEntry> = {}): TarEntry => ({path, type: 'dir', mode, mtime, ...extra})
const file = (path: string, content: string, mode = 0o644, mtime = T0 + 1, extra: Partial<TarEntry> = {}): TarEntry => ({
  path,
  type: 'file',
  content,
  mode,
  mtime,
  ...extra,
})

/** Layers bottom first. Paths are relative; every parent directory is listed before its children. */
export function featureLayers(): TarEntry[][] {
  const longDir = 'long/' + 'd'.repeat(120) + '/'
  const base: TarEntry[] = [
    dir('etc/', 0o755, T0 + 10),
    file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n', 0o644, T0 + 11),
    file('etc/shadow', 'root:*:1::::::\n', 0o640, T0 + 12, {gid: 42}),
    dir('usr/', 0o755, T0 + 20),
    dir('usr/bin/', 0o755, T0 + 21),
    file('usr/bin/su', 'su binary', 0o4755, T0 + 22, {uid: 0, gid: 0}),
    file('usr/bin/wall', 'wall binary', 0o2755, T0 + 23, {gid: 5}),
    file('usr/bin/ping', 'ping binary', 0o755, T0 + 24, {uid: 1000, gid: 1000, xattrs: {'security.capability': CAP}}),
    file('usr/bin/tool', 'tool binary', 0o755, T0 + 25, {uid: 12, gid: 34, xattrs: {'user.origin': 'base'}}),
    {path: 'usr/bin/tool-alias', type: 'hardlink', linkname: 'usr/bin/tool'},
    {path: 'usr/bin/sh', type: 'symlink', linkname: '../../bin/busybox', mtime: T0 + 26},
    {path: 'usr/bin/abs', type: 'symlink', linkname: '/etc/passwd', mtime: T0 + 27, uid: 7, gid: 8},
    {path: 'usr/bin/dangling', type: 'symlink', linkname: 'no/such/target', mtime: T0 + 28},
    dir('modes/', 0o755, T0 + 30),
    file('modes/none', 'nobody may read', 0o000, T0 + 31),
    file('modes/all', 'everything set', 0o7777, T0 + 32),
    dir('modes/sticky/', 0o1777, T0 + 33),
    dir('modes/private/', 0o700, T0 + 34, {uid: 1000, gid: 1000}),
    dir('modes/closed/', 0o000, T0 + 35),
    file('modes/closed/inside', 'in a 000 directory', 0o600, T0 + 36),
    dir('owners/', 0o755, T0 + 40),
    file('owners/small', 'owned', 0o644, T0 + 41, {uid: 1234, gid: 5678}),
    file('owners/large', 'owned by a big id', 0o644, T0 + 42, {uid: 3_000_000_000, gid: 3_000_000_001}),
    dir('times/', 0o755, T0 + 50),
    {path: 'times/nanos', type: 'file', content: 'ns', mode: 0o644, pax: {mtime: `${T0 + 51}.123456789`}},
    {path: 'times/old', type: 'file', content: 'old', mode: 0o644, mtime: 86_400},
    dir('xattrs/', 0o755, T0 + 60, {xattrs: {'user.dir': 'on a directory'}}),
    file('xattrs/file', 'with xattrs', 0o644, T0 + 61, {xattrs: {'user.text': 'value', 'user.binary': Buffer.from([0, 1, 2, 0xff])}}),
    dir('dev/', 0o755, T0 + 70),
    {path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, mtime: T0 + 71},
    {path: 'dev/sda1', type: 'block', devmajor: 8, devminor: 1, mode: 0o660, gid: 6, mtime: T0 + 72},
    {path: 'dev/initctl', type: 'fifo', mode: 0o600, mtime: T0 + 73},
    dir('names/', 0o755, T0 + 80),
    file('names/ünïcødé ✓ 名前.txt', 'utf-8 name', 0o644, T0 + 81),
    dir('long/', 0o755, T0 + 82),
    dir(longDir, 0o755, T0 + 83),
    file(longDir + 'f'.repeat(150), 'a PAX long name', 0o644, T0 + 84),
    dir('wh/', 0o755, T0 + 90),
    file('wh/gone', 'to be whited out'),
    dir('wh/dir-gone/', 0o755, T0 + 91),
    file('wh/dir-gone/inside', 'goes with its directory'),
    file('wh/keep', 'stays'),
    dir('opq/', 0o755, T0 + 100),
    file('opq/old', 'hidden by the opaque marker'),
    dir('opq/sub/', 0o755, T0 + 101),
    file('opq/sub/older', 'hidden too'),
    dir('replace/', 0o755, T0 + 110),
    file('replace/file-to-dir', 'a file first'),
    dir('replace/dir-to-file/', 0o755, T0 + 111),
    file('replace/dir-to-file/child', 'goes away'),
    dir('var/', 0o755, T0 + 120),
    file('var/old', 'lower content of var'),
    dir('home/', 0o755, T0 + 130),
    dir('home/user/', 0o750, T0 + 131, {uid: 1000, gid: 1000}),
  ]
  const middle: TarEntry[] = [
    dir('etc/', 0o755, T0 + 1010),
    file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n', 0o600, T0 + 1011),
    dir('wh/', 0o755, T0 + 1090),
    {path: 'wh/.wh.gone', type: 'file', mtime: T0 + 1091},
    {path: 'wh/.wh.dir-gone', type: 'file', mtime: T0 + 1092},
    dir('opq/', 0o711, T0 + 1100),
    {path: 'opq/.wh..wh..opq', type: 'file'},
    file('opq/new', 'only this shows', 0o644, T0 + 1101),
    dir('replace/', 0o755, T0 + 1110),
    dir('replace/file-to-dir/', 0o750, T0 + 1111),
    file('replace/file-to-dir/inner', 'now a directory'),
    file('replace/dir-to-file', 'now a file', 0o600, T0 + 1112),
    dir('usr/', 0o755, T0 + 1020),
    dir('usr/bin/', 0o755, T0 + 1021),
    {path: 'usr/bin/tool-link2', type: 'hardlink', linkname: 'usr/bin/tool'},
    {path: '.wh.var', type: 'file'},
    dir('var/', 0o700, T0 + 1120),
    dir('var/new/', 0o755, T0 + 1121),
    dir('home/', 0o755, T0 + 1130),
    dir('home/user/', 0o750, T0 + 1131, {uid: 1000, gid: 1000}),
    file('home/user/.profile', 'export PS1=$\n', 0o644, T0 + 1132, {uid: 1000, gid: 1000}),
  ]
  const top: TarEntry[] = [
    file('twice', 'first version', 0o644, T0 + 2000),
    file('twice', 'second version wins', 0o600, T0 + 2001),
    dir('etc/', 0o755, T0 + 2010),
    {path: 'etc/.wh.shadow', type: 'file'},
    file('etc/hostname', 'fixture\n', 0o644, T0 + 2011),
    dir('dev/', 0o755, T0 + 2070),
    {path: 'dev/null', type: 'char', devmajor: 1, devminor: 5, mode: 0o666, mtime: T0 + 2071},
    dir('modes/', 0o755, T0 + 2030),
    file('modes/all', 'replaced, mode kept odd', 0o6711, T0 + 2032),
  ]
  return [base, middle, top]
}
