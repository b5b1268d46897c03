// The owner shift of a remapped snapshot (--uidmap/--gidmap): id translation, naming, and the chown walk.
import assert from 'node:assert/strict'
import {chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {remappedKey, shiftOwners, toHostId} from '../../../../src/lib/runtime/index.js'

const ONE = [{containerID: 0, hostID: 100000, size: 65536}]

describe('toHostId, remappedKey', () => {
  test('ids map inside their range only', () => {
    const maps = [
      {containerID: 0, hostID: 100000, size: 1000},
      {containerID: 1000, hostID: 5000, size: 10},
    ]
    assert.equal(toHostId(0, maps), 100000)
    assert.equal(toHostId(999, maps), 100999)
    assert.equal(toHostId(1005, maps), 5005)
    assert.equal(toHostId(1010, maps), undefined)
  })
  test("containerd 1.7's <chainID>-<uid>-<gid> for one mapping from 0, the maps spelled out otherwise", () => {
    assert.equal(remappedKey('sha256:abc', ONE, [{containerID: 0, hostID: 200000, size: 65536}]), 'sha256:abc-100000-200000')
    assert.equal(remappedKey('sha256:abc', [{containerID: 1, hostID: 2, size: 3}], ONE), 'sha256:abc-1:2:3-0:100000:65536')
  })
})

describe('shiftOwners', {skip: process.getuid?.() !== 0 ? 'needs root (chown)' : false}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-remap-'))
  after(() => rmSync(dir, {recursive: true, force: true}))
  test('every entry is chowned, symlinks themselves, setuid bits kept', () => {
    const root = join(dir, 'tree')
    mkdirSync(join(root, 'home/app'), {recursive: true})
    writeFileSync(join(root, 'home/app/f'), 'x')
    chownSync(join(root, 'home/app'), 1000, 1000)
    chownSync(join(root, 'home/app/f'), 1000, 1000)
    writeFileSync(join(root, 'suid'), '')
    chmodSync(join(root, 'suid'), 0o4755)
    symlinkSync('/etc/passwd', join(root, 'link'))
    shiftOwners(root, ONE, ONE)
    const owner = (p: string) => {
      const st = lstatSync(join(root, p))
      return [st.uid, st.gid]
    }
    assert.deepEqual(owner(''), [100000, 100000])
    assert.deepEqual(owner('home/app'), [101000, 101000])
    assert.deepEqual(owner('home/app/f'), [101000, 101000])
    assert.deepEqual(owner('link'), [100000, 100000])
    assert.equal(statSync('/etc/passwd').uid, 0, 'the link target is not touched')
    assert.equal(statSync(join(root, 'suid')).mode & 0o7777, 0o4755)
  })
  test('an owner no mapping covers is an invalid argument naming the file', () => {
    const root = join(dir, 'unmapped')
    mkdirSync(root)
    writeFileSync(join(root, 'f'), '')
    lchownSync(join(root, 'f'), 70000, 0)
    assert.throws(
      () => shiftOwners(root, ONE, ONE),
      (e: Error) => errorKind(e) === 'invalid argument' && e.message === '/f is owned by uid 70000, which --uidmap does not map',
    )
  })
})
