// The streaming tar writer: round trips through our reader (every field, PAX cases, any chunking),
// GNU tar's listing and extraction of what it writes, and the errors that keep a half entry from
// ever reaching the output.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {PassThrough} from 'node:stream'
import {after, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {encodeTarHeader, streamOutput, TarReader, type TarHeader, TarWriter, type TarWriteHeader} from '../../../../src/lib/tar/index.js'

interface Read {
  header: TarHeader
  data: Buffer
}

function read(tar: Buffer, chunk = tar.length || 1): Read[] {
  const out: Read[] = []
  let parts: Buffer[] = []
  const reader = new TarReader({
    entry(header) {
      out.push({header, data: Buffer.alloc(0)})
      parts = []
    },
    data(c, s, e) {
      parts.push(Buffer.from(c.subarray(s, e)))
    },
    entryEnd() {
      out.at(-1)!.data = Buffer.concat(parts)
    },
  })
  for (let i = 0; i < tar.length; i += chunk) reader.push(tar.subarray(i, i + chunk))
  reader.end()
  return out
}

/** Writes entries (data as one buffer, or in 7-byte pieces when `pieces`) and returns the archive. */
async function write(entries: Array<[TarWriteHeader, Buffer?]>, pieces = false): Promise<Buffer> {
  const out: Buffer[] = []
  const w = new TarWriter((c) => {
    out.push(Buffer.from(c))
  })
  for (const [h, data] of entries) {
    if (!pieces || !data) await w.add(h, data)
    else {
      await w.begin({...h, size: data.length})
      for (let i = 0; i < data.length; i += 7) await w.write(data.subarray(i, i + 7))
      await w.endEntry()
    }
  }
  await w.finish()
  const tar = Buffer.concat(out)
  assert.equal(tar.length % 512, 0)
  assert.equal(w.bytesWritten, tar.length)
  return tar
}

const longDir = 'd'.repeat(120)
const entries: Array<[TarWriteHeader, Buffer?]> = [
  [{path: 'dir/', type: 'dir', mode: 0o1777, uid: 5, gid: 6, mtimeSec: 1_600_000_000}],
  [{path: 'dir/file', mode: 0o4755, uname: 'root', gname: 'wheel'}, Buffer.from('hello')],
  [{path: 'dir/empty'}, Buffer.alloc(0)],
  [{path: 'dir/block-sized'}, Buffer.alloc(512, 7)],
  [{path: `${longDir}/split-into-prefix`}, Buffer.from('prefix')],
  [{path: `${'x'.repeat(150)}/${'y'.repeat(150)}/needs-pax`}, Buffer.from('pax')],
  [{path: 'ünïcode/名前'}, Buffer.from('utf8')],
  [{path: 'link', type: 'symlink', linkpath: `../${'t'.repeat(150)}`}],
  [{path: 'hard', type: 'hardlink', linkpath: 'dir/file'}],
  [{path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666}],
  [{path: 'dev/sda', type: 'block', devmajor: 8, devminor: 0}],
  [{path: 'fifo', type: 'fifo'}],
  [{path: 'big-ids', uid: 3_000_000, gid: 4_000_000, uname: 'u'.repeat(40)}, Buffer.from('ids')],
  [{path: 'fraction', mtimeSec: 1_700_000_000, mtimeNsec: 123_456_789}, Buffer.from('t')],
  [{path: 'before-epoch', mtimeSec: -2, mtimeNsec: 500_000_000}, Buffer.from('t')],
  [
    {
      path: 'xattrs',
      xattrs: new Map([
        ['user.a', Buffer.from([0, 1, 2, 0xff])],
        ['security.capability', Buffer.from('cap')],
      ]),
    },
    Buffer.from('x'),
  ],
]

describe('tar writer', () => {
  test('round trip through the reader: every field, whatever the chunking', async () => {
    for (const pieces of [false, true]) {
      const tar = await write(entries, pieces)
      for (const chunk of [tar.length, 511, 1, 4096]) {
        const got = read(tar, chunk)
        assert.equal(got.length, entries.length)
        got.forEach((g, i) => {
          const [h, data] = entries[i]
          assert.equal(g.header.path, h.path)
          assert.equal(g.header.type, h.type ?? 'file')
          assert.deepEqual(g.data, data ?? Buffer.alloc(0))
          assert.equal(g.header.size, data?.length ?? 0)
          if (h.mode !== undefined) assert.equal(g.header.mode, h.mode)
          assert.equal(g.header.uid, h.uid ?? 0)
          assert.equal(g.header.gid, h.gid ?? 0)
          assert.equal(g.header.mtimeSec, h.mtimeSec ?? 0)
          assert.equal(g.header.mtimeNsec, h.mtimeNsec ?? 0)
          if (h.linkpath) assert.equal(g.header.linkpath, h.linkpath)
          if (h.devmajor !== undefined) assert.deepEqual([g.header.devmajor, g.header.devminor], [h.devmajor, h.devminor])
          if (h.xattrs) assert.deepEqual(g.header.xattrs, h.xattrs)
        })
      }
    }
  })

  test('defaults: modes by type, ids 0, mtime 0; short names need no PAX header', () => {
    const file = encodeTarHeader({path: 'a', size: 3})
    assert.equal(file.length, 512)
    assert.equal(file.toString('latin1', 100, 107), '0000644')
    assert.equal(file.toString('latin1', 257, 265), 'ustar\u000000')
    assert.equal(encodeTarHeader({path: 'd/', type: 'dir'}).toString('latin1', 100, 107), '0000755')
    assert.equal(encodeTarHeader({path: 'l', type: 'symlink', linkpath: 'a'}).toString('latin1', 100, 107), '0000777')
    // A 100-byte ASCII name fits the field exactly; one more byte and no slash needs PAX.
    assert.equal(encodeTarHeader({path: 'n'.repeat(100)}).length, 512)
    assert.equal(encodeTarHeader({path: 'n'.repeat(101)}).length, 512 * 3)
  })

  test('sizes of 8 GiB and more go into PAX', () => {
    const size = 8 * 1024 ** 3 + 5
    const header = encodeTarHeader({path: 'huge', size})
    assert.equal(header.length, 512 * 3)
    let seen: TarHeader | undefined
    const reader = new TarReader({
      entry: (h) => (seen = h),
      data: () => undefined,
      entryEnd: () => undefined,
    })
    reader.push(header)
    assert.equal(seen?.size, size)
  })

  test('a body shorter or longer than the header says throws, and the writer stays failed', async () => {
    const short = new TarWriter(() => undefined)
    await short.begin({path: 'f', size: 10})
    await short.write(Buffer.alloc(4))
    await assert.rejects(short.endEntry(), (e) => errorKind(e) === 'internal' && /6 bytes of data missing/.test((e as Error).message))
    await assert.rejects(short.finish(), /6 bytes of data missing/)

    const long = new TarWriter(() => undefined)
    await assert.rejects(long.add({path: 'f', size: 2}, Buffer.alloc(3)), /more data than its size 2/)
    await assert.rejects(long.add({path: 'g'}, Buffer.alloc(1)), /more data than its size 2/)
  })

  test('bad headers are refused', () => {
    const kind = (h: TarWriteHeader) => {
      try {
        encodeTarHeader(h)
        return 'ok'
      } catch (err) {
        return errorKind(err)
      }
    }
    assert.equal(kind({path: ''}), 'invalid argument')
    assert.equal(kind({path: 'a\0b'}), 'invalid argument')
    assert.equal(kind({path: 'a', size: -1}), 'invalid argument')
    assert.equal(kind({path: 'a', size: 1.5}), 'invalid argument')
    assert.equal(kind({path: 'd/', type: 'dir', size: 3}), 'invalid argument')
    assert.equal(kind({path: 'a', uid: -1}), 'invalid argument')
  })

  test('streamOutput waits for drain and surfaces stream errors', async () => {
    const stream = new PassThrough({highWaterMark: 1024})
    const received: Buffer[] = []
    const w = new TarWriter(streamOutput(stream))
    const writing = (async () => {
      await w.add({path: 'big', size: 100_000}, Buffer.alloc(100_000, 1))
      await w.finish()
      stream.end()
    })()
    for await (const chunk of stream) received.push(chunk as Buffer)
    await writing
    assert.equal(read(Buffer.concat(received))[0].data.length, 100_000)

    const broken = new PassThrough({highWaterMark: 16})
    const bw = new TarWriter(streamOutput(broken))
    const failing = bw.add({path: 'x', size: 4096}, Buffer.alloc(4096))
    broken.destroy(new Error('EPIPE-like'))
    await assert.rejects(failing, /EPIPE-like/)
  })
})

describe('tar writer against GNU tar', {skip: spawnSync('tar', ['--version']).status === 0 ? false : 'GNU tar not installed'}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-tarw-'))
  after(() => rmSync(dir, {recursive: true, force: true}))

  test('tar -tvf lists every entry with its type, mode, owner and size; tar -x restores the data', async () => {
    const list: Array<[TarWriteHeader, Buffer?]> = entries.filter(([h]) => h.type !== 'char' && h.type !== 'block' && h.path !== 'before-epoch')
    const tar = await write(list)
    const file = join(dir, 'a.tar')
    writeFileSync(file, tar)
    const tv = spawnSync('tar', ['--numeric-owner', '-tvf', file], {encoding: 'utf8', env: {...process.env, LC_ALL: 'C.UTF-8', TZ: 'UTC'}})
    assert.equal(tv.status, 0, tv.stderr)
    assert.equal(tv.stderr, '')
    const lines = tv.stdout.trim().split('\n')
    assert.equal(lines.length, list.length)
    assert.match(lines[0], /^drwxrwxrwt 5\/6 +0 2020-09-13 12:26 dir\/$/)
    assert.match(lines[1], /^-rwsr-xr-x 0\/0 +5 1970-01-01 00:00 dir\/file$/)
    assert.ok(lines.some((l) => l.endsWith(` ${longDir}/split-into-prefix`)))
    assert.ok(lines.some((l) => l.endsWith(` ${'x'.repeat(150)}/${'y'.repeat(150)}/needs-pax`)))
    assert.ok(lines.some((l) => l.endsWith(' ünïcode/名前')))
    assert.ok(lines.some((l) => l.startsWith('lrwxrwxrwx') && l.endsWith(`link -> ../${'t'.repeat(150)}`)))
    assert.ok(lines.some((l) => l.startsWith('hrw-r--r--') && l.endsWith('hard link to dir/file')))
    assert.ok(lines.some((l) => l.startsWith('prw-r--r--') && l.endsWith(' fifo')))
    assert.ok(lines.some((l) => / 3000000\/4000000 +3 .* big-ids$/.test(l)))

    const out = join(dir, 'x')
    spawnSync('mkdir', [out])
    const x = spawnSync('tar', ['-xf', file, '-C', out, '--no-same-owner'], {encoding: 'utf8'})
    assert.equal(x.status, 0, x.stderr)
    assert.equal(readFileSync(join(out, 'dir/file'), 'utf8'), 'hello')
    assert.equal(readFileSync(join(out, `${'x'.repeat(150)}/${'y'.repeat(150)}/needs-pax`), 'utf8'), 'pax')
    assert.equal(readFileSync(join(out, 'ünïcode/名前'), 'utf8'), 'utf8')
    assert.equal(readlinkSync(join(out, 'link')), `../${'t'.repeat(150)}`)
    assert.equal(statSync(join(out, 'fraction'), {bigint: true}).mtimeNs, 1_700_000_000_123_456_789n)
  })
})
