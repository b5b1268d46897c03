// The CRIU image tar built in place: insert-range on the store's filesystem, the streaming copy
// where a filesystem refuses it (tmpfs), both byte-identical and read by GNU tar; extraction in
// process with modes kept; a corrupted tar is DataLoss.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {createHash, randomBytes} from 'node:crypto'
import {type EarlyHash, extractDumpTar, leadingBytes, makeDumpTar, memberAt} from '../../../../src/lib/checkpoint/criu-tar.js'
import {errorKind} from '../../../../src/lib/errors/index.js'

const isRoot = process.getuid?.() === 0
// /var/tmp: a disk filesystem (ext4 or xfs: insert-range works); /tmp may be a tmpfs.
const dir = mkdtempSync(join('/var/tmp', 'berth-criu-tar-'))
after(() => {
  spawnSync('umount', ['-l', join(dir, 'tmpfs')], {stdio: 'ignore'})
  rmSync(dir, {recursive: true, force: true})
})

const files: Record<string, Buffer> = {
  'pages-1.img': randomBytes(3_000_001),
  'core-1.img': Buffer.from('core'),
  'mm-1.img': randomBytes(5000),
  'empty.img': Buffer.alloc(0),
}

function dumpDir(parent: string): string {
  const d = join(parent, `dump-${Math.random().toString(16).slice(2)}`)
  mkdirSync(d, {mode: 0o700})
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(d, name), bytes, {mode: 0o600})
  return d
}

function assertSameTree(d: string): void {
  assert.deepEqual(readdirSync(d).sort(), Object.keys(files).sort())
  for (const [name, bytes] of Object.entries(files)) {
    assert.ok(readFileSync(join(d, name)).equals(bytes), name)
    assert.equal(statSync(join(d, name)).mode & 0o777, 0o600, name)
  }
}

describe('CRIU image tar', () => {
  test('built in place (insert-range): the memory file becomes the 0600 tar, GNU tar and our reader extract the same files', async () => {
    const src = dumpDir(dir)
    const tar = join(dir, 'insert.tar')
    assert.equal(makeDumpTar(src, tar).method, 'insert')
    assert.deepEqual(readdirSync(src), [], 'the dump files were consumed')
    assert.equal(statSync(tar).mode & 0o777, 0o600)
    assert.equal(statSync(tar).size % 512, 0)
    const gnu = join(dir, 'gnu')
    mkdirSync(gnu)
    const r = spawnSync('tar', ['-x', '-f', tar, '-C', gnu], {encoding: 'utf8'})
    assert.equal(r.status, 0, r.stderr)
    assertSameTree(gnu)
    const ours = join(dir, 'ours')
    await extractDumpTar(tar, ours).done
    assertSameTree(ours)
    assert.equal(statSync(ours).mode & 0o777, 0o700)
  })

  test('a filesystem that refuses insert-range (tmpfs) gets a streaming copy with the same bytes', {skip: isRoot ? false : 'needs root (mount)'}, () => {
    const tmpfs = join(dir, 'tmpfs')
    mkdirSync(tmpfs)
    const m = spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', tmpfs], {encoding: 'utf8'})
    assert.equal(m.status, 0, m.stderr)
    const a = join(tmpfs, 'copy.tar')
    assert.equal(makeDumpTar(dumpDir(tmpfs), a).method, 'copy')
    const b = join(dir, 'forced.tar')
    assert.equal(makeDumpTar(dumpDir(dir), b).method, 'insert')
    // Same members and data; only mtimes may differ, so compare extracted trees and sizes.
    assert.equal(statSync(a).size, statSync(b).size)
    const out = join(dir, 'from-copy')
    mkdirSync(out)
    assert.equal(spawnSync('tar', ['-x', '-f', a, '-C', out]).status, 0)
    assertSameTree(out)
  })

  test('the forced copy path (noInsert) on a disk filesystem is also a valid tar', async () => {
    const tar = join(dir, 'noinsert.tar')
    assert.equal(makeDumpTar(dumpDir(dir), tar, {noInsert: true}).method, 'copy')
    const out = join(dir, 'from-noinsert')
    await extractDumpTar(tar, out).done
    assertSameTree(out)
  })

  for (const noInsert of [false, true]) {
    test(`an early hash of the leading bytes and the memory file is completed into the tar's digest (${noInsert ? 'copy' : 'insert'})`, () => {
      const src = dumpDir(dir)
      const early = (d: string, name: string): EarlyHash => {
        const lead = leadingBytes(memberAt(d, name), statSync(join(d, name)).blksize)
        const hash = createHash('sha256')
          .update(lead)
          .update(readFileSync(join(d, name)))
        return {name, lead, hash}
      }
      const tar = join(dir, `early-${noInsert}.tar`)
      const made = makeDumpTar(src, tar, {noInsert, early: early(src, 'pages-1.img')})
      assert.ok(made.hash, 'used')
      assert.equal(made.hash.digest('hex'), createHash('sha256').update(readFileSync(tar)).digest('hex'))
      // Not the leading member, or other leading bytes (the file changed since): not used.
      const other = dumpDir(dir)
      const wrong = {...early(other, 'pages-1.img'), name: 'mm-1.img'}
      assert.equal(makeDumpTar(other, join(dir, `early-wrong-${noInsert}.tar`), {noInsert, early: wrong}).hash, undefined)
      const again = dumpDir(dir)
      const stale = {...early(again, 'pages-1.img'), lead: Buffer.alloc(4096)}
      assert.equal(makeDumpTar(again, join(dir, `early-stale-${noInsert}.tar`), {noInsert, early: stale}).hash, undefined)
    })
  }

  test('a corrupted tar is DataLoss (neither our reader nor GNU tar can read it)', async () => {
    const tar = join(dir, 'corrupt.tar')
    makeDumpTar(dumpDir(dir), tar)
    const bytes = readFileSync(tar)
    bytes.fill(0x41, 0, 4096) // the headers in front of the memory
    writeFileSync(tar, bytes)
    const out = join(dir, 'from-corrupt')
    await assert.rejects(extractDumpTar(tar, out).done, (err) => errorKind(err) === 'data loss')
  })
})
