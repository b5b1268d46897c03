// The streaming tar reader: ustar, PAX, GNU long names, base-256 numbers, checksums, truncation,
// unsupported types, and identical results whatever the chunking. Pure: no filesystem.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {TarReader, type TarHeader, type TarSink} from '../../../../src/lib/tar/index.js'
import {cleanPath} from '../../../../src/lib/snapshot/apply/paths.js'
import {writeTar, type TarEntry} from '../../../helpers/tar-writer.js'

interface Read {
  header: TarHeader
  data: Buffer
}

/** Parses `tar`, pushed in chunks of `chunk` bytes (or as one piece), and returns entries with their data. */
function read(tar: Buffer, chunk = tar.length || 1): Read[] {
  const out: Read[] = []
  let parts: Buffer[] = []
  let ended = true
  const sink: TarSink = {
    entry(header) {
      assert.ok(ended, 'entry() before the previous entryEnd()')
      out.push({header, data: Buffer.alloc(0)})
      parts = []
      ended = header.type !== 'file'
    },
    data(c, s, e) {
      parts.push(Buffer.from(c.subarray(s, e)))
    },
    entryEnd() {
      out.at(-1)!.data = Buffer.concat(parts)
      ended = true
    },
  }
  const reader = new TarReader(sink)
  for (let i = 0; i < tar.length; i += chunk) reader.push(tar.subarray(i, i + chunk))
  reader.end()
  return out
}

/** Overwrites a header field of the header block at `block` and fixes the checksum. */
function patch(tar: Buffer, block: number, offset: number, bytes: number[] | Buffer): Buffer {
  const copy = Buffer.from(tar)
  const h = block * 512
  Buffer.from(bytes).copy(copy, h + offset)
  copy.fill(0x20, h + 148, h + 156)
  let sum = 0
  for (let i = h; i < h + 512; i++) sum += copy[i]
  copy.write(sum.toString(8).padStart(6, '0') + '\0 ', h + 148, 'latin1')
  return copy
}

/** Base-256 encoding of `value` in a field of `width` bytes (negative: two's complement with 0xff lead). */
function base256(value: bigint, width: number): number[] {
  const out: number[] = []
  let v = value < 0n ? (1n << BigInt(width * 8)) + value : value
  for (let i = 0; i < width; i++) {
    out.unshift(Number(v & 0xffn))
    v >>= 8n
  }
  out[0] = value < 0n ? 0xff : out[0] | 0x80
  return out
}

const kindOf = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    return `${errorKind(err)}: ${(err as Error).message}`
  }
  return 'no error'
}

