// Regression for issue 11 item 5, "images built by umoci cannot be pulled": umoci's layers end
// right after their last member's data, without its padding and without the two zero blocks that
// close a tar archive (Go's tar.Writer, never closed), and `ctr images pull` failed with
// `ctr: tar archive truncated at byte … unexpected end of data`. Go's archive/tar, so containerd,
// reads them.
//
// One source tree (files of 0, 512, 513 and 100 000 bytes, a hardlink, symlinks, long and UTF-8
// names, setuid/setgid/sticky modes, owners, whole-second mtimes) is archived by GNU tar (gnu and
// posix formats), bsdtar, Python's tarfile, node-tar and Go (`umoci insert`). Every archive, as
// written, with its end-of-archive blocks cut off, and also cut right after its last data (as
// umoci's), gzip-, zstd- and un-compressed, must apply to exactly the source tree; the umoci image also goes through skopeo, the registry and `ctr images
// pull`. Needs root (owners) and the tools: skipped without them unless CI is set.
import assert from 'node:assert/strict'
import {chownSync, linkSync, lutimesSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, chmodSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import {after, before, describe, test} from 'node:test'
import {applyLayer} from '../../src/lib/snapshot/apply/index.js'
import {scratch, type Scratch} from '../helpers/apply-layers.js'
import {type Sandbox, sandbox} from '../helpers/cli.js'
import {diffTrees, hardlinkGroups, readTree, type Tree} from '../helpers/fs-tree.js'
import {buildImage} from '../helpers/oci-image.js'
import {pushImage, type RunningRegistry, startRegistry} from '../helpers/registry.js'
import {missingTools, runToolOk} from '../helpers/run-tool.js'

const isRoot = process.getuid?.() === 0
const skip = process.env['CI']
  ? false
  : !isRoot
    ? 'needs root (owners)'
    : missingTools({'/usr/bin/bsdtar': 'libarchive-tools', '/usr/bin/umoci': 'umoci', '/usr/bin/skopeo': 'skopeo', '/usr/bin/zstd': 'zstd'})

const BLOCK = 512
const T0 = 1_700_000_000 // whole seconds: GNU's and Go's default formats keep no fraction

/** Writes the source tree every producer archives. No file ends in a zero block (see {@link withoutTrailer}). */
function makeSource(root: string): void {
  const file = (rel: string, data: Buffer | string, mode = 0o644) => {
    writeFileSync(join(root, rel), data)
    chmodSync(join(root, rel), mode)
  }
  for (const d of ['etc', 'bin', 'data', 'sticky', 'sgid', 'ünïcödé', 'deep/x']) mkdirSync(join(root, d), {recursive: true})
  file('etc/conf', 'conf=1\n')
  file('bin/tool', Buffer.alloc(513, 0x42), 0o755)
  file('bin/su-ish', '#!/bin/sh\n', 0o4755)
  file('data/empty', '')
  file('data/block', Buffer.alloc(BLOCK, 0x43))
  const big = Buffer.alloc(100_000)
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919 + 13) % 251 || 1
  file('data/big', big)
  linkSync(join(root, 'data/block'), join(root, 'data/hard'))
  file(`deep/x/${'n'.repeat(120)}`, 'a name longer than 100 bytes\n')
  file('ünïcödé/fïlé', 'utf-8 names\n')
  file('owned', 'by 1000:2000\n', 0o640)
  chownSync(join(root, 'owned'), 1000, 2000)
  chmodSync(join(root, 'sticky'), 0o1777)
  chmodSync(join(root, 'sgid'), 0o2775)
  symlinkSync('etc/conf', join(root, 'link'))
  symlinkSync(`../${'t'.repeat(150)}/target`, join(root, 'deep/longlink'))
  // Times last, deepest first, symlinks themselves included.
  const all = readTree(root)
  for (const rel of [...all.keys()].sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1))) {
    const t = T0 + (rel.length % 97) * 3600
    if (all.get(rel)!.type === 'symlink') lutimesSync(join(root, rel), t, t)
    else utimesSync(join(root, rel), t, t)
  }
}

/** The archive without its end-of-archive zero blocks (and record padding): what umoci writes. */
function withoutTrailer(tar: Buffer): Buffer {
  if (tar.length % BLOCK !== 0) return tar // ends inside a block: no trailer to cut (umoci's)
  let end = tar.length
  while (end >= BLOCK && tar.subarray(end - BLOCK, end).every((b) => b === 0)) end -= BLOCK
  return tar.subarray(0, end)
}

