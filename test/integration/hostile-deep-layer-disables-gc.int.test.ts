// Regression for issue 11 item 3, "a hostile layer switches garbage collection off for good": a
// layer with a path 5000 directories deep failed the pull with `ctr: Maximum call stack size
// exceeded` (exit 1), left a directory behind, and from then on every `ctr gc` failed the same way
// before deleting anything. Now the pull fails with a clear InvalidArgument and cleans up, GC
// removes trees deeper than PATH_MAX, and `snapshots usage`, `snapshots rm` and a native
// snapshot's copy handle them. Built CLI against Debian's docker-registry; runs as root (mounts
// for the native snapshotter's bind); skips elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {type Sandbox, sandbox} from '../helpers/cli.js'
import {makeDeepTree} from '../helpers/deep-tree.js'
import {buildImage} from '../helpers/oci-image.js'
import {pushImage, type RunningRegistry, startRegistry} from '../helpers/registry.js'

const isRoot = process.getuid?.() === 0
const skip = !isRoot && !process.env['CI'] ? 'needs root' : false

const dirsOn = (sb: Sandbox, sn = 'overlayfs') => {
  try {
    return readdirSync(join(sb.root, 'snapshots', sn)).sort()
  } catch {
    return []
  }
}
const du = (path: string, ...args: string[]) => Number(spawnSync('du', ['-s', ...args, path], {encoding: 'utf8'}).stdout.split('\t')[0])
/** The snapshot's own directory, from the bind mount `snapshots mounts` prints for an active snapshot without a parent. */
const fsDirOf = (sb: Sandbox, key: string, snapshotter = 'overlayfs') =>
  /^mount -t bind (\S+) /.exec(sb.ok(['snapshots', '--snapshotter', snapshotter, 'mounts', '/tmp/x', key]))![1]

describe('regression: a hostile layer switched garbage collection off for good', {skip}, () => {
  let reg: RunningRegistry
  let sb: Sandbox
  const deep = Array.from({length: 5000}, () => 'a').join('/')
  before(async () => {
    reg = await startRegistry()
    sb = sandbox()
    const hostile = await buildImage({layers: [[{path: 'etc/ok', type: 'file', content: 'fine\n'}], [{path: `${deep}/f`, type: 'file', content: 'deep\n'}]]})
    await pushImage(reg, 'hostile/deep:1', hostile)
    await pushImage(reg, 'plain/ok:1', await buildImage({layers: [[{path: 'etc/motd', type: 'file', content: 'hi\n'}]]}))
  })
  after(async () => {
    await reg.stop()
    sb.cleanup()
  })

  test('the pull fails with a clear InvalidArgument (not a stack overflow) and leaves no directory', () => {
    const r = sb.run(['images', 'pull', `${reg.host}/hostile/deep:1`])
    assert.equal(r.code, 2, r.stderr)
    const last = r.stderr.trimEnd().split('\n').at(-1)!
    assert.doesNotMatch(r.stderr, /Maximum call stack/)
    assert.match(last, /^ctr: layer entry "a\/a\/a\/.*….*\/a\/f \(10001 bytes\)": ENAMETOOLONG: name too long, mkdir '.*….*'$/)
    assert.ok(last.length < 600, `one bounded line: ${last.length} characters`)
    assert.deepEqual(dirsOn(sb), [], 'the layer committed before it and the half-extracted one are gone')
    assert.doesNotMatch(sb.ok(['images', 'ls', '-q']), /hostile/)
  })

  test("gc removes a leftover snapshot directory 5000 deep, and the failed pull's lease and what it fetched", () => {
    makeDeepTree(join(sb.root, 'snapshots', 'overlayfs', 'leftoverdeep', 'fs'), 5000)
    const gc = sb.run(['gc'])
    assert.equal(gc.code, 0, gc.stderr)
    assert.equal(gc.stderr, '')
    assert.match(gc.stdout, /^removed +snapshot-dir +- +overlayfs\/leftoverdeep *$/m)
    assert.deepEqual(dirsOn(sb), [])
    // The failed pull's process is gone, so this gc took its lease and blobs too (issue 14: no
    // `leases rm`, no 24-hour wait).
    assert.match(gc.stdout, /^removed +lease +default +\S+ *$/m)
    assert.equal(sb.ok(['leases', 'ls', '-q']), '')
    assert.equal(sb.ok(['content', 'ls', '-q']), '')
    assert.deepEqual(readdirSync(join(sb.root, 'content', 'blobs', 'sha256')), [])
    // Pulls work as before.
    sb.ok(['images', 'pull', `${reg.host}/plain/ok:1`])
    assert.equal(dirsOn(sb).length, 1)
  })

  test('snapshots usage counts a tree past PATH_MAX as du does; snapshots rm removes it', () => {
    sb.ok(['snapshots', 'prepare', 'deep-active'])
    const fs = fsDirOf(sb, 'deep-active')
    makeDeepTree(fs, 100, {name: 'd'.repeat(60)}) // 6.1 kB
    const usage = sb.ok(['snapshots', 'usage', '-b', 'deep-active']).split('\n')[1].trim().split(/ +/)
    assert.deepEqual(usage, ['deep-active', String(du(fs, '-B1')), String(du(fs, '--inodes'))])
    assert.ok(Number(usage[2]) > 200, `inodes ${usage[2]}`)
    assert.equal(sb.ok(['snapshots', 'rm', 'deep-active']), '')
    assert.equal(existsSync(fs), false)
  })

  test('a native snapshot on a parent past PATH_MAX fails with a bounded cp error and leaves nothing', () => {
    const before = dirsOn(sb, 'native')
    sb.ok(['snapshots', '--snapshotter', 'native', 'prepare', 'native-deep'])
    makeDeepTree(fsDirOf(sb, 'native-deep', 'native'), 100, {name: 'd'.repeat(60)})
    sb.ok(['snapshots', '--snapshotter', 'native', 'commit', 'native-deep-c', 'native-deep'])
    const withParent = dirsOn(sb, 'native')
    const r = sb.run(['snapshots', '--snapshotter', 'native', 'prepare', 'child', 'native-deep-c'])
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^ctr: copy snapshot tree: cp: cannot [a-z ]+ '[^']*…[^']*': File name too long\n$/)
    assert.ok(r.stderr.length < 600, `one bounded line: ${r.stderr.length} characters`)
    assert.deepEqual(dirsOn(sb, 'native'), withParent, 'the partial copy is gone')
    sb.ok(['snapshots', '--snapshotter', 'native', 'rm', 'native-deep-c'])
    assert.deepEqual(dirsOn(sb, 'native'), before)
  })
})
