// What applying layers preserves and how whiteouts behave, in both modes: overlay (checked through
// a read-only overlay mount of the extracted layers) and merged (the tree itself), and the two
// modes give identical trees. Needs root (owners, devices, trusted xattrs, mounts): skipped
// without it unless CI is set.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {chmodSync, chownSync, readdirSync} from 'node:fs'
import {after, before, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {applyLayerHere} from '../../../../src/lib/snapshot/apply/index.js'
import {applyMergedStack, applyOverlayStack, overlayTree, scratch, type Scratch} from '../../../helpers/apply-layers.js'
import {diffTrees, hardlinkGroups, readTree, type Tree} from '../../../helpers/fs-tree.js'
import {featureLayers} from '../../../helpers/layer-fixtures.js'
import {writeTar, type TarEntry} from '../../../helpers/tar-writer.js'

const isRoot = process.getuid?.() === 0
const skip = !isRoot && !process.env['CI'] ? 'needs root (owners, devices, mounts)' : false
const sha = (text: string): string => createHash('sha256').update(text).digest('hex')
const ns = (sec: number, nsec = 0): bigint => BigInt(sec) * 1_000_000_000n + BigInt(nsec)
const T0 = 1_600_000_000

/** Applies layers in both modes. @returns the overlay view and the merged tree. */
async function both(s: Scratch, layers: TarEntry[][]): Promise<{overlay: Tree; merged: Tree}> {
  const uppers = await applyOverlayStack(s, layers)
  const overlay = overlayTree(uppers)
  const merged = readTree(await applyMergedStack(s, layers))
  return {overlay, merged}
}

/** Trees compared without the whiteout bookkeeping overlayfs hides anyway. */
function assertSameTrees(a: Tree, b: Tree, ignoreMtime: (path: string) => boolean = () => false): void {
  assert.deepEqual(diffTrees(a, b, {mtime: (p) => !ignoreMtime(p)}), [])
  assert.deepEqual(hardlinkGroups(a), hardlinkGroups(b))
}

describe('applying layers preserves everything', {skip}, () => {
  let s: Scratch
  let view: {overlay: Tree; merged: Tree}
  before(async () => {
    s = scratch('berth-features-')
    view = await both(s, featureLayers())
  })
  after(() => s?.cleanup())

  test('overlay and merged modes give identical trees (mtimes and hardlinks included)', () => {
    assert.deepEqual(diffTrees(view.overlay, view.merged), [])
    // One known difference: a hardlink (tool-link2) to a lower file that has other links
    // (tool-alias) copies the file up, as overlayfs itself does, so the lower link stays apart.
    assert.deepEqual(hardlinkGroups(view.merged), ['usr/bin/tool = usr/bin/tool-alias = usr/bin/tool-link2'])
    assert.deepEqual(hardlinkGroups(view.overlay), ['usr/bin/tool = usr/bin/tool-link2'])
  })

  for (const mode of ['overlay', 'merged'] as const) {
    test(`modes, owners, times, xattrs, links, devices, names (${mode})`, () => {
      const t = view[mode]
      const get = (p: string) => {
        const e = t.get(p)
        assert.ok(e, `${p} missing`)
        return e
      }
      assert.equal(get('usr/bin/su').mode, 0o4755)
      assert.equal(get('usr/bin/wall').mode, 0o2755)
      assert.equal(get('usr/bin/wall').gid, 5)
      assert.equal(get('modes/none').mode, 0o000)
      assert.equal(get('modes/all').mode, 0o6711)
      assert.equal(get('modes/all').sha256, sha('replaced, mode kept odd'))
      assert.equal(get('modes/sticky').mode, 0o1777)
      assert.equal(get('modes/closed').mode, 0o000)
      assert.equal(get('modes/closed/inside').sha256, sha('in a 000 directory'))
      assert.deepEqual([get('modes/private').uid, get('modes/private').gid, get('modes/private').mode], [1000, 1000, 0o700])
      assert.deepEqual([get('owners/small').uid, get('owners/small').gid], [1234, 5678])
      assert.deepEqual([get('owners/large').uid, get('owners/large').gid], [3_000_000_000, 3_000_000_001])
      // capabilities survive the chown that comes before them
      assert.deepEqual([get('usr/bin/ping').uid, get('usr/bin/ping').xattrs['security.capability']], [1000, '0100000200200000000000000000000000000000'])
      assert.deepEqual(get('xattrs/file').xattrs, {'user.binary': '000102ff', 'user.text': Buffer.from('value').toString('hex')})
      assert.deepEqual(get('xattrs').xattrs, {'user.dir': Buffer.from('on a directory').toString('hex')})
      assert.equal(get('times/nanos').mtimeNs, ns(T0 + 51, 123456789))
      assert.equal(get('times/old').mtimeNs, ns(86_400))
      assert.equal(get('times').mtimeNs, ns(T0 + 50)) // set after its children were created
      assert.equal(get('usr/bin/abs').mtimeNs, ns(T0 + 27)) // symlink times, not the target's
      assert.deepEqual([get('usr/bin/abs').link, get('usr/bin/abs').uid, get('usr/bin/abs').gid], ['/etc/passwd', 7, 8])
      assert.equal(get('usr/bin/sh').link, '../../bin/busybox')
      assert.equal(get('usr/bin/dangling').link, 'no/such/target')
      assert.deepEqual([get('dev/null').type, get('dev/null').rdev, get('dev/null').mode], ['char', [1, 5], 0o666])
      assert.deepEqual([get('dev/sda1').type, get('dev/sda1').rdev, get('dev/sda1').gid], ['block', [8, 1], 6])
      assert.deepEqual([get('dev/initctl').type, get('dev/initctl').mode], ['fifo', 0o600])
      assert.equal(get('names/ünïcødé ✓ 名前.txt').sha256, sha('utf-8 name'))
      assert.equal(get('long/' + 'd'.repeat(120) + '/' + 'f'.repeat(150)).sha256, sha('a PAX long name'))
      // hardlinks: in one layer, and to a file of a lower layer (copied up in overlay mode)
      assert.equal(get('usr/bin/tool-alias').sha256, get('usr/bin/tool').sha256)
      assert.ok(hardlinkGroups(t).some((g) => g.includes('usr/bin/tool = ') && g.includes('usr/bin/tool-link2')))
      assert.deepEqual(
        [get('usr/bin/tool-link2').uid, get('usr/bin/tool-link2').mode, get('usr/bin/tool-link2').xattrs],
        [12, 0o755, {'user.origin': Buffer.from('base').toString('hex')}],
      )
    })

    test(`whiteouts, opaque directories, replacements, last entry wins (${mode})`, () => {
      const t = view[mode]
      assert.equal(t.has('wh/gone'), false)
      assert.equal(t.has('wh/dir-gone'), false)
      assert.equal(t.has('wh/dir-gone/inside'), false)
      assert.equal(t.get('wh/keep')?.sha256, sha('stays'))
      assert.deepEqual(
        [...t.keys()].filter((p) => p.startsWith('opq/')),
        ['opq/new'],
      )
      assert.equal(t.get('opq')?.mode, 0o711)
      assert.equal(t.get('replace/file-to-dir')?.type, 'dir')
      assert.equal(t.get('replace/file-to-dir/inner')?.sha256, sha('now a directory'))
      assert.equal(t.get('replace/dir-to-file')?.type, 'file')
      assert.equal(t.has('replace/dir-to-file/child'), false)
      assert.deepEqual(
        [...t.keys()].filter((p) => p.startsWith('var/')),
        ['var/new'],
      ) // whiteout, then a new directory in the same layer
      assert.equal(t.get('var')?.mode, 0o700)
      assert.equal(t.get('twice')?.sha256, sha('second version wins'))
      assert.equal(t.get('twice')?.mode, 0o600)
      assert.equal(t.has('etc/shadow'), false)
      assert.equal(t.get('etc/passwd')?.mode, 0o600)
      assert.equal(t.get('home/user/.profile')?.uid, 1000)
      assert.equal(
        [...t.values()].some((e) => e.type === 'char' && String(e.rdev) === '0,0'),
        false,
        'no whiteout devices visible',
      )
    })
  }

  test('overlay mode writes whiteouts as char 0:0 and opaque markers as trusted.overlay.opaque=y', async () => {
    const uppers = await applyOverlayStack(s, featureLayers())
    const middle = readTree(uppers[1])
    assert.equal(middle.get('wh/gone')?.type, 'char')
    assert.deepEqual(middle.get('wh/gone')?.rdev, [0, 0])
    assert.equal(middle.get('opq')?.xattrs['trusted.overlay.opaque'], '79')
    assert.equal(middle.get('var')?.xattrs['trusted.overlay.opaque'], '79') // whited out, then created again
    assert.equal(middle.has('usr/bin/tool'), true) // copied up for the hardlink
  })
})

describe('layer semantics in detail', {skip}, () => {
  let s: Scratch
  before(() => {
    s = scratch('berth-semantics-')
  })
  after(() => s?.cleanup())

  test('a whiteout hides only lower layers, never entries of its own layer', async () => {
    const layers: TarEntry[][] = [
      [
        {path: 'e/old', type: 'file'},
        {path: 'f/old', type: 'file'},
        {path: 'g/old', type: 'file'},
        {path: 'h', type: 'file', content: 'lower'},
        {path: 'i', type: 'file', content: 'lower'},
      ],
      [
        {path: '.wh.e', type: 'file'},
        {path: 'e/new', type: 'file'}, // whiteout first: e becomes a new, opaque directory
        {path: 'f/new2', type: 'file'},
        {path: '.wh.f', type: 'file'}, // directory of this layer first: it stays, lower content goes
        {path: 'g/', type: 'dir'},
        {path: 'g/.wh.old', type: 'file'},
        {path: 'g/.wh.old', type: 'file'}, // twice
        {path: 'h', type: 'file', content: 'this layer'},
        {path: '.wh.h', type: 'file'}, // this layer's own file stays
        {path: '.wh.i', type: 'file'},
        {path: 'i', type: 'file', content: 'recreated'},
        {path: '.wh.never-existed', type: 'file'},
      ],
    ]
    const {overlay, merged} = await both(s, layers)
    for (const t of [overlay, merged]) {
      assert.deepEqual([...t.keys()].sort(), ['e', 'e/new', 'f', 'f/new2', 'g', 'h', 'i'])
      assert.equal(t.get('h')?.sha256, sha('this layer'))
      assert.equal(t.get('i')?.sha256, sha('recreated'))
    }
    assertSameTrees(overlay, merged, (p) => ['e', 'f'].includes(p)) // implicit directories: mtime of their making
  })

  test('a path listed twice in one layer: the last entry wins, whatever the types', async () => {
    const layers: TarEntry[][] = [
      [
        {path: 'a', type: 'file', content: 'one'},
        {path: 'a', type: 'file', content: 'two'},
        {path: 'b', type: 'file', content: 'file'},
        {path: 'b/', type: 'dir', mode: 0o701},
        {path: 'c/', type: 'dir'},
        {path: 'c/deep/x', type: 'file'},
        {path: 'c', type: 'symlink', linkname: 'a'},
        {path: 'd/', type: 'dir', mode: 0o700},
        {path: 'd/keep', type: 'file'},
        {path: 'd/', type: 'dir', mode: 0o750, uid: 9}, // metadata update, children kept
        {path: 'e', type: 'file', content: 'target'},
        {path: 'f', type: 'hardlink', linkname: 'e'},
        {path: 'f', type: 'file', content: 'not the target'},
        {path: 'g', type: 'fifo'},
        {path: 'g', type: 'char', devmajor: 4, devminor: 2},
      ],
    ]
    const {overlay, merged} = await both(s, layers)
    for (const t of [overlay, merged]) {
      assert.equal(t.get('a')?.sha256, sha('two'))
      assert.deepEqual([t.get('b')?.type, t.get('b')?.mode], ['dir', 0o701])
      assert.deepEqual([t.get('c')?.type, t.has('c/deep/x')], ['symlink', false])
      assert.deepEqual([t.get('d')?.mode, t.get('d')?.uid, t.has('d/keep')], [0o750, 9, true])
      assert.equal(t.get('e')?.sha256, sha('target'))
      assert.equal(t.get('f')?.sha256, sha('not the target'))
      assert.deepEqual(t.get('g')?.rdev, [4, 2])
    }
    assertSameTrees(overlay, merged, (p) => p === 'c/deep')
  })

  test('implicit parent directories take their metadata from the layer below (overlay fix-up)', async () => {
    const layers: TarEntry[][] = [
      [
        {path: 'deep/', type: 'dir', mode: 0o700, uid: 5, gid: 6, mtime: 1_234_567_890, xattrs: {'user.x': 'from below'}},
        {path: 'deep/a/', type: 'dir', mode: 0o711, mtime: 1_234_567_891},
        {path: 'deep/a/old', type: 'file'},
      ],
      [{path: 'deep/a/b/file', type: 'file', content: 'new'}],
    ]
    const {overlay, merged} = await both(s, layers)
    for (const t of [overlay, merged]) {
      assert.deepEqual([t.get('deep')?.mode, t.get('deep')?.uid, t.get('deep')?.gid, t.get('deep')?.mtimeNs], [0o700, 5, 6, ns(1_234_567_890)])
      assert.deepEqual(t.get('deep')?.xattrs, {'user.x': Buffer.from('from below').toString('hex')})
      assert.deepEqual([t.get('deep/a')?.mode, t.get('deep/a')?.mtimeNs], [0o711, ns(1_234_567_891)])
      assert.deepEqual([t.get('deep/a/b')?.mode, t.get('deep/a/b')?.uid], [0o755, 0])
      assert.equal(t.has('deep/a/old'), true)
    }
    assertSameTrees(overlay, merged, (p) => p === 'deep/a/b')
  })

  test('a hardlink to a file of a lower layer links a copy-up in overlay mode; to nothing it fails', async () => {
    const layers: TarEntry[][] = [
      [
        {path: 'lib/', type: 'dir'},
        {path: 'lib/libc.so', type: 'file', content: 'libc', mode: 0o755, uid: 3, mtime: 1_111_111_111, xattrs: {'user.k': 'v'}},
        {path: 'lib/sym', type: 'symlink', linkname: 'libc.so'},
      ],
      [
        {path: 'lib2/', type: 'dir'},
        {path: 'lib2/libc-link', type: 'hardlink', linkname: '/lib/libc.so'},
        {path: 'lib2/sym-link', type: 'hardlink', linkname: 'lib/sym'},
      ],
    ]
    const {overlay, merged} = await both(s, layers)
    for (const t of [overlay, merged]) {
      assert.equal(t.get('lib2/libc-link')?.ino, t.get('lib/libc.so')?.ino)
      assert.deepEqual([t.get('lib/libc.so')?.uid, t.get('lib/libc.so')?.mode, t.get('lib/libc.so')?.mtimeNs], [3, 0o755, ns(1_111_111_111)])
      assert.equal(t.get('lib2/sym-link')?.link, 'libc.so')
    }
    assertSameTrees(overlay, merged, (p) => p === 'lib') // overlay: the copy-up changed the upper lib/; merged: a directory of the parent tree
    for (const mode of ['overlay', 'merged'] as const) {
      const missing = [[{path: 'x', type: 'file'}], [{path: 'l', type: 'hardlink', linkname: 'nowhere'}]] as TarEntry[][]
      await assert.rejects(mode === 'overlay' ? applyOverlayStack(s, missing) : applyMergedStack(s, missing), (err) => {
        assert.equal(errorKind(err), 'data loss')
        assert.match((err as Error).message, /layer entry "l": hardlink target "nowhere" not found/)
        return true
      })
    }
  })

  test('deferred hardlinks keep the order of the layer: a link to a file that a later link replaces', async () => {
    const layers: TarEntry[][] = [
      [
        {path: 't', type: 'file', content: 'lower t'},
        {path: 'x', type: 'file', content: 'lower x'},
      ],
      [
        {path: 'a', type: 'hardlink', linkname: 't'},
        {path: 't', type: 'hardlink', linkname: 'x'},
      ],
    ]
    const {overlay, merged} = await both(s, layers)
    for (const t of [overlay, merged]) {
      assert.equal(t.get('a')?.sha256, sha('lower t'))
      assert.equal(t.get('t')?.sha256, sha('lower x'))
      assert.equal(t.get('t')?.ino, t.get('x')?.ino)
    }
  })

  test('a lower file where this layer needs a directory is covered by a new directory (both modes)', async () => {
    const layers: TarEntry[][] = [[{path: 'a', type: 'file', content: 'lower file'}], [{path: 'a/b', type: 'file', content: 'below a'}]]
    const {overlay, merged} = await both(s, layers)
    for (const t of [overlay, merged]) {
      assert.deepEqual([t.get('a')?.type, t.get('a')?.mode, t.get('a/b')?.sha256], ['dir', 0o755, sha('below a')])
    }
    const own = [
      [
        {path: 'a', type: 'file'},
        {path: 'a/b', type: 'file'},
      ],
    ] as TarEntry[][]
    for (const run of [applyOverlayStack, applyMergedStack]) {
      await assert.rejects(run(s, own), (err) => errorKind(err) === 'data loss' && /"a" is not a directory/.test((err as Error).message))
    }
  })

  test('xattr policy: trusted.overlay.* from a layer is dropped; user.* on a symlink is skipped with a warning', async () => {
    const warnings: string[] = []
    const layers: TarEntry[][] = [
      [
        {path: 'lower/', type: 'dir'},
        {path: 'lower/secret', type: 'file'},
      ],
      [
        {
          path: 'lower/',
          type: 'dir',
          xattrs: {'trusted.overlay.opaque': 'y', 'trusted.overlay.redirect': '/elsewhere', 'user.overlay.opaque': 'y', 'user.ok': '1'},
        },
        {path: 'sym', type: 'symlink', linkname: 'lower', xattrs: {'user.on-symlink': 'x'}},
      ],
    ]
    const uppers = await applyOverlayStack(s, layers, {onWarning: (m) => warnings.push(m)})
    const t = overlayTree(uppers)
    assert.equal(t.has('lower/secret'), true) // not made opaque by the layer's own xattr
    assert.deepEqual(readTree(uppers[1]).get('lower')?.xattrs, {'user.ok': '31'})
    assert.deepEqual(t.get('sym')?.xattrs, {})
    assert.equal(warnings.length, 1)
    assert.match(warnings[0], /user\.on-symlink.*"sym".*only on files and directories/)
  })

  test('a setgid directory lends neither its group nor its setgid bit to entries that state their own', async () => {
    const layers: TarEntry[][] = [
      [
        {path: 'shared/', type: 'dir', mode: 0o2775, gid: 50},
        {path: 'shared/file', type: 'file', content: 'x', mode: 0o644},
        {path: 'shared/dir/', type: 'dir', mode: 0o755},
        {path: 'shared/link', type: 'symlink', linkname: 'file'},
        {path: 'shared/fifo', type: 'fifo', mode: 0o644},
      ],
    ]
    const {overlay, merged} = await both(s, layers)
    for (const t of [overlay, merged]) {
      assert.deepEqual([t.get('shared')?.mode, t.get('shared')?.gid], [0o2775, 50])
      for (const p of ['shared/file', 'shared/dir', 'shared/link', 'shared/fifo']) assert.equal(t.get(p)?.gid, 0, p)
      assert.equal(t.get('shared/dir')?.mode, 0o755)
      assert.equal(t.get('shared/file')?.mode, 0o644)
    }
    // The same when the overlay target itself is setgid.
    const target = s.mkdir('setgid-root')
    chmodSync(target, 0o2755)
    chownSync(target, 0, 51)
    const blob = await s.blob([
      {path: 'f', type: 'file'},
      {path: 'd/', type: 'dir'},
    ])
    await applyLayerHere({blobPath: blob.path, mediaType: blob.mediaType, target, mode: 'overlay'})
    const t = readTree(target)
    assert.deepEqual([t.get('f')?.gid, t.get('d')?.gid, t.get('d')?.mode], [0, 0, 0o755])
  })

  test('an ACL among the xattrs does not change the mode the entry states (chmod comes after xattrs)', async () => {
    // posix_acl_xattr v2: user::rw-, user:1000:rwx, group::rwx, mask::rwx, other::---
    const acl = Buffer.alloc(4 + 5 * 8)
    acl.writeUInt32LE(2, 0)
    const entries: [number, number, number][] = [
      [0x01, 6, 0xffffffff],
      [0x02, 7, 1000],
      [0x04, 7, 0xffffffff],
      [0x10, 7, 0xffffffff],
      [0x20, 0, 0xffffffff],
    ]
    entries.forEach(([tag, perm, id], i) => {
      acl.writeUInt16LE(tag, 4 + i * 8)
      acl.writeUInt16LE(perm, 6 + i * 8)
      acl.writeUInt32LE(id, 8 + i * 8)
    })
    const layers: TarEntry[][] = [
      [
        {path: 'acl', type: 'file', mode: 0o640, xattrs: {'system.posix_acl_access': acl}},
        {path: 'acldir/', type: 'dir', mode: 0o750, xattrs: {'system.posix_acl_access': acl}},
      ],
    ]
    const {overlay, merged} = await both(s, layers)
    for (const t of [overlay, merged]) {
      assert.equal(t.get('acl')?.mode, 0o640)
      assert.equal(t.get('acldir')?.mode, 0o750)
    }
  })

  test('GNU long names, and the root entry "./" is ignored', async () => {
    const name = 'gnu/' + 'x'.repeat(200) + '/' + 'y'.repeat(120)
    const tar = writeTar(
      [
        {path: './', type: 'dir', mode: 0o700},
        {path: 'gnu/', type: 'dir'},
        {path: 'gnu/' + 'x'.repeat(200) + '/', type: 'dir'},
        {path: name, type: 'file', content: 'gnu'},
        {path: 'gnu/l', type: 'symlink', linkname: 'z'.repeat(300)},
      ],
      {longNames: 'gnu'},
    )
    const target = s.mkdir('gnu')
    const blob = await s.blob(tar)
    await applyLayerHere({blobPath: blob.path, mediaType: blob.mediaType, target, mode: 'merged'})
    const t = readTree(target)
    assert.equal(t.get(name)?.sha256, sha('gnu'))
    assert.equal(t.get('gnu/l')?.link, 'z'.repeat(300))
    assert.deepEqual(readdirSync(target), ['gnu'])
  })
})
