// One conformance suite for every snapshotter (containerd's snapshots/testsuite is the model), run
// against overlayfs and native alike through the interface callers use (SnapshotService over
// openSnapshotter): prepare/commit/view chains seen through real mounts, the shape of the mounts,
// stat and walk, removal rules, usage, whiteouts and opaque directories landed by unpacking, and
// containerd's error kinds. Needs root (mounts, owners): skipped without it unless CI is set.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {describe as text, errorKind} from '../../../../src/lib/errors/index.js'
import {MediaType} from '../../../../src/lib/oci/index.js'
import {SnapshotService} from '../../../../src/lib/snapshot/service.js'
import {SNAPSHOTTERS} from '../../../../src/lib/snapshot/snapshotter.js'
import {openSnapshotter} from '../../../../src/lib/snapshot/snapshotters.js'
import {unpackLayers} from '../../../../src/lib/snapshot/unpack.js'
import {putBlob, type TempStore, tempStore, testBlob} from '../../../helpers/store.js'
import {type TarEntry, writeTar} from '../../../helpers/tar-writer.js'

const isRoot = process.getuid?.() === 0
const skip = !isRoot && !process.env['CI'] ? 'needs root (mounts, owners)' : false
const NS = 'default'

/** [kind, message] of what `fn` throws, or undefined. */
async function failure(fn: () => unknown): Promise<[string, string] | undefined> {
  try {
    await fn()
  } catch (err) {
    return [errorKind(err), text(err)]
  }
  return undefined
}

/** Sorted names in `dir`. */
const ls = (dir: string): string[] => readdirSync(dir).sort()