describe('tar reader', () => {
  test('ustar entries of every type, with metadata', () => {
    const entries: TarEntry[] = [
      {path: 'dir/', type: 'dir', mode: 0o1777, uid: 5, gid: 6, mtime: 1_600_000_000},
      {path: 'dir/file', type: 'file', content: 'hello', mode: 0o4755},
      {path: 'dir/empty', type: 'file'},
      {path: 'dir/contig', type: 'file', typeflag: '7', content: 'seven'},
      {path: 'link', type: 'symlink', linkname: '../x/y'},
      {path: 'hard', type: 'hardlink', linkname: 'dir/file'},
      {path: 'null', type: 'char', devmajor: 1, devminor: 3},
      {path: 'sda', type: 'block', devmajor: 8, devminor: 0},
      {path: 'pipe', type: 'fifo', mode: 0o600},
    ]
    const got = read(writeTar(entries))
    assert.deepEqual(
      got.map((r) => [r.header.path, r.header.type, r.header.mode.toString(8), r.data.toString(), r.header.linkpath]),
      [
        ['dir/', 'dir', '1777', '', ''],
        ['dir/file', 'file', '4755', 'hello', ''],
        ['dir/empty', 'file', '644', '', ''],
        ['dir/contig', 'file', '644', 'seven', ''],
        ['link', 'symlink', '777', '', '../x/y'],
        ['hard', 'hardlink', '644', '', 'dir/file'],
        ['null', 'char', '644', '', ''],
        ['sda', 'block', '644', '', ''],
        ['pipe', 'fifo', '600', '', ''],
      ],
    )
    assert.equal(got[0].header.uid, 5)
    assert.equal(got[0].header.gid, 6)
    assert.equal(got[0].header.mtimeSec, 1_600_000_000)
    assert.deepEqual([got[6].header.devmajor, got[6].header.devminor], [1, 3])
    assert.deepEqual([got[7].header.devmajor, got[7].header.devminor], [8, 0])
  })

  test('the same result whatever the chunk size (1 byte to whole)', () => {
    const tar = writeTar([
      {path: 'a'.repeat(150) + '/long', type: 'file', content: Buffer.alloc(1500, 7), xattrs: {'user.x': 'y'}},
      {path: 'b', type: 'file', content: 'x'.repeat(513)},
      {path: 'c', type: 'symlink', linkname: 'l'.repeat(200)},
    ])
    const whole = JSON.stringify(read(tar))
    for (const chunk of [1, 7, 511, 512, 513, 1000, 4096]) assert.equal(JSON.stringify(read(tar, chunk)), whole, `chunk ${chunk}`)
  })

  test('PAX: path, linkpath, size, uid, gid, fractional and negative mtime, xattrs', () => {
    const long = 'p/'.repeat(80) + 'ünïcødé-file'
    const got = read(
      writeTar([
        {
          path: long,
          type: 'file',
          content: 'data',
          uid: 3_000_000_000,
          gid: 4_000_000_000,
          pax: {mtime: '1700000000.123456789'},
          xattrs: {'user.a': 'b', 'security.capability': Buffer.from([1, 0, 0, 2, 0xff])},
        },
        {path: 'neg', type: 'file', mtime: -1.25},
        {path: 'lnk', type: 'symlink', linkname: 'tärget/'.repeat(30)},
        {path: 'lib', type: 'file', pax: {'LIBARCHIVE.xattr.user.%E2%9C%93': Buffer.from('checked').toString('base64')}},
      ]),
    )
    const [f, neg, lnk, lib] = got.map((r) => r.header)
    assert.equal(f.path, long)
    assert.equal(got[0].data.toString(), 'data')
    assert.equal(f.uid, 3_000_000_000)
    assert.equal(f.gid, 4_000_000_000)
    assert.deepEqual([f.mtimeSec, f.mtimeNsec], [1_700_000_000, 123456789])
    assert.deepEqual(Object.fromEntries(f.xattrs!), {'user.a': Buffer.from('b'), 'security.capability': Buffer.from([1, 0, 0, 2, 0xff])})
    assert.deepEqual([neg.mtimeSec, neg.mtimeNsec], [-2, 750_000_000])
    assert.equal(lnk.linkpath, 'tärget/'.repeat(30))
    assert.deepEqual(Object.fromEntries(lib.xattrs!), {'user.✓': Buffer.from('checked')})
  })

  test('PAX size overrides the header size; global headers are ignored', () => {
    const tar = writeTar([{path: 'f', type: 'file', content: 'abcdef', pax: {size: '6'}}])
    const patched = patch(tar, 2, 124, Buffer.from('00000000000\0')) // header says 0 bytes, PAX says 6
    assert.equal(read(patched)[0].data.toString(), 'abcdef')
    const global = writeTar([
      {path: 'g', type: 'file', typeflag: 'g', content: '11 path=x\n'},
      {path: 'real', type: 'file', content: 'r'},
    ])
    assert.deepEqual(
      read(global).map((r) => r.header.path),
      ['real'],
    )
  })

  test('GNU long names and long link names (L, K)', () => {
    const name = 'gnu/' + 'n'.repeat(300)
    const target = 't'.repeat(250)
    const got = read(
      writeTar(
        [
          {path: name, type: 'symlink', linkname: target},
          {path: name + '2', type: 'file', content: 'z'},
        ],
        {longNames: 'gnu'},
      ),
    )
    assert.deepEqual(
      got.map((r) => [r.header.path, r.header.linkpath, r.data.toString()]),
      [
        [name, target, ''],
        [name + '2', '', 'z'],
      ],
    )
  })

  test('ustar prefix field', () => {
    const path = 'prefix/'.repeat(15) + 'name'
    assert.equal(read(writeTar([{path, type: 'file'}], {longNames: 'prefix'}))[0].header.path, path)
  })

  test('base-256 numeric fields: uid, size, negative mtime', () => {
    let tar = writeTar([{path: 'f', type: 'file', content: 'ten bytes!'}])
    tar = patch(tar, 0, 108, base256(3_000_000_000n, 8)) // uid
    tar = patch(tar, 0, 124, base256(10n, 12)) // size
    tar = patch(tar, 0, 136, base256(-1000n, 12)) // mtime
    const [r] = read(tar)
    assert.equal(r.header.uid, 3_000_000_000)
    assert.equal(r.data.toString(), 'ten bytes!')
    assert.equal(r.header.mtimeSec, -1000)
  })

  test('uid beyond 32 bits is refused', () => {
    const tar = patch(writeTar([{path: 'f', type: 'file'}]), 0, 108, base256(5_000_000_000n, 8))
    assert.match(
      kindOf(() => read(tar)),
      /^data loss: .*uid\/gid/,
    )
    const ok = patch(writeTar([{path: 'f', type: 'file'}]), 0, 108, base256(70_000n, 8))
    assert.equal(read(ok)[0].header.uid, 70_000)
  })

  test('a bad header checksum is DataLoss', () => {
    const tar = writeTar([{path: 'f', type: 'file', content: 'x'}])
    tar[0] = 0x67 // 'f' -> 'g' without fixing the checksum
    assert.match(
      kindOf(() => read(tar)),
      /^data loss: .*invalid header checksum/,
    )
  })

  test('garbage is DataLoss', () => {
    assert.match(
      kindOf(() => read(Buffer.alloc(2048, 0x41))),
      /^data loss: /,
    )
  })

  test('truncation: inside a header, inside data, part-way through padding, after an extended header', () => {
    const tar = writeTar([
      {path: 'file', type: 'file', content: Buffer.alloc(2000, 1)},
      {path: 'next', type: 'file', content: 'x'},
    ])
    assert.match(
      kindOf(() => read(tar.subarray(0, 300))),
      /^data loss: tar archive truncated at byte 300 in the first header: unexpected end of data$/,
    )
    assert.match(
      kindOf(() => read(tar.subarray(0, 1200))),
      /^data loss: tar archive truncated at byte 1200 in entry "file" \(inside its data\)/,
    )
    assert.match(
      kindOf(() => read(tar.subarray(0, 512 + 2001))),
      /^data loss: tar archive truncated at byte 2513 in entry "file" \(inside its padding\)/,
    )
    assert.match(
      kindOf(() => read(tar.subarray(0, 512 + 2040), 100)),
      /^data loss: tar archive truncated at byte 2552 in entry "file" \(inside its padding\)/,
    )
    assert.match(
      kindOf(() => read(tar.subarray(0, 2560 + 100))),
      /^data loss: tar archive truncated at byte 2660 in the header after entry "file"/,
    )
    const pax = writeTar([{path: 'x'.repeat(200), type: 'file'}])
    assert.match(
      kindOf(() => read(pax.subarray(0, 1024))),
      /^data loss: tar archive truncated at byte 1024: extended header not followed by an entry$/,
    )
    const gnu = writeTar([{path: 'y'.repeat(200), type: 'file'}], {longNames: 'gnu'})
    assert.match(
      kindOf(() => read(gnu.subarray(0, 1024))),
      /^data loss: .*extended header not followed by an entry$/,
    )
  })

  // Issue 11 item 5: umoci's layers end after the last member's data, without its padding and
  // without the two zero blocks (Go's tar.Writer, never closed), and `ctr images pull` said "tar
  // archive truncated at byte … unexpected end of data". Go's archive/tar, so containerd, reads them.
  test('regression: an archive that ends after a whole member, without end-of-archive blocks, is complete', () => {
    const entries: TarEntry[] = [
      {path: 'dir/', type: 'dir'},
      {path: 'dir/padded', type: 'file', content: 'needs padding'},
      {path: 'dir/exact', type: 'file', content: Buffer.alloc(1024, 7)}, // ends on a block: no padding
      {path: 'dir/link', type: 'symlink', linkname: 'padded'},
      {path: 'l'.repeat(150), type: 'file', content: 'a PAX name'},
    ]
    const complete = read(writeTar(entries))
    const bare = writeTar(entries, {omitTrailer: true})
    for (const chunk of [bare.length, 1, 7, 511, 512, 513, 4096]) assert.deepEqual(read(bare, chunk), complete, `chunks of ${chunk}`)
    // Ending right after a header-only member or a member without padding, too.
    assert.deepEqual(
      read(writeTar(entries.slice(0, 1), {omitTrailer: true})).map((r) => r.header.path),
      ['dir/'],
    )
    assert.deepEqual(
      read(writeTar(entries.slice(0, 3), {omitTrailer: true})).map((r) => r.data.length),
      [0, 13, 1024],
    )
    // One zero block is an end too (Go's reader stops there as well).
    assert.deepEqual(read(Buffer.concat([bare, Buffer.alloc(512)])), complete)
  })

  test('regression: an archive that ends right after the last data, before its padding (umoci), is complete', () => {
    const entries: TarEntry[] = [
      {path: 'a', type: 'file', content: 'first'},
      {path: 'b', type: 'file', content: 'y'.repeat(23)},
    ]
    const complete = read(writeTar(entries))
    const umoci = writeTar(entries, {omitTrailer: true}).subarray(0, 4 * 512 - (512 - 23)) // b's data, none of its padding
    for (const chunk of [umoci.length, 1, 23, 512, 1000]) assert.deepEqual(read(umoci, chunk), complete, `chunks of ${chunk}`)
    // Part of the padding is not an end: that stream was cut.
    assert.match(
      kindOf(() => read(Buffer.concat([umoci, Buffer.alloc(1)]))),
      /^data loss: tar archive truncated at byte 1560 in entry "b" \(inside its padding\)/,
    )
    // Nor is a PAX header's data without padding and entry.
    const pax = writeTar([{path: 'p'.repeat(150), type: 'file'}], {omitTrailer: true})
    const paxSize = Number.parseInt(pax.toString('latin1', 124, 135), 8)
    assert.match(
      kindOf(() => read(pax.subarray(0, 512 + paxSize))),
      /extended header not followed by an entry$/,
    )
  })

  test('an empty stream is an empty archive; bytes after the end-of-archive block are not parsed', () => {
    assert.deepEqual(read(Buffer.alloc(0)), [])
    const tar = Buffer.concat([writeTar([{path: 'a', type: 'file', content: 'x'}]), Buffer.from('trailing garbage that is not a header')])
    assert.deepEqual(
      read(tar).map((r) => r.header.path),
      ['a'],
    )
    // Record padding (GNU tar fills to 10 KiB) and junk after it alike.
    const padded = Buffer.concat([writeTar([{path: 'a', type: 'file', content: 'x'}]), Buffer.alloc(9 * 1024), Buffer.alloc(700, 0x41)])
    assert.deepEqual(
      read(padded, 1000).map((r) => r.header.path),
      ['a'],
    )
    const lone = Buffer.concat([writeTar([{path: 'a', type: 'file'}], {omitTrailer: true}), Buffer.alloc(512)])
    assert.deepEqual(
      read(lone).map((r) => r.header.path),
      ['a'],
    )
  })

  test('unsupported entry types are NotImplemented, naming the entry', () => {
    assert.match(
      kindOf(() => read(writeTar([{path: 'sparse', type: 'file', typeflag: 'S'}]))),
      /^not implemented: tar entry "sparse": unsupported entry type 'S' \(GNU sparse file\)/,
    )
    assert.match(
      kindOf(() => read(writeTar([{path: 'odd', type: 'file', typeflag: 'Z'}]))),
      /^not implemented: tar entry "odd": unsupported entry type 'Z'/,
    )
    assert.match(
      kindOf(() => read(writeTar([{path: 'f', type: 'file', pax: {'GNU.sparse.major': '1'}}]))),
      /^not implemented: .*sparse/,
    )
  })

  test('legacy NUL typeflag with a trailing slash is a directory', () => {
    assert.equal(read(writeTar([{path: 'old/', type: 'file', typeflag: '\0'}]))[0].header.type, 'dir')
    assert.equal(read(writeTar([{path: 'old', type: 'file', typeflag: '\0', content: 'v7'}]))[0].data.toString(), 'v7')
  })

  test('header-only types carry no data whatever their size field says (as in Go)', () => {
    // A symlink whose header claims 0 bytes is followed directly by the next header.
    const got = read(
      writeTar([
        {path: 'l', type: 'symlink', linkname: 't'},
        {path: 'f', type: 'file', content: 'x'},
      ]),
    )
    assert.deepEqual(
      got.map((r) => r.header.path),
      ['l', 'f'],
    )
  })

  test('names must be UTF-8 without NULs', () => {
    const tar = patch(writeTar([{path: 'abc', type: 'file'}]), 0, 0, [0x61, 0xff, 0x62]) // "a\xffb"
    assert.match(
      kindOf(() => read(tar)),
      /^not implemented: .*not valid UTF-8/,
    )
    assert.match(
      kindOf(() => read(writeTar([{path: 'f', type: 'file', pax: {path: 'a\0b'}}]))),
      /^data loss: .*NUL/,
    )
  })

  test('oversized PAX headers are refused', () => {
    assert.match(
      kindOf(() => read(writeTar([{path: 'f', type: 'file', pax: {comment: 'x'.repeat(1_100_000)}}]))),
      /^data loss: .*PAX header of/,
    )
  })
})

describe('cleanPath', () => {
  const cases: [string, string][] = [
    ['a/b', 'a/b'],
    ['./a/./b/', 'a/b'],
    ['/abs/path', 'abs/path'],
    ['../../etc/passwd', 'etc/passwd'],
    ['a/../../b', 'b'],
    ['a/b/../c', 'a/c'],
    ['//a//b//', 'a/b'],
    ['.', ''],
    ['./', ''],
    ['/', ''],
    ['..', ''],
    ['...', '...'],
    ['..a/.b', '..a/.b'],
    ['a/..', ''],
  ]
  for (const [input, want] of cases) test(`${JSON.stringify(input)} -> ${JSON.stringify(want)}`, () => assert.equal(cleanPath(input), want))
})
