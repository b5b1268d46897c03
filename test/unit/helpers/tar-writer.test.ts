// Proves test/helpers/tar-writer.ts against GNU tar: listings show the names, modes, owners, link targets and devices
// we wrote, and extraction restores them with xattrs and sub-second mtimes.

import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DEFAULT_MTIME, writeTar, type TarEntry} from '../../helpers/tar-writer.js'
import {missingTools, runTool, runToolOk} from '../../helpers/run-tool.js'

const isRoot = process.getuid?.() === 0
const noAttr = missingTools({'/usr/bin/getfattr': 'attr'})
let dir: string

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-tar-writer-'))
})
after(() => rmSync(dir, {recursive: true, force: true}))

/** Writes `tar` to a file and returns `tar -tv` lines split into [mode, owner, size, name]. */
async function listVerbose(tar: Buffer, extra: string[] = []): Promise<string[][]> {
  const file = join(dir, `list-${Math.random().toString(36).slice(2)}.tar`)
  writeFileSync(file, tar)
  const out = await runToolOk('tar', ['-P', '--numeric-owner', '--quoting-style=literal', ...extra, '-tvf', file])
  return out
    .trimEnd()
    .split('\n')
    .map((line) => {
      const m = /^(\S+) (\S+) +(\S+) (\S+ \S+) +(.*)$/.exec(line)
      assert.ok(m, `unexpected tar -tv line: ${line}`)
      return [m[1], m[2], m[3], m[5]]
    })
}

const long = 'deep/'.repeat(40) + 'a-file-name-that-is-long-enough.txt' // 235 bytes