for (const name of SNAPSHOTTERS) {
  describe(`snapshotter conformance: ${name}`, {skip}, () => {
    let t: TempStore
    let sn: SnapshotService
    let scratch: string
    const mounted: string[] = []

    /** A fresh mountpoint with `key` mounted on it (unmounted after the suite, or by `unmount`). */
    const mount = (key: string): string => {
      const target = mkdtempSync(join(scratch, 'mnt-'))
      sn.mount(key, target)
      mounted.push(target)
      return target
    }
    const unmount = (target: string): void => {
      SnapshotService.unmountAll(target)
      rmSync(target, {recursive: true, force: true})
    }
    /** Prepare `key` on `parent`, let `write` change its tree through a mount, commit it as `committed`. */
    const layer = async (key: string, parent: string | undefined, committed: string, write: (root: string) => void): Promise<void> => {
      await sn.prepare(key, {kind: 'active', parent})
      const target = mount(key)
      write(target)
      unmount(target)
      sn.commit(committed, key)
    }
    /** Unpack uncompressed `layers` as an image, returning the top chain ID. */
    const unpack = async (layers: TarEntry[][]): Promise<string> => {
      const descriptors = []
      for (const entries of layers) {
        const bytes = writeTar(entries)
        const blob = {bytes, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length}
        await putBlob(t.store, NS, blob, {mediaType: MediaType.ociLayer})
        descriptors.push({mediaType: MediaType.ociLayer, digest: blob.digest, size: blob.size})
      }
      const config = testBlob(`config of ${descriptors.map((d) => d.digest).join(',')}`)
      await putBlob(t.store, NS, config)
      const result = await unpackLayers(t.store, {
        namespace: NS,
        snapshotter: name,
        layers: descriptors.map((descriptor) => ({descriptor, ready: Promise.resolve()})),
        diffIds: descriptors.map((d) => d.digest),
        configDigest: config.digest,
      })
      return result.chainId
    }

    before(async () => {
      t = await tempStore()
      sn = new SnapshotService(t.store, NS, name)
      scratch = mkdtempSync(join(tmpdir(), `berth-conformance-${name}-`))
    })
    after(() => {
      for (const target of mounted) SnapshotService.unmountAll(target)
      rmSync(scratch, {recursive: true, force: true})
      t.cleanup()
    })

    test('the factory opens this snapshotter under <root>/snapshots/<name>', () => {
      const s = openSnapshotter(t.store.root, name)
      assert.equal(s.name, name)
      assert.equal(s.dir, join(t.store.root, 'snapshots', name))
      assert.equal(sn.snapshotter.name, name)
    })

    test('prepare, write, commit; a child sees its parent, its own changes and deletions; a view shows the result read-only', async () => {
      await layer('base-active', undefined, 'base', (root) => {
        writeFileSync(join(root, 'foo'), 'foo\n')
        mkdirSync(join(root, 'dir'))
        writeFileSync(join(root, 'dir', 'keep'), 'keep\n')
        writeFileSync(join(root, 'dir', 'drop'), 'drop\n')
        writeFileSync(join(root, 'moved'), 'moved\n')
      })
      await sn.prepare('child-active', {kind: 'active', parent: 'base'})
      const target = mount('child-active')
      assert.deepEqual(ls(target), ['dir', 'foo', 'moved'])
      assert.equal(readFileSync(join(target, 'foo'), 'utf8'), 'foo\n')
      writeFileSync(join(target, 'bar'), 'bar\n')
      unlinkSync(join(target, 'foo'))
      unlinkSync(join(target, 'dir', 'drop'))
      renameSync(join(target, 'moved'), join(target, 'renamed'))
      unmount(target)
      sn.commit('child', 'child-active')

      await sn.prepare('child-view', {kind: 'view', parent: 'child'})
      const view = mount('child-view')
      assert.deepEqual(ls(view), ['bar', 'dir', 'renamed'])
      assert.deepEqual(ls(join(view, 'dir')), ['keep'])
      assert.equal(readFileSync(join(view, 'renamed'), 'utf8'), 'moved\n')
      assert.throws(() => writeFileSync(join(view, 'new'), 'x'), {code: 'EROFS'})
      unmount(view)
      // The parent is as it was committed.
      await sn.prepare('base-view', {kind: 'view', parent: 'base'})
      const baseView = mount('base-view')
      assert.deepEqual(ls(baseView), ['dir', 'foo', 'moved'])
      assert.deepEqual(ls(join(baseView, 'dir')), ['drop', 'keep'])
      unmount(baseView)
    })

    test('stat and walk: kinds and parents of the records', () => {
      assert.deepEqual(
        ['base', 'child', 'child-view', 'base-view'].map((k) => [k, sn.get(k).kind, sn.get(k).parent]),
        [
          ['base', 'committed', undefined],
          ['child', 'committed', 'base'],
          ['child-view', 'view', 'child'],
          ['base-view', 'view', 'base'],
        ],
      )
      assert.deepEqual(
        sn
          .list()
          .map((r) => r.key)
          .sort(),
        ['base', 'base-view', 'child', 'child-view'],
      )
      assert.equal(sn.find('child-active'), undefined) // committed under its new name
    })

    test('mounts: the shape of each kind of snapshot', async () => {
      const fs = (key: string) => sn.snapshotter.fsPath(sn.get(key).dir)
      const work = (key: string) => join(sn.snapshotter.dir, sn.get(key).dir, 'work')
      await sn.prepare('top-active', {kind: 'active'})
      await sn.prepare('on-one', {kind: 'active', parent: 'base'})
      await sn.prepare('on-two', {kind: 'active', parent: 'child'})
      const mounts = Object.fromEntries(['top-active', 'on-one', 'on-two', 'base-view', 'child-view'].map((k) => [k, sn.mounts(k)]))
      if (name === 'overlayfs') {
        assert.deepEqual(mounts, {
          'top-active': [{type: 'bind', source: fs('top-active'), options: ['rw', 'rbind']}],
          'on-one': [
            {type: 'overlay', source: 'overlay', options: ['index=off', `workdir=${work('on-one')}`, `upperdir=${fs('on-one')}`, `lowerdir=${fs('base')}`]},
          ],
          // lowerdir: nearest parent first (the top of the stack).
          'on-two': [
            {
              type: 'overlay',
              source: 'overlay',
              options: ['index=off', `workdir=${work('on-two')}`, `upperdir=${fs('on-two')}`, `lowerdir=${fs('child')}:${fs('base')}`],
            },
          ],
          'base-view': [{type: 'bind', source: fs('base'), options: ['ro', 'rbind']}],
          'child-view': [{type: 'overlay', source: 'overlay', options: ['index=off', `lowerdir=${fs('child')}:${fs('base')}`]}],
        })
      } else {
        assert.deepEqual(mounts, {
          'top-active': [{type: 'bind', source: fs('top-active'), options: ['rw', 'rbind']}],
          'on-one': [{type: 'bind', source: fs('on-one'), options: ['rw', 'rbind']}],
          'on-two': [{type: 'bind', source: fs('on-two'), options: ['rw', 'rbind']}],
          'base-view': [{type: 'bind', source: fs('base-view'), options: ['ro', 'rbind']}],
          'child-view': [{type: 'bind', source: fs('child-view'), options: ['ro', 'rbind']}],
        })
      }
      // What prepare returns is what mounts says.
      const {mounts: returned} = await sn.prepare('returned', {kind: 'view', parent: 'child'})
      assert.deepEqual(returned, sn.mounts('returned'))
      assert.deepEqual(await failure(() => sn.mounts('base')), [
        'invalid argument',
        'a committed snapshot cannot be mounted: prepare or view it first: invalid argument',
      ])
      for (const k of ['top-active', 'on-one', 'on-two', 'returned']) sn.remove(k)
    })

    test('committed layers read without a mount: top first, the whole chain for a diff layout', async () => {
      const layers = sn.committedLayers('child')
      // Top first; a file a child deleted is hidden in the union (a whiteout, or simply absent).
      assert.ok(layers.length >= 1)
      assert.equal(layers[0], sn.fsPath('child'))
      assert.ok(layers.some((l) => existsSync(join(l, 'bar'))))
      assert.equal(layers.length, sn.snapshotter.layout === 'overlay' ? 2 : 1)
      assert.deepEqual(await failure(() => sn.committedLayers('child-view')), ['invalid argument', 'snapshot "child-view" is not committed: invalid argument'])
    })

    test('a new root is 0755 whatever the umask; owners and modes survive commit', async () => {
      const old = process.umask(0o027)
      try {
        await sn.prepare('root-perm', {kind: 'active'})
      } finally {
        process.umask(old)
      }
      const target = mount('root-perm')
      assert.equal(statSync(target).mode & 0o7777, 0o755)
      mkdirSync(join(target, 'owned'))
      chownSync(join(target, 'owned'), 1000, 1001)
      chmodSync(join(target, 'owned'), 0o710)
      unmount(target)
      sn.commit('root-perm-c', 'root-perm')
      await sn.prepare('root-perm-child', {kind: 'active', parent: 'root-perm-c'})
      const child = mount('root-perm-child')
      const st = statSync(join(child, 'owned'))
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1000, 1001, 0o710])
      unmount(child)
      sn.remove('root-perm-child')
      sn.remove('root-perm-c')
    })

    test('a parent with children cannot be removed; children first, and the directories go', async () => {
      const dirs = (['base', 'child'] as const).map((k) => join(sn.snapshotter.dir, sn.get(k).dir))
      assert.deepEqual(await failure(() => sn.remove('base')), ['failed precondition', 'cannot remove snapshot with child: failed precondition'])
      assert.deepEqual(await failure(() => sn.remove('child')), ['failed precondition', 'cannot remove snapshot with child: failed precondition'])
      sn.remove('child-view')
      sn.remove('base-view')
      sn.remove('child')
      assert.equal(existsSync(dirs[1]), false)
      assert.equal(existsSync(dirs[0]), true)
      sn.remove('base')
      assert.equal(existsSync(dirs[0]), false)
      assert.deepEqual(sn.list(), [])
    })

    test('a mounted active snapshot is not removed; once unmounted its directory goes, work dir and all', async () => {
      await sn.prepare('busy', {kind: 'active'})
      const dir = join(sn.snapshotter.dir, sn.get('busy').dir)
      const target = mount('busy')
      writeFileSync(join(target, 'data'), 'data\n')
      const refused = await failure(() => sn.remove('busy'))
      assert.deepEqual(refused, ['failed precondition', `snapshot "busy" is mounted at ${target}: failed precondition`])
      assert.ok(sn.find('busy'))
      unmount(target)
      sn.remove('busy')
      assert.equal(existsSync(dir), false)
      assert.equal(sn.find('busy'), undefined)
    })

    test('containerd error kinds: exists, not found, parent not committed, unknown snapshotter', async () => {
      await sn.prepare('e-active', {kind: 'active'})
      await layer('e-base-active', undefined, 'e-base', () => {})
      assert.deepEqual(await failure(() => sn.prepare('e-active', {kind: 'active'})), ['already exists', 'snapshot "e-active": already exists'])
      assert.deepEqual(await failure(() => sn.prepare('e-active', {kind: 'view', parent: 'e-base'})), ['already exists', 'snapshot "e-active": already exists'])
      assert.deepEqual(await failure(() => sn.prepare('x', {kind: 'active', parent: 'nope'})), ['not found', 'snapshot "nope": not found'])
      assert.deepEqual(await failure(() => sn.prepare('x', {kind: 'view', parent: 'e-active'})), [
        'invalid argument',
        'parent "e-active" is not committed snapshot: invalid argument',
      ])
      assert.equal(sn.find('x'), undefined) // nothing recorded by a refused prepare
      assert.deepEqual(await failure(() => sn.commit('e-base', 'e-active')), ['already exists', 'snapshot "e-base": already exists'])
      assert.deepEqual(await failure(() => sn.commit('y', 'nope')), ['not found', 'snapshot "nope": not found'])
      assert.deepEqual(await failure(() => sn.mounts('nope')), ['not found', 'snapshot "nope": not found'])
      assert.deepEqual(await failure(() => sn.usage('nope')), ['not found', 'snapshot "nope": not found'])
      sn.remove('e-active')
      assert.deepEqual(await failure(() => sn.remove('e-active')), ['not found', 'snapshot "e-active": not found'])
      sn.remove('e-base')
      assert.deepEqual(await failure(() => openSnapshotter(t.store.root, 'zfs')), [
        'not implemented',
        'snapshotter "zfs" is not supported (use overlayfs or native): not implemented',
      ])
      // No directory is left behind by any of it.
      assert.deepEqual(ls(sn.snapshotter.dir), [])
    })

    test('usage counts what a snapshot holds in its own directory', async () => {
      await sn.prepare('u', {kind: 'active'})
      const before = sn.usage('u')
      const target = mount('u')
      writeFileSync(join(target, 'big'), Buffer.alloc(1 << 20, 1))
      mkdirSync(join(target, 'd'))
      unmount(target)
      const grown = sn.usage('u')
      assert.ok(grown.size - before.size >= 1 << 20, `${grown.size} - ${before.size}`)
      assert.equal(grown.inodes - before.inodes, 2)
      sn.remove('u')
    })

    test('layers unpacked through diff-apply land whiteouts and opaque directories', async () => {
      const chainId = await unpack([
        [
          {path: 'd/', type: 'dir'},
          {path: 'd/a', type: 'file', content: 'a\n'},
          {path: 'd/b', type: 'file', content: 'b\n'},
          {path: 'f', type: 'file', content: 'f\n'},
          {path: 'o/', type: 'dir'},
          {path: 'o/x', type: 'file', content: 'x\n'},
          {path: 'o/sub/', type: 'dir'},
          {path: 'same', type: 'file', content: 'lower\n'},
        ],
        [
          {path: 'd/.wh.a', type: 'file'},
          {path: '.wh.f', type: 'file'},
          {path: 'o/.wh..wh..opq', type: 'file'},
          {path: 'o/y', type: 'file', content: 'y\n'},
          {path: 'same', type: 'file', content: 'upper\n'},
        ],
        [{path: 'f', type: 'file', content: 'f again\n'}],
      ])
      const expectTree = (root: string) => {
        assert.deepEqual(ls(root), ['d', 'f', 'o', 'same'])
        assert.deepEqual(ls(join(root, 'd')), ['b'])
        assert.deepEqual(ls(join(root, 'o')), ['y'])
        assert.equal(readFileSync(join(root, 'same'), 'utf8'), 'upper\n')
        assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'f again\n')
      }
      await sn.prepare('img-view', {kind: 'view', parent: chainId})
      const view = mount('img-view')
      expectTree(view)
      unmount(view)
      // An active snapshot on the image sees the same, and its own whiteouts commit.
      await sn.prepare('img-active', {kind: 'active', parent: chainId})
      const active = mount('img-active')
      expectTree(active)
      rmSync(join(active, 'o'), {recursive: true})
      mkdirSync(join(active, 'o'))
      writeFileSync(join(active, 'o', 'z'), 'z\n')
      unmount(active)
      sn.commit('img-next', 'img-active')
      await sn.prepare('img-next-view', {kind: 'view', parent: 'img-next'})
      const next = mount('img-next-view')
      assert.deepEqual(ls(join(next, 'o')), ['z'])
      unmount(next)
      for (const k of ['img-next-view', 'img-next', 'img-view']) sn.remove(k)
    })

    test('a deep chain mounts (relative lower directories keep the options short)', async () => {
      let parent: string | undefined
      const depth = 40
      for (let i = 0; i < depth; i++) {
        await layer(`deep-${i}-active`, parent, `deep-${i}`, (root) => writeFileSync(join(root, `file-${String(i).padStart(2, '0')}`), `${i}\n`))
        parent = `deep-${i}`
      }
      await sn.prepare('deep-view', {kind: 'view', parent})
      const view = mount('deep-view')
      assert.equal(ls(view).length, depth)
      assert.equal(readFileSync(join(view, 'file-00'), 'utf8'), '0\n')
      unmount(view)
    })
  })
}
