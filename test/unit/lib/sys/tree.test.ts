// removeTree and treeUsage on hostile trees — regression tests for issue 11 item 3 ("a hostile
// layer switches garbage collection off for good"): Node's rmSync({recursive}) overflowed the
// stack on a 2000-deep tree and no path-based walk reaches below PATH_MAX. Both now work at any
// depth, never follow a symlink, never cross a mount point, and removal goes on past what it
// cannot remove before it reports it.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {removeTree, treeUsage} from '../../../../src/lib/sys/tree.js'
import {makeDeepTree} from '../../../helpers/deep-tree.js'

const isRoot = process.getuid?.() === 0
const needsRoot = !isRoot && !process.env['CI'] ? 'needs root (chattr, mount)' : false

describe('sys/tree on hostile trees', () => {
  let dir: string
  // tmpfs when there is one: these trees are thousands of directories deep.
  before(() => (dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'berth-tree-'))))
  after(() => removeTree(dir))

  test('regression: a 3000-deep tree (past PATH_MAX) overflowed rmSync; removeTree removes it', () => {
    const root = join(dir, 'deep')
    assert.ok(makeDeepTree(root, 3000) > 4096)
    assert.throws(() => rmSync(root, {recursive: true, force: true}), /Maximum call stack size exceeded/, 'the bug this guards against: Node itself recurses')
    removeTree(root)
    assert.equal(existsSync(root), false)
    assert.equal(existsSync('/etc/hostname') || existsSync('/etc/passwd'), true, 'symlinks to / were removed, not followed')
  })

  test('multi-byte names past PATH_MAX, and onRemoved reports the entries it can name', () => {
    const root = join(dir, 'utf8')
    makeDeepTree(root, 1000, {name: 'ééé'}) // 7 bytes a level: 7 kB deep
    writeFileSync(join(root, 'top'), 'x')
    const seen: string[] = []
    removeTree(root, {onRemoved: (rel) => seen.push(rel)})
    assert.equal(existsSync(root), false)
    assert.ok(seen.includes('top') && seen.includes('ééé') && seen.includes('ééé/f') && seen.includes('ééé/up'), seen.slice(0, 5).join(' '))
    assert.ok(
      seen.every((r) => Buffer.byteLength(join(root, r)) < 4096),
      'only names the kernel could have been given',
    )
    assert.ok(seen.length > 3 * (4096 / 8) * 0.8, `${seen.length} entries reported`)
  })

  test('a missing path is fine; a file or a symlink at the path is unlinked, never followed', () => {
    removeTree(join(dir, 'missing'))
    const target = join(dir, 'kept')
    mkdirSync(target)
    writeFileSync(join(target, 'x'), 'x')
    symlinkSync(target, join(dir, 'link'))
    removeTree(join(dir, 'link'))
    assert.equal(existsSync(join(target, 'x')), true)
    writeFileSync(join(dir, 'file'), 'x')
    removeTree(join(dir, 'file'))
    assert.equal(existsSync(join(dir, 'file')), false)
  })

  test('regression: treeUsage counts a tree past PATH_MAX (allocated bytes, distinct inodes) as du does', () => {
    const root = join(dir, 'usage')
    makeDeepTree(root, 2100, {fileBytes: 5000})
    linkSync(join(root, 'a', 'f'), join(root, 'hardlink')) // one inode, counted once
    const usage = treeUsage(root)
    const du = (...args: string[]) => Number(spawnSync('du', ['-s', ...args, root], {encoding: 'utf8'}).stdout.split('\t')[0])
    assert.deepEqual(usage, {size: du('-B1'), inodes: du('--inodes')})
    assert.ok(usage.inodes > 2100 * 2, `${usage.inodes} inodes`)
    assert.deepEqual(treeUsage(join(dir, 'nothing-here')), {size: 0, inodes: 0})
    removeTree(root)
  })

  test('an immutable entry stays and is reported (PermissionDenied, with a count); everything else goes', {skip: needsRoot}, () => {
    const root = join(dir, 'immutable')
    mkdirSync(join(root, 'x', 'y'), {recursive: true})
    for (const n of ['a', 'b', 'c']) writeFileSync(join(root, 'x', n), n)
    writeFileSync(join(root, 'x', 'y', 'stuck'), 's')
    makeDeepTree(join(root, 'z'), 600)
    const chattr = (flag: string) => spawnSync('chattr', [flag, join(root, 'x', 'y', 'stuck')], {encoding: 'utf8'})
    const set = chattr('+i')
    assert.equal(set.status, 0, set.stderr)
    try {
      assert.throws(
        () => removeTree(root),
        (err: Error) => {
          assert.equal(errorKind(err), 'permission denied')
          assert.match(err.message, /^cannot remove ".*immutable": unlink .*x\/y\/stuck: EPERM: operation not permitted \(and 2 more failures\)$/)
          return true
        },
      )
      assert.deepEqual(readdirSync(root), ['x'])
      assert.deepEqual(readdirSync(join(root, 'x')), ['y'])
      assert.deepEqual(readdirSync(join(root, 'x', 'y')), ['stuck'])
    } finally {
      chattr('-i')
    }
    removeTree(root)
    assert.equal(existsSync(root), false)
  })

  test('never crosses into a mounted file system: the mount point stays, reported as FailedPrecondition', {skip: needsRoot}, () => {
    const root = join(dir, 'mounted')
    const mnt = join(root, 'sub', 'mnt')
    mkdirSync(mnt, {recursive: true})
    writeFileSync(join(root, 'sub', 'gone'), 'x')
    const m = spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', mnt], {encoding: 'utf8'})
    assert.equal(m.status, 0, m.stderr)
    try {
      writeFileSync(join(mnt, 'precious'), 'keep me')
      assert.throws(
        () => removeTree(root),
        (err: Error) => errorKind(err) === 'failed precondition' && /sub\/mnt: EXDEV/.test(err.message),
      )
      assert.equal(existsSync(join(mnt, 'precious')), true)
      assert.equal(existsSync(join(root, 'sub', 'gone')), false)
    } finally {
      spawnSync('umount', [mnt])
    }
    removeTree(root)
    assert.equal(existsSync(root), false)
  })
})