describe('tar-writer', () => {
  test('GNU tar lists every entry type with the modes, owners, sizes, devices and link targets written', async () => {
    const entries: TarEntry[] = [
      {path: 'tmp/', type: 'dir', mode: 0o1777},
      {path: 'bin/su', type: 'file', mode: 0o4755, uid: 0, gid: 0, content: 'x'.repeat(700)},
      {path: 'bin/sg', type: 'file', mode: 0o2711, uid: 1000, gid: 50, content: ''},
      {path: 'link-root', type: 'symlink', linkname: '/'},
      {path: 'link-up', type: 'symlink', linkname: '../../..'},
      {path: 'link-up/etc/passwd', type: 'file', content: 'through the symlink\n'},
      {path: 'hard', type: 'hardlink', linkname: '../outside/target'},
      {path: 'dev/null', type: 'char', devmajor: 1, devminor: 3},
      {path: 'dev/loop0', type: 'block', devmajor: 7, devminor: 0},
      {path: 'run/fifo', type: 'fifo', mode: 0o600},
      {path: '../escape', type: 'file', content: 'e'},
      {path: '/etc/absolute', type: 'file', content: 'a'},
      {path: 'a/.wh.gone', type: 'file'},
      {path: 'a/.wh..wh..opq', type: 'file'},
      {path: 'twice', type: 'file', content: 'first'},
      {path: 'twice', type: 'file', content: 'second!'},
    ]
    const rows = await listVerbose(writeTar(entries))
    assert.deepEqual(rows, [
      ['drwxrwxrwt', '0/0', '0', 'tmp/'],
      ['-rwsr-xr-x', '0/0', '700', 'bin/su'],
      ['-rwx--s--x', '1000/50', '0', 'bin/sg'],
      ['lrwxrwxrwx', '0/0', '0', 'link-root -> /'],
      ['lrwxrwxrwx', '0/0', '0', 'link-up -> ../../..'],
      ['-rw-r--r--', '0/0', '20', 'link-up/etc/passwd'],
      ['hrw-r--r--', '0/0', '0', 'hard link to ../outside/target'],
      ['crw-r--r--', '0/0', '1,3', 'dev/null'],
      ['brw-r--r--', '0/0', '7,0', 'dev/loop0'],
      ['prw-------', '0/0', '0', 'run/fifo'],
      ['-rw-r--r--', '0/0', '1', '../escape'],
      ['-rw-r--r--', '0/0', '1', '/etc/absolute'],
      ['-rw-r--r--', '0/0', '0', 'a/.wh.gone'],
      ['-rw-r--r--', '0/0', '0', 'a/.wh..wh..opq'],
      ['-rw-r--r--', '0/0', '5', 'twice'],
      ['-rw-r--r--', '0/0', '7', 'twice'],
    ])
  })

  test('archives are whole 512-byte blocks ending in two zero blocks, unless the trailer is omitted', () => {
    const tar = writeTar([{path: 'f', type: 'file', content: 'hello'}])
    assert.equal(tar.length, 512 + 512 + 1024)
    assert.ok(tar.subarray(-1024).equals(Buffer.alloc(1024)))
    const cut = writeTar([{path: 'f', type: 'file', content: 'hello'}], {omitTrailer: true})
    assert.equal(cut.length, 1024)
    // The header checksum is the byte sum with the checksum field read as spaces.
    const h = Buffer.from(tar.subarray(0, 512))
    const stored = parseInt(h.subarray(148, 154).toString('latin1'), 8)
    h.fill(0x20, 148, 156)
    assert.equal(
      stored,
      h.reduce((a, b) => a + b, 0),
    )
  })

  test('long names round-trip through PAX, the ustar prefix field and GNU LongLink', async () => {
    const entries: TarEntry[] = [
      {path: long, type: 'file', content: 'L'},
      {path: 'l', type: 'symlink', linkname: long},
      {path: 'h', type: 'hardlink', linkname: long},
    ]
    for (const format of ['pax', 'prefix', 'gnu'] as const) {
      const rows = await listVerbose(writeTar(entries, {longNames: format}))
      assert.deepEqual(
        rows.map((r) => r[3]),
        [long, `l -> ${long}`, `h link to ${long}`],
        format,
      )
    }
    // The prefix split needs no extra header for the file itself.
    const prefixOnly = writeTar([{path: long, type: 'file', content: 'L'}], {longNames: 'prefix'})
    assert.equal(prefixOnly.length, 512 * 2 + 1024)
    assert.equal(prefixOnly[156], '0'.charCodeAt(0))
  })

  test('PAX carries UTF-8 names, large ids, long owner names, sub-second mtimes and custom records', async () => {
    const entries: TarEntry[] = [
      {path: 'ünïcødé/файл-名前.txt', type: 'file', content: 'u'},
      {path: 'big-ids', type: 'file', uid: 3_000_000_000, gid: 4_000_000_000},
      {path: 'names', type: 'file', uid: 7, gid: 8, uname: 'a-user-name-longer-than-32-bytes-xx', gname: 'grüppe'},
      {path: 'fraction', type: 'file', mtime: new Date('2023-05-06T07:08:09.123Z')},
      {path: 'header-name', type: 'file', pax: {path: 'pax-name-wins'}},
    ]
    const file = join(dir, 'pax.tar')
    writeFileSync(file, writeTar(entries))
    const numeric = await listVerbose(writeTar(entries), ['--full-time'])
    assert.deepEqual(
      numeric.map((r) => [r[1], r[3]]),
      [
        ['0/0', 'ünïcødé/файл-名前.txt'],
        ['3000000000/4000000000', 'big-ids'],
        ['7/8', 'names'],
        ['0/0', 'fraction'],
        ['0/0', 'pax-name-wins'],
      ],
    )
    const named = await runToolOk('tar', ['--full-time', '-tvf', file])
    assert.match(named, /a-user-name-longer-than-32-bytes-xx\/grüppe/)
    assert.match(named, /2023-05-06 07:08:09\.123 fraction/)
  })

  test('GNU tar extracts modes, owners, mtimes, links, fifos, devices and xattrs as written', {
    skip: !isRoot ? 'needs root to set owners and create devices' : noAttr,
  }, async () => {
    const binary = Buffer.from([0, 1, 2, 0xff, 0xfe])
    const entries: TarEntry[] = [
      {path: 'tmp/', type: 'dir', mode: 0o1777},
      {path: 'bin/', type: 'dir'},
      {path: 'bin/su', type: 'file', mode: 0o4755, uid: 1000, gid: 1001, content: 'suid', mtime: new Date('2023-05-06T07:08:09.123Z')},
      {path: 'bin/nano', type: 'file', content: 'ns', pax: {mtime: '1700000000.123456789'}},
      {path: 'bin/hard', type: 'hardlink', linkname: 'bin/su'},
      {path: 'bin/sym', type: 'symlink', linkname: '../tmp', uid: 1000, gid: 1000},
      {path: 'dev/', type: 'dir'},
      {path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666},
      {path: 'dev/loop0', type: 'block', devmajor: 7, devminor: 0, mode: 0o660, gid: 6},
      {path: 'fifo', type: 'fifo', mode: 0o640},
      {path: 'opaque/', type: 'dir', xattrs: {'trusted.overlay.opaque': 'y'}},
      {path: 'xattr', type: 'file', xattrs: {'user.text': 'hello', 'user.binary': binary}},
      {path: 'ünï/файл', type: 'file', content: 'utf8'},
      {path: long, type: 'file', content: 'long'},
    ]
    const out = mkdtempSync(join(dir, 'x-'))
    const file = join(dir, 'extract.tar')
    writeFileSync(file, writeTar(entries))
    await runToolOk('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', file, '-C', out])

    const st = (p: string) => lstatSync(join(out, p))
    assert.equal(st('tmp').mode & 0o7777, 0o1777)
    const su = st('bin/su')
    assert.equal(su.mode & 0o7777, 0o4755)
    assert.deepEqual([su.uid, su.gid], [1000, 1001])
    assert.equal(su.mtimeMs, Date.parse('2023-05-06T07:08:09.123Z'))
    assert.equal(lstatSync(join(out, 'bin/nano'), {bigint: true}).mtimeNs, 1700000000123456789n)
    assert.equal(st('bin/hard').ino, su.ino)
    assert.equal(readlinkSync(join(out, 'bin/sym')), '../tmp')
    assert.deepEqual([st('bin/sym').uid, st('bin/sym').gid], [1000, 1000])
    const nul = st('dev/null')
    assert.ok(nul.isCharacterDevice())
    assert.deepEqual([major(nul.rdev), minor(nul.rdev), nul.mode & 0o7777], [1, 3, 0o666])
    const loop = st('dev/loop0')
    assert.ok(loop.isBlockDevice())
    assert.deepEqual([major(loop.rdev), minor(loop.rdev), loop.gid], [7, 0, 6])
    assert.ok(st('fifo').isFIFO())
    assert.equal(st('fifo').mode & 0o7777, 0o640)
    assert.equal(st(join('tmp')).mtimeMs, DEFAULT_MTIME * 1000)
    assert.equal(readFileSync(join(out, 'ünï/файл'), 'utf8'), 'utf8')
    assert.equal(readFileSync(join(out, long), 'utf8'), 'long')

    const attrs = await runToolOk('getfattr', ['--absolute-names', '-d', '-m', '-', '-e', 'hex', join(out, 'xattr'), join(out, 'opaque')])
    assert.match(attrs, /user\.text=0x68656c6c6f/)
    assert.match(attrs, /user\.binary=0x000102fffe/)
    assert.match(attrs, /trusted\.overlay\.opaque=0x79/)
  })

  test('GNU tar refuses the hostile paths it should, proving they are stored verbatim', async () => {
    const out = mkdtempSync(join(dir, 'h-'))
    const file = join(dir, 'hostile.tar')
    writeFileSync(file, writeTar([{path: '../../escape', type: 'file', content: 'x'}]))
    const r = await runTool('tar', ['-xf', file, '-C', out])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /Member name contains '\.\.'/)
  })
})

/** Linux `major()`/`minor()` of a dev_t. */
function major(rdev: number): number {
  return Number((BigInt(rdev) >> 8n) & 0xfffn) | Number((BigInt(rdev) >> 32n) & ~0xfffn)
}
function minor(rdev: number): number {
  return Number(BigInt(rdev) & 0xffn) | Number((BigInt(rdev) >> 12n) & ~0xffn)
}