/**
 * The archive cut right after its last member's data: no padding, no end-of-archive blocks, as
 * umoci writes it. Walks the headers by their octal size fields (enough for these fixtures).
 */
function withoutTrailerOrPadding(tar: Buffer): Buffer {
  let off = 0
  let end = 0
  while (off + BLOCK <= tar.length && !tar.subarray(off, off + BLOCK).every((b) => b === 0)) {
    const size = Number.parseInt(tar.toString('latin1', off + 124, off + 136).replace(/[\0 ]+$/, '') || '0', 8)
    end = off + BLOCK + size
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK
  }
  return tar.subarray(0, end)
}

const endsWithZeroBlock = (tar: Buffer): boolean => tar.length >= BLOCK && tar.subarray(tar.length - BLOCK).every((b) => b === 0)

interface Producer {
  readonly name: string
  /** Archives `src` (its contents, as `.`) into the file `out`. */
  readonly write: (src: string, out: string, work: string) => Promise<void>
}

const PYTHON = `
import sys, tarfile
with tarfile.open(sys.argv[2], 'w', format=tarfile.PAX_FORMAT) as t:
    t.add(sys.argv[1], arcname='.')
`

/** The umoci image's only layer, uncompressed: `umoci new` makes none, `umoci insert` one. */
async function umociInsert(src: string, layout: string): Promise<Buffer> {
  await runToolOk('umoci', ['init', '--layout', layout])
  await runToolOk('umoci', ['new', '--image', `${layout}:t`])
  await runToolOk('umoci', ['insert', '--image', `${layout}:t`, src, '/'])
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {manifests: {digest: string}[]}
  const blob = (digest: string) => readFileSync(join(layout, 'blobs', 'sha256', digest.slice('sha256:'.length)))
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString()) as {layers: {digest: string}[]}
  assert.equal(manifest.layers.length, 1)
  return gunzipSync(blob(manifest.layers[0].digest))
}

const PRODUCERS: Producer[] = [
  // Sorted by name, GNU tar's archives end with a file that has data (ü sorts last): the cut
  // after its data then differs from the cut at the block boundary.
  {
    name: 'GNU tar, gnu format',
    write: (src, out) => runToolOk('tar', ['--numeric-owner', '--sort=name', '--format=gnu', '-C', src, '-cf', out, '.']).then(() => undefined),
  },
  {
    name: 'GNU tar, posix format',
    write: (src, out) =>
      runToolOk('tar', ['--numeric-owner', '--sort=name', '--format=posix', '--pax-option=delete=atime,delete=ctime', '-C', src, '-cf', out, '.']).then(
        () => undefined,
      ),
  },
  {name: 'bsdtar', write: (src, out) => runToolOk('bsdtar', ['--numeric-owner', '-C', src, '-cf', out, '.']).then(() => undefined)},
  {name: 'Python tarfile', write: (src, out) => runToolOk('python3', ['-c', PYTHON, src, out]).then(() => undefined)},
  {
    name: 'node-tar',
    write: async (src, out) => {
      const tar = await import('tar')
      tar.c({cwd: src, file: out, sync: true}, ['.'])
    },
  },
  {name: 'Go (umoci insert)', write: async (src, out, work) => writeFileSync(out, await umociInsert(src, join(work, 'umoci-layout')))},
]

