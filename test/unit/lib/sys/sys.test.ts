// The native addon through src/lib/sys: mknod, xattrs, mount/umount (with a cwd for relative
// overlay lowerdirs), flock, nanosecond times, Node-style errors, and loading from a bundle.
// Device nodes, trusted.* xattrs and mounts need root: skipped without it unless CI is set.
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {
  closeSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import * as esbuild from 'esbuild'
import * as sys from '../../../../src/lib/sys/index.js'
import {REPO_ROOT} from '../../../helpers/cli.js'
import {devParts} from '../../../helpers/fs-tree.js'

const isRoot = process.getuid?.() === 0
const needsRoot = !isRoot && !process.env['CI'] ? 'needs root' : false
const dir = mkdtempSync(join(tmpdir(), 'berth-sys-'))
after(() => rmSync(dir, {recursive: true, force: true}))

/** The thrown error's code/syscall/path, for comparing. */
function thrown(fn: () => unknown): {code?: string; syscall?: string; path?: string; message: string} {
  try {
    fn()
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    return {code: e.code!, syscall: e.syscall!, path: e.path!, message: e.message}
  }
  assert.fail('did not throw')
}

describe('sys', () => {
  test('exported constants equal the addon compiled ones', () => {
    const c = sys.nativeConstants()
    for (const name of [
      'S_IFCHR',
      'S_IFBLK',
      'S_IFIFO',
      'MS_RDONLY',
      'MS_NOSUID',
      'MS_NODEV',
      'MS_NOEXEC',
      'MS_REMOUNT',
      'MS_BIND',
      'MS_REC',
      'MS_PRIVATE',
      'MNT_FORCE',
      'MNT_DETACH',
      'MNT_EXPIRE',
      'UMOUNT_NOFOLLOW',
      'LOCK_SH',
      'LOCK_EX',
      'LOCK_NB',
      'LOCK_UN',
      'SHUT_RD',
      'SHUT_WR',
      'SHUT_RDWR',
      'FALLOC_FL_INSERT_RANGE',
      'SYNC_FILE_RANGE_WAIT_BEFORE',
      'SYNC_FILE_RANGE_WRITE',
      'SYNC_FILE_RANGE_WAIT_AFTER',
      'POSIX_FADV_SEQUENTIAL',
      'POSIX_FADV_WILLNEED',
      'POSIX_FADV_DONTNEED',
      'IN_MODIFY',
      'IN_ATTRIB',
      'IN_CLOSE_WRITE',
      'IN_MOVED_FROM',
      'IN_MOVED_TO',
      'IN_CREATE',
      'IN_DELETE',
      'IN_Q_OVERFLOW',
    ]) {
      assert.equal((sys as unknown as Record<string, number>)[name], c[name], name)
    }
  })

  test('seqpacketConnect reaches a SOCK_SEQPACKET listener packet by packet; a missing path is ENOENT', async () => {
    const path = join(dir, 'sp.sock')
    // Node cannot listen on SOCK_SEQPACKET; python3 (Debian base) can.
    const server = spawn(
      'python3',
      [
        '-c',
        `import socket,sys
s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1]); s.listen(1); print('ready', flush=True)
c,_=s.accept(); c.send(b'\\x02one'); c.send(b'\\x03two'); print(c.recv(100).decode(), flush=True); c.close()`,
        path,
      ],
      {stdio: ['ignore', 'pipe', 'inherit']},
    )
    let out = ''
    server.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    while (!out.includes('ready')) await new Promise((r) => setTimeout(r, 10))
    const fd = sys.seqpacketConnect(path)
    try {
      const buf = Buffer.alloc(100)
      // One read, one packet: the boundaries conmon's attach protocol relies on.
      assert.equal(buf.subarray(0, readSync(fd, buf)).toString('latin1'), '\x02one')
      assert.equal(buf.subarray(0, readSync(fd, buf)).toString('latin1'), '\x03two')
      writeSync(fd, 'typed')
      assert.equal(readSync(fd, buf), 0) // closed by the peer
    } finally {
      closeSync(fd)
    }
    await new Promise((r) => server.on('exit', r))
    assert.equal(out.trim(), 'ready\ntyped')
    assert.equal(thrown(() => sys.seqpacketConnect(join(dir, 'absent.sock'))).code, 'ENOENT')
  })

  test('mknod makes fifos; errors look like node:fs errors', () => {
    const fifo = join(dir, 'fifo')
    sys.mknod(fifo, sys.S_IFIFO | 0o640)
    assert.ok(lstatSync(fifo).isFIFO())
    const e = thrown(() => sys.mknod(fifo, sys.S_IFIFO | 0o600))
    assert.deepEqual([e.code, e.syscall, e.path], ['EEXIST', 'mknod', fifo])
    assert.equal(e.message, `EEXIST: file already exists, mknod '${fifo}'`)
    // never through a symlink at the final name
    const link = join(dir, 'dangling')
    symlinkSync(join(dir, 'would-be-created'), link)
    assert.equal(thrown(() => sys.mknod(link, sys.S_IFIFO | 0o600)).code, 'EEXIST')
    assert.throws(() => sys.mknod(join(dir, 'a\0b'), sys.S_IFIFO), /NUL/)
  })

  test('mknod makes char and block devices with major/minor', {skip: needsRoot}, () => {
    sys.mknod(join(dir, 'null'), sys.S_IFCHR | 0o666, 1, 3)
    sys.mknod(join(dir, 'big'), sys.S_IFBLK | 0o600, 259, 70000)
    sys.mknod(join(dir, 'whiteout'), sys.S_IFCHR, 0, 0)
    const st = (p: string) => lstatSync(join(dir, p), {bigint: true})
    assert.ok(st('null').isCharacterDevice())
    assert.deepEqual(devParts(st('null').rdev), [1, 3])
    assert.ok(st('big').isBlockDevice())
    assert.deepEqual(devParts(st('big').rdev), [259, 70000])
    assert.equal(st('whiteout').rdev, 0n)
  })

  test('xattrs: set, get, list, remove; ENODATA is undefined; getfattr agrees', () => {
    const f = join(dir, 'x')
    writeFileSync(f, '')
    const value = Buffer.from([0, 1, 2, 255])
    sys.lsetxattr(f, 'user.bin', value)
    sys.lsetxattr(f, 'user.empty', Buffer.alloc(0))
    assert.deepEqual(sys.lgetxattr(f, 'user.bin'), value)
    assert.deepEqual(sys.lgetxattr(f, 'user.empty'), Buffer.alloc(0))
    assert.equal(sys.lgetxattr(f, 'user.none'), undefined)
    assert.deepEqual(
      sys
        .llistxattr(f)
        .filter((n) => n.startsWith('user.'))
        .sort(),
      ['user.bin', 'user.empty'],
    )
    const out = spawnSync('getfattr', ['-e', 'hex', '-n', 'user.bin', f], {encoding: 'utf8'})
    if (out.status === 0) assert.match(out.stdout, /user\.bin=0x000102ff/)
    sys.lremovexattr(f, 'user.bin')
    assert.equal(sys.lgetxattr(f, 'user.bin'), undefined)
    assert.equal(thrown(() => sys.lremovexattr(f, 'user.bin')).code, 'ENODATA')
    assert.equal(thrown(() => sys.llistxattr(join(dir, 'missing'))).code, 'ENOENT')
  })

  test('xattrs act on a symlink itself, never its target', {skip: needsRoot}, () => {
    const target = join(dir, 'target')
    writeFileSync(target, '')
    const link = join(dir, 'sym')
    symlinkSync(target, link)
    sys.lsetxattr(link, 'trusted.berth', Buffer.from('on-link'))
    assert.deepEqual(sys.lgetxattr(link, 'trusted.berth'), Buffer.from('on-link'))
    assert.equal(sys.lgetxattr(target, 'trusted.berth'), undefined)
    assert.equal(thrown(() => sys.lsetxattr(link, 'user.x', Buffer.from('y'))).code, 'EPERM') // user.* only on files and dirs
  })

  test('nanosecond times, on a path (not following) and on a descriptor', () => {
    const f = join(dir, 't')
    writeFileSync(f, '')
    sys.lutimens(f, {sec: 1, nsec: 2}, {sec: 1_700_000_000, nsec: 123_456_789})
    assert.equal(lstatSync(f, {bigint: true}).mtimeNs, 1_700_000_000_123_456_789n)
    const link = join(dir, 't-link')
    symlinkSync(f, link)
    sys.lutimens(link, {sec: 0, nsec: 0}, {sec: -5, nsec: 500})
    assert.equal(lstatSync(link, {bigint: true}).mtimeNs, -4_999_999_500n)
    assert.equal(lstatSync(f, {bigint: true}).mtimeNs, 1_700_000_000_123_456_789n)
    const fd = openSync(f, 'r')
    sys.futimens(fd, {sec: 3, nsec: 0}, {sec: 4, nsec: 999_999_999})
    closeSync(fd)
    assert.equal(lstatSync(f, {bigint: true}).mtimeNs, 4_999_999_999n)
    assert.throws(() => sys.futimens(0, {sec: 0, nsec: 1e9}, {sec: 0, nsec: 0}), RangeError)
  })

  test('realtimeMicros is the wall clock in microseconds, between two Date.now() readings', () => {
    const before = Date.now() * 1000
    const micros = sys.realtimeMicros()
    const after = (Date.now() + 1) * 1000
    assert.ok(micros !== undefined && Number.isInteger(micros), `${micros}`)
    assert.ok(micros >= before && micros <= after, `${before} <= ${micros} <= ${after}`)
  })

  test('flock: exclusive between descriptors, LOCK_NB fails with EAGAIN, LOCK_UN releases', () => {
    const f = join(dir, 'lock')
    writeFileSync(f, '')
    const a = openSync(f, 'r')
    const b = openSync(f, 'r')
    try {
      sys.flock(a, sys.LOCK_EX)
      const e = thrown(() => sys.flock(b, sys.LOCK_EX | sys.LOCK_NB))
      assert.deepEqual([e.code, e.syscall], ['EAGAIN', 'flock'])
      assert.equal(thrown(() => sys.flock(b, sys.LOCK_SH | sys.LOCK_NB)).code, 'EAGAIN')
      sys.flock(a, sys.LOCK_UN)
      sys.flock(b, sys.LOCK_EX | sys.LOCK_NB)
    } finally {
      closeSync(a)
      closeSync(b)
    }
  })

  test('mount and umount: tmpfs, then overlay with relative lowerdirs under a given cwd', {skip: needsRoot}, () => {
    const base = mkdtempSync(join(dir, 'mnt-'))
    const tmpfs = join(base, 'tmpfs')
    mkdirSync(tmpfs)
    sys.mount('tmpfs', tmpfs, 'tmpfs', sys.MS_NOSUID | sys.MS_NODEV, 'size=1m,mode=0700')
    try {
      writeFileSync(join(tmpfs, 'in-tmpfs'), 'x')
      assert.equal((lstatSync(tmpfs).mode & 0o777).toString(8), '700')
    } finally {
      sys.umount(tmpfs)
    }
    assert.equal(thrown(() => sys.umount(tmpfs)).code, 'EINVAL') // not mounted any more

    for (const name of ['l/a', 'l/b', 'merged']) mkdirSync(join(base, name), {recursive: true})
    writeFileSync(join(base, 'l/a/top'), 'from a')
    writeFileSync(join(base, 'l/b/bottom'), 'from b')
    const cwd = process.cwd()
    sys.mount('overlay', join(base, 'merged'), 'overlay', sys.MS_RDONLY, 'lowerdir=l/a:l/b', base)
    try {
      assert.equal(process.cwd(), cwd) // restored
      assert.equal(readFileSync(join(base, 'merged/top'), 'utf8'), 'from a')
      assert.equal(readFileSync(join(base, 'merged/bottom'), 'utf8'), 'from b')
    } finally {
      sys.umount(join(base, 'merged'), sys.MNT_DETACH)
    }
    // Without the cwd the relative lowerdirs do not resolve.
    assert.equal(thrown(() => sys.mount('overlay', join(base, 'merged'), 'overlay', sys.MS_RDONLY, 'lowerdir=l/a:l/b')).code, 'ENOENT')
    assert.equal(process.cwd(), cwd)
    const e = thrown(() => sys.mount('overlay', join(base, 'merged'), 'overlay', 0, 'lowerdir=l/a:l/b', join(base, 'no-such-dir')))
    assert.deepEqual([e.code, e.syscall], ['ENOENT', 'chdir'])
    assert.equal(process.cwd(), cwd)
  })

  test('the addon loads from a one-file CommonJS bundle, lazily', async () => {
    const out = join(REPO_ROOT, 'dist', 'test-bundles', `sys-${process.pid}.cjs`)
    await esbuild.build({
      absWorkingDir: REPO_ROOT,
      stdin: {
        contents: `const sys = require('./src/lib/sys/index.ts'); const fs = require('node:fs');
          const f = process.argv[2]; fs.writeFileSync(f, ''); sys.lsetxattr(f, 'user.bundle', Buffer.from('ok'));
          console.log(String(sys.lgetxattr(f, 'user.bundle')))`,
        resolveDir: REPO_ROOT,
        loader: 'ts',
      },
      outfile: out,
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      define: {'import.meta.url': '__berthModuleUrl'},
      banner: {js: "const __berthModuleUrl = require('node:url').pathToFileURL(__filename).href;"},
      logLevel: 'error',
    })
    try {
      const r = spawnSync(process.execPath, [out, join(dir, 'bundle-file')], {encoding: 'utf8'})
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.stdout.trim(), 'ok')
      // Importing loads nothing: the addon is dlopen()ed on the first call.
      const module = JSON.stringify(new URL('../../../../src/lib/sys/index.js', import.meta.url).href)
      const code = `const loaded = []; const dlopen = process.dlopen; process.dlopen = (m, p, ...r) => { loaded.push(p); return dlopen(m, p, ...r) };
        const sys = await import(${module}); const before = loaded.length; sys.llistxattr('/'); console.log(before, loaded.length)`
      const lazy = spawnSync(process.execPath, ['--input-type=module', '-e', code], {encoding: 'utf8'})
      assert.equal(lazy.status, 0, lazy.stderr)
      assert.equal(lazy.stdout.trim(), '0 1')
    } finally {
      rmSync(out, {force: true})
    }
  })
  describe('file ranges', () => {
    // /var/tmp: a disk filesystem (insert-range needs ext4 or xfs; /tmp may be a tmpfs).
    const disk = mkdtempSync(join('/var/tmp', 'berth-sys-range-'))
    after(() => rmSync(disk, {recursive: true, force: true}))
    const data = Buffer.alloc(3 * 4096 + 100)
    for (let i = 0; i < data.length; i++) data[i] = i % 251

    test('fallocate(FALLOC_FL_INSERT_RANGE) opens a zeroed block at the front and moves the data up; unaligned is EINVAL', () => {
      const path = join(disk, 'insert')
      writeFileSync(path, data)
      const fd = openSync(path, 'r+')
      try {
        assert.equal(thrown(() => sys.fallocate(fd, sys.FALLOC_FL_INSERT_RANGE, 0, 100)).code, 'EINVAL')
        sys.fallocate(fd, sys.FALLOC_FL_INSERT_RANGE, 0, 4096)
      } finally {
        closeSync(fd)
      }
      const after = readFileSync(path)
      assert.equal(after.length, data.length + 4096)
      assert.ok(after.subarray(0, 4096).every((b) => b === 0))
      assert.ok(after.subarray(4096).equals(data))
    })

    test('copyFileRange and copyFileRangeAsync copy a range between files; a closed descriptor is EBADF', async () => {
      const src = join(disk, 'src')
      writeFileSync(src, data)
      const inFd = openSync(src, 'r')
      const out = join(disk, 'out')
      const outFd = openSync(out, 'w+')
      try {
        assert.equal(sys.copyFileRange(inFd, 100, outFd, 0, 5000), 5000)
        assert.equal(await sys.copyFileRangeAsync(inFd, 0, outFd, 5000, data.length + 10), data.length, 'short at the source end')
        assert.equal(thrown(() => sys.copyFileRange(inFd, 0, 9999, 0, 10)).code, 'EBADF')
        await assert.rejects(sys.copyFileRangeAsync(9999, 0, outFd, 0, 10), (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.syscall === 'copy_file_range')
      } finally {
        closeSync(inFd)
        closeSync(outFd)
      }
      const got = readFileSync(out)
      assert.ok(got.subarray(0, 5000).equals(data.subarray(100, 5100)))
      assert.ok(got.subarray(5000).equals(data))
    })

    test('inotifyWatch reports a file closed after writing, by name, without blocking; a missing dir is ENOENT', () => {
      const watched = mkdtempSync(join(disk, 'watch-'))
      const fd = sys.inotifyWatch(watched, sys.IN_CLOSE_WRITE | sys.IN_MODIFY | sys.IN_CREATE)
      try {
        assert.deepEqual(sys.inotifyRead(fd), [], 'nothing yet, and no wait')
        const out = openSync(join(watched, 'pages-1.img'), 'w')
        writeSync(out, 'x')
        assert.deepEqual(
          sys.inotifyRead(fd).map((e) => [e.mask, e.name]),
          [
            [sys.IN_CREATE, 'pages-1.img'],
            [sys.IN_MODIFY, 'pages-1.img'],
          ],
        )
        closeSync(out)
        assert.deepEqual(sys.inotifyRead(fd), [{mask: sys.IN_CLOSE_WRITE, name: 'pages-1.img'}])
      } finally {
        closeSync(fd)
      }
      assert.equal(thrown(() => sys.inotifyWatch(join(disk, 'no-such-dir'), sys.IN_CLOSE_WRITE)).code, 'ENOENT')
    })

    test('syncFileRange and fadvise accept a file and refuse bad arguments', () => {
      const path = join(disk, 'sync')
      writeFileSync(path, data)
      const fd = openSync(path, 'r+')
      try {
        sys.syncFileRange(fd, 0, 0, sys.SYNC_FILE_RANGE_WRITE | sys.SYNC_FILE_RANGE_WAIT_AFTER)
        sys.fadvise(fd, 0, 0, sys.POSIX_FADV_SEQUENTIAL)
        assert.equal(thrown(() => sys.syncFileRange(fd, 0, 0, 0x100)).code, 'EINVAL')
        assert.equal(thrown(() => sys.fadvise(fd, 0, 0, 9999)).code, 'EINVAL')
      } finally {
        closeSync(fd)
      }
    })
  })

  test("linkUp brings lo up inside a network namespace the test pins, leaving the process's own alone", {skip: needsRoot}, () => {
    const pin = join(dir, 'netns')
    writeFileSync(pin, '')
    const made = spawnSync('unshare', [`--net=${pin}`, 'true'], {encoding: 'utf8'})
    assert.equal(made.status, 0, made.stderr)
    try {
      // ip, not /sys/class/net: sysfs shows the namespace it was mounted in.
      const up = () => /<[^>]*\bUP\b[^>]*>/.test(spawnSync('nsenter', [`--net=${pin}`, 'ip', '-o', 'link', 'show', 'lo'], {encoding: 'utf8'}).stdout)
      const ownBefore = readlinkSync('/proc/self/ns/net')
      assert.equal(up(), false, 'lo starts down in a new netns')
      sys.linkUp(pin, 'lo')
      assert.equal(up(), true, 'lo is up')
      sys.linkUp(pin, 'lo') // already up: fine
      assert.equal(thrown(() => sys.linkUp(pin, 'nosuch0')).code, 'ENODEV')
      assert.equal(thrown(() => sys.linkUp(join(dir, 'missing'), 'lo')).code, 'ENOENT')
      assert.equal(readlinkSync('/proc/self/ns/net'), ownBefore)
    } finally {
      sys.umount(pin, sys.MNT_DETACH)
    }
  })
})
