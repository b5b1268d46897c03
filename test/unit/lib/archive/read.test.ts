// Reading an archive into a staging area: the same result whatever the chunking (down to one
// byte at a time), paths cleaned, links resolved inside the archive, and every hostile entry
// refused before a byte of it is written.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {cleanArchivePath, fileAt, readArchive} from '../../../../src/lib/archive/read.js'
import type {ArchiveInput} from '../../../../src/lib/archive/input.js'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {type TempStore, tempStore, testBlob} from '../../../helpers/store.js'
import {writeTar, type TarEntry} from '../../../helpers/tar-writer.js'

function input(tar: Buffer, chunk: number): ArchiveInput {
  return {
    size: tar.length,
    close: async () => undefined,
    chunks: (async function* () {
      // One reused buffer, as the real input does: the reader must not keep slices of it.
      const buffer = Buffer.alloc(chunk)
      for (let i = 0; i < tar.length; i += chunk) {
        const n = tar.copy(buffer, 0, i, i + chunk)
        yield buffer.subarray(0, n)
      }
    })(),
  }
}

describe('readArchive', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  const blob = testBlob('layer', 70_000)
  const entries: TarEntry[] = [
    {path: './', type: 'dir'},
    {path: './oci-layout', type: 'file', content: '{"imageLayoutVersion":"1.0.0"}'},
    {path: 'blobs/sha256/', type: 'dir'},
    {path: `blobs/sha256/${blob.digest.slice(7)}`, type: 'file', content: blob.bytes},
    {path: 'legacy/layer.tar', type: 'symlink', linkname: `../blobs/sha256/${blob.digest.slice(7)}`},
    {path: 'hard.tar', type: 'hardlink', linkname: 'legacy/layer.tar'},
    {path: 'other.json', type: 'file', content: '{"x":1}'},
    {path: 'index.json', type: 'file', content: '{"schemaVersion":2,"manifests":[]}'},
  ]

  test('every chunking gives the same contents; links resolve; layout documents stay in memory', async () => {
    const tar = writeTar(entries)
    for (const chunk of [1, 7, 512, 4096, tar.length]) {
      const staging = await t.store.openStaging('r', 'test')
      try {
        const contents = await readArchive(input(tar, chunk), staging, {holds: () => false})
        assert.deepEqual([...contents.files.keys()].sort(), [`blobs/sha256/${blob.digest.slice(7)}`, 'other.json'])
        assert.equal(contents.meta.get('index.json')!.toString(), '{"schemaVersion":2,"manifests":[]}')
        assert.ok(contents.meta.has('oci-layout'))
        const viaLink = fileAt(contents, 'hard.tar', 'layer')
        assert.deepEqual([viaLink.digest, viaLink.size], [blob.digest, blob.size])
        assert.deepEqual(staging.readBytes(viaLink, 1 << 20), blob.bytes, `chunk ${chunk}`)
      } finally {
        staging.discard()
      }
    }
  })

  test('hostile entries are DataLoss', async () => {
    const cases: Array<[TarEntry[], RegExp]> = [
      [[{path: '/abs', type: 'file', content: 'x'}], /absolute path/],
      [[{path: 'a/../../b', type: 'file', content: 'x'}], /path leads out of the archive/],
      [[{path: '../d/', type: 'dir'}], /path leads out of the archive/],
      [[{path: 'l', type: 'symlink', linkname: '../x'}], /points out of the archive/],
      [[{path: 'a/l', type: 'symlink', linkname: '../../x'}], /points out of the archive/],
      [[{path: 'l', type: 'symlink', linkname: '/etc/passwd'}], /symlink to an absolute path/],
      [[{path: 'h', type: 'hardlink', linkname: '../x'}], /path leads out of the archive/],
      [
        [
          {path: 'f', type: 'file', content: 'a'},
          {path: './f', type: 'file', content: 'b'},
        ],
        /duplicate entry/,
      ],
      [[{path: `blobs/sha256/${'0'.repeat(64)}`, type: 'file', content: 'not zero'}], /not the one its name says/],
      [[{path: 'index.json', type: 'file', content: Buffer.alloc(1)}], /truncated/], // cut below
    ]
    for (const [i, [list, message]] of cases.entries()) {
      let tar = writeTar(list)
      if (i === cases.length - 1) tar = tar.subarray(0, 600)
      const staging = await t.store.openStaging('h', 'test')
      try {
        await assert.rejects(
          readArchive(input(tar, 100), staging, {holds: () => false}),
          (err) => errorKind(err) === 'data loss' && message.test((err as Error).message),
          `case ${i}`,
        )
      } finally {
        staging.discard()
      }
    }
  })

  test('a blob the namespace holds is only hashed, and still verified', async () => {
    const staging = await t.store.openStaging('q', 'test')
    try {
      const tar = writeTar([{path: `blobs/sha256/${blob.digest.slice(7)}`, type: 'file', content: blob.bytes}])
      const held: string[] = []
      const contents = await readArchive(input(tar, 4096), staging, {holds: (d) => (held.push(d), true)})
      assert.deepEqual(held, [blob.digest])
      assert.equal(contents.byDigest.get(blob.digest)!.size, blob.size)
      const bad = writeTar([{path: `blobs/sha256/${blob.digest.slice(7)}`, type: 'file', content: Buffer.alloc(blob.size)}])
      await assert.rejects(readArchive(input(bad, 4096), staging, {holds: () => true}), /not the one its name says/)
    } finally {
      staging.discard()
    }
  })

  test('cleanArchivePath', () => {
    assert.equal(cleanArchivePath('./a//b/'), 'a/b')
    assert.equal(cleanArchivePath('./'), '')
    assert.throws(() => cleanArchivePath('/a'), /absolute/)
    assert.throws(() => cleanArchivePath('a/..'), /leads out/)
  })
})