describe('regression: layers without end-of-archive blocks (umoci) could not be pulled', {skip}, () => {
  let s: Scratch
  let src: string
  let source: Tree
  const tars = new Map<string, Buffer>()
  before(async () => {
    s = scratch('berth-trailer-')
    src = s.mkdir('src')
    makeSource(src)
    source = readTree(src)
    for (const p of PRODUCERS) {
      const work = s.mkdir('work')
      const out = join(work, 'layer.tar')
      await p.write(src, out, work)
      tars.set(p.name, readFileSync(out))
    }
  })
  after(() => s?.cleanup())

  test('the producers: umoci ends right after its last data, the others close the archive', () => {
    for (const [name, tar] of tars) {
      const umoci = name === 'Go (umoci insert)'
      assert.equal(endsWithZeroBlock(tar), !umoci, name)
      assert.equal(tar.length % BLOCK !== 0, umoci, `${name}: ${tar.length} bytes`)
      assert.equal(withoutTrailerOrPadding(tar).length, umoci ? tar.length : withoutTrailerOrPadding(tar).length)
    }
    assert.ok(withoutTrailerOrPadding(tars.get('GNU tar, gnu format')!).length % BLOCK !== 0, 'GNU tar ends with data')
    assert.ok(source.size >= 18, `${source.size} entries in the source tree`)
  })

  const CUTS = {
    'as written': (tar: Buffer) => tar,
    'without end-of-archive blocks': withoutTrailer,
    'cut after its last data (as umoci)': withoutTrailerOrPadding,
  }
  for (const p of PRODUCERS) {
    for (const [cutName, cut] of Object.entries(CUTS)) {
      test(`${p.name}, ${cutName}: gzip, zstd and plain layers apply to the source tree`, async () => {
        const tar = cut(tars.get(p.name)!)
        if (cutName !== 'as written') assert.equal(endsWithZeroBlock(tar), false)
        for (const compression of ['gzip', 'zstd', 'none'] as const) {
          const blob = await s.blob(tar, compression)
          const target = s.mkdir('target')
          const result = await applyLayer({blobPath: blob.path, mediaType: blob.mediaType, target, mode: 'overlay'})
          assert.equal(result.diffId, blob.diffId, `${compression}: the diff ID covers every byte`)
          const tree = readTree(target)
          assert.deepEqual(diffTrees(source, tree), [], `${p.name} ${cutName} ${compression}`)
          assert.deepEqual(hardlinkGroups(tree), ['data/block = data/hard'], `${compression}: hardlink kept`)
        }
      })
    }
  }

  describe('through skopeo, the registry and ctr images pull', () => {
    let reg: RunningRegistry
    let sb: Sandbox
    before(async () => {
      reg = await startRegistry()
      sb = sandbox()
    })
    after(async () => {
      await reg?.stop()
      sb?.cleanup()
    })
    const committedTree = (): Tree => {
      const dirs = readdirSync(join(sb.root, 'snapshots', 'overlayfs'))
      assert.equal(dirs.length, 1, dirs.join(' '))
      return readTree(join(sb.root, 'snapshots', 'overlayfs', dirs[0], 'fs'))
    }

    test('an image made by umoci insert pulls and unpacks to the source tree', async () => {
      const layout = join(s.mkdir('umoci-pull'), 'layout')
      const layer = await umociInsert(src, layout)
      assert.equal(endsWithZeroBlock(layer), false, 'umoci wrote no end-of-archive blocks')
      await runToolOk('skopeo', ['copy', '--preserve-digests', '--dest-tls-verify=false', `oci:${layout}:t`, `docker://${reg.host}/umoci/insert:1`], {
        timeoutMs: 120_000,
      })
      const r = sb.run(['images', 'pull', `${reg.host}/umoci/insert:1`])
      assert.equal(r.code, 0, r.stderr)
      assert.doesNotMatch(r.stderr, /truncated/)
      assert.deepEqual(diffTrees(source, committedTree()), [])
      sb.ok(['images', 'rm', `${reg.host}/umoci/insert:1`])
    })

    test('no-trailer layers from GNU tar (zstd) and bsdtar (gzip) pull as one image', async () => {
      const image = await buildImage({
        layers: [withoutTrailerOrPadding(tars.get('GNU tar, posix format')!), withoutTrailer(tars.get('bsdtar')!)],
        compression: ['zstd', 'gzip'],
      })
      await pushImage(reg, 'notrailer/mixed:1', image)
      const r = sb.run(['images', 'pull', `${reg.host}/notrailer/mixed:1`])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(readdirSync(join(sb.root, 'snapshots', 'overlayfs')).length, 2)
    })

    test('a layer cut inside a member still fails the pull with DataLoss', async () => {
      const tar = withoutTrailer(tars.get('bsdtar')!)
      const image = await buildImage({layers: [tar.subarray(0, tar.length - 100)]})
      await pushImage(reg, 'notrailer/cut:1', image)
      const r = sb.run(['images', 'pull', `${reg.host}/notrailer/cut:1`])
      assert.equal(r.code, 8, r.stderr)
      assert.match(r.stderr, /^ctr: .*tar archive truncated at byte \d+ in .*: unexpected end of data\n$/m)
    })
  })
})
