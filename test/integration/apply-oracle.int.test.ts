// Oracle: Debian's umoci unpacks the same OCI layout that applyLayer extracts, and the two trees
// must agree entry by entry — type, mode, owner, size, content hash, symlink target, device
// numbers, xattrs (user.*, security.capability), mtimes to the nanosecond, hardlinks — with the
// whiteouts applied in both. In overlay mode the layers are compared through a read-only overlay
// mount; in merged mode the final tree is compared directly. Needs root (umoci as root, mounts):
// skipped without it (or without umoci) unless CI is set.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {applyMergedStack, applyOverlayStack, overlayTree, scratch, type LayerBlob, type Scratch} from '../helpers/apply-layers.js'
import {diffTrees, hardlinkGroups, readTree, type Tree} from '../helpers/fs-tree.js'
import {featureLayers} from '../helpers/layer-fixtures.js'
import {buildImage, generatedLayers, writeOciLayout, type BuiltImage} from '../helpers/oci-image.js'
import {missingTools, runToolOk} from '../helpers/run-tool.js'
import type {TarEntry} from '../helpers/tar-writer.js'

const isRoot = process.getuid?.() === 0
const skip = process.env['CI'] ? false : !isRoot ? 'needs root (umoci unpack as root, mounts)' : missingTools({'/usr/bin/umoci': 'umoci'})

interface Case {
  readonly name: string
  readonly layers: () => TarEntry[][]
  /** Hardlink groups that legitimately differ in overlay mode (copy-up of a lower file). */
  readonly overlayLinks?: string[]
}

const CASES: Case[] = [
  {name: 'feature layers', layers: featureLayers, overlayLinks: ['usr/bin/tool = usr/bin/tool-link2']},
  {
    name: 'generated bulk layers with whiteouts on top',
    layers: () => {
      const [a, b] = generatedLayers({count: 2, bytesPerLayer: 3_000_000, seed: 'oracle'})
      const gone = a
        .filter((e) => e.type === 'file')
        .slice(0, 3)
        .map((e): TarEntry => ({path: e.path.replace(/[^/]+$/, (n) => `.wh.${n}`), type: 'file'}))
      return [a, b, [...gone, {path: 'data/layer-1/.wh..wh..opq', type: 'file'}, {path: 'data/layer-1/after-opaque', type: 'file', content: 'x'}]]
    },
  },
]

describe('applyLayer agrees with umoci unpack', {skip}, () => {
  let s: Scratch
  before(() => {
    s = scratch('berth-oracle-')
  })
  after(() => s?.cleanup())

  for (const c of CASES) {
    describe(c.name, () => {
      let image: BuiltImage
      let blobs: LayerBlob[]
      let oracle: Tree
      before(async () => {
        image = await buildImage({layers: c.layers(), compression: 'gzip', mediaTypes: 'oci'})
        const layout = join(s.dir, `layout-${c.name.replace(/\W+/g, '-')}`)
        await writeOciLayout(layout, {image, refName: 'oracle'})
        const bundle = `${layout}-bundle`
        await runToolOk('umoci', ['unpack', '--image', `${layout}:oracle`, bundle], {timeoutMs: 120_000})
        oracle = readTree(join(bundle, 'rootfs'))
        blobs = image.layers.map((l) => ({
          path: join(layout, 'blobs', 'sha256', l.digest.slice('sha256:'.length)),
          mediaType: l.mediaType,
          diffId: l.diffId,
          tar: Buffer.alloc(0),
        }))
      })

      test('overlay mode, through an overlay mount', async () => {
        const tree = overlayTree(await applyOverlayStack(s, blobs))
        assert.deepEqual(diffTrees(oracle, tree), [])
        assert.deepEqual(hardlinkGroups(tree), c.overlayLinks ?? hardlinkGroups(oracle))
        assertWhiteoutsApplied(oracle, tree)
      })

      test('merged mode', async () => {
        const tree = readTree(await applyMergedStack(s, blobs))
        assert.deepEqual(diffTrees(oracle, tree), [])
        assert.deepEqual(hardlinkGroups(tree), hardlinkGroups(oracle))
        assertWhiteoutsApplied(oracle, tree)
      })
    })
  }
})

/** The comparison already covers it; this says it plainly: no whiteout survives and what they hid is gone in both. */
function assertWhiteoutsApplied(oracle: Tree, tree: Tree): void {
  for (const t of [oracle, tree]) {
    for (const [path, e] of t) {
      assert.ok(!/(^|\/)\.wh\./.test(path), `whiteout file ${path} left behind`)
      assert.ok(!(e.type === 'char' && String(e.rdev) === '0,0'), `whiteout device ${path} visible`)
    }
  }
}
