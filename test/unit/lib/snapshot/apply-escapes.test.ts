// Hostile layers must not create, change or remove anything outside the target. Each vector aims
// at a sentinel directory on the host (never at real system files) by absolute path, by `..`,
// and through symlinks; it is checked on the host (the sentinel's fingerprint, before and after)
// AND on the result (overlay mode: through a read-only overlay mount; merged mode: the tree).
// Needs root (owners, devices, mounts): skipped without it unless CI is set.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {after, before, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {applyMergedStack, applyOverlayStack, overlayTree, scratch, sentinel, type Scratch, type Sentinel} from '../../../helpers/apply-layers.js'
import {readTree, type Tree} from '../../../helpers/fs-tree.js'
import type {TarEntry} from '../../../helpers/tar-writer.js'

const isRoot = process.getuid?.() === 0
const skip = !isRoot && !process.env['CI'] ? 'needs root (owners, devices, mounts)' : false

interface Vector {
  readonly name: string
  /** Layers, bottom first; `S` is the sentinel path without its leading slash. */
  readonly layers: (S: string) => TarEntry[][]
  /** Checks on the resulting tree (per mode when they differ). */
  readonly check: (tree: Tree, S: string, mode: 'overlay' | 'merged') => void
  /** The kind of error applying must fail with instead, if any. */
  readonly fails?: string
}

const content = (tree: Tree, path: string, text: string): void => {
  const e = tree.get(path)
  assert.ok(e, `${path} missing inside the target`)
  assert.equal(e.type, 'file', path)
  assert.equal(e.sha256, sha(text), `${path} content`)
}
const sha = (text: string): string => createHash('sha256').update(text).digest('hex')

const up = '../'.repeat(12)

const VECTORS: Vector[] = [
  {
    name: '../ entries',
    layers: (S) => [
      [
        {path: `${up}${S}/victim`, type: 'file', content: 'pwned'},
        {path: `a/${up}${S}/created`, type: 'file', content: 'new'},
      ],
    ],
    check: (t, S) => {
      content(t, `${S}/victim`, 'pwned')
      content(t, `${S}/created`, 'new')
    },
  },
  {
    name: 'absolute paths',
    layers: (S) => [
      [
        {path: `/${S}/victim`, type: 'file', content: 'pwned'},
        {path: `/${S}/sub/`, type: 'dir', mode: 0o777},
        {path: `/${S}/dev`, type: 'char', devmajor: 1, devminor: 3},
      ],
    ],
    check: (t, S) => {
      content(t, `${S}/victim`, 'pwned')
      assert.equal(t.get(`${S}/sub`)?.mode, 0o777)
      assert.equal(t.get(`${S}/dev`)?.type, 'char')
      assert.equal(t.has(`${S}/sub/keep`), false)
    },
  },
  {
    name: 'a symlink to / followed by entries through it',
    layers: (S) => [
      [
        {path: 'rootlink', type: 'symlink', linkname: '/'},
        {path: `rootlink/${S}/victim`, type: 'file', content: 'pwned'},
        {path: `rootlink/${S}/sub/`, type: 'dir', mode: 0o700},
        {path: `rootlink/${S}/fifo`, type: 'fifo'},
      ],
    ],
    check: (t, S) => {
      assert.equal(t.get('rootlink')?.link, '/')
      content(t, `${S}/victim`, 'pwned')
      assert.equal(t.get(`${S}/sub`)?.mode, 0o700)
      assert.equal(t.get(`${S}/fifo`)?.type, 'fifo')
    },
  },
  {
    name: 'a chain of symlinks that escapes',
    layers: (S) => [
      [
        {path: 'a', type: 'symlink', linkname: 'b'},
        {path: 'b', type: 'symlink', linkname: 'c/../../../../..'},
        {path: 'c', type: 'symlink', linkname: '/d'},
        {path: 'd', type: 'symlink', linkname: `../../../../${S}`},
        {path: `a/${S}/victim`, type: 'file', content: 'via a'},
        {path: 'c/created', type: 'file', content: 'via c'},
      ],
    ],
    check: (t, S) => {
      content(t, `${S}/victim`, 'via a')
      content(t, `${S}/created`, 'via c') // c -> /d -> ../../../../S, all inside
      assert.equal(t.get('d')?.type, 'symlink')
    },
  },
  {
    name: 'an upward symlink ../../.. followed by an entry through it',
    layers: (S) => [
      [
        {path: 'x/y/', type: 'dir'},
        {path: 'x/y/up', type: 'symlink', linkname: '../../../../..'},
        {path: `x/y/up/${S}/victim`, type: 'file', content: 'pwned'},
      ],
    ],
    check: (t, S) => content(t, `${S}/victim`, 'pwned'),
  },
  {
    name: 'symlinks that loop are an error, not a hang',
    layers: () => [
      [
        {path: 'l1', type: 'symlink', linkname: 'l2'},
        {path: 'l2', type: 'symlink', linkname: 'l1'},
        {path: 'l1/x', type: 'file'},
      ],
    ],
    check: () => undefined,
    fails: 'data loss',
  },
  {
    name: 'a hardlink to an absolute path outside resolves inside (and exists there)',
    layers: (S) => [
      [
        {path: `${S}/victim`, type: 'file', content: 'inside'},
        {path: 'hl', type: 'hardlink', linkname: `/${S}/victim`},
        {path: 'hl2', type: 'hardlink', linkname: `${up}${S}/victim`},
      ],
    ],
    check: (t, S) => {
      content(t, 'hl', 'inside')
      content(t, 'hl2', 'inside')
      assert.equal(t.get('hl')?.ino, t.get(`${S}/victim`)?.ino)
    },
  },
  {
    name: 'a hardlink to an absolute path outside that exists only on the host fails',
    layers: (S) => [[{path: 'hl', type: 'hardlink', linkname: `/${S}/victim`}]],
    check: () => undefined,
    fails: 'data loss',
  },
  {
    name: 'a hardlink through a symlink pointing outside',
    layers: (S) => [
      [
        {path: 'out', type: 'symlink', linkname: `/${S}`},
        {path: `${S}/victim`, type: 'file', content: 'inside'},
        {path: 'hl', type: 'hardlink', linkname: 'out/victim'},
      ],
    ],
    check: (t, S) => {
      content(t, 'hl', 'inside')
      assert.equal(t.get('hl')?.ino, t.get(`${S}/victim`)?.ino)
    },
  },
  {
    name: 'a hardlink to a symlink pointing outside links the symlink itself',
    layers: (S) => [
      [
        {path: 'sl', type: 'symlink', linkname: `/${S}/victim`},
        {path: 'hl', type: 'hardlink', linkname: 'sl'},
      ],
    ],
    check: (t, S) => {
      assert.equal(t.get('hl')?.type, 'symlink')
      assert.equal(t.get('hl')?.link, `/${S}/victim`)
    },
  },
  {
    name: 'a whiteout and an opaque marker through a symlink pointing outside',
    layers: (S) => [
      [
        {path: 'out', type: 'symlink', linkname: `/${S}`},
        {path: 'out/.wh.victim', type: 'file'},
        {path: 'out/sub/.wh..wh..opq', type: 'file'},
        {path: 'up/', type: 'dir'},
        {path: `up/${up}${S}/.wh.sub`, type: 'file'},
      ],
    ],
    check: (t, S) => {
      assert.equal(t.get('out')?.type, 'symlink')
      assert.equal(t.has(`${S}/victim`), false) // whited out inside (nothing below it here)
      assert.equal(t.get(`${S}/sub`)?.type, 'dir') // made by this layer (for its opaque marker): a whiteout in the same layer keeps it
      assert.equal(t.has(`${S}/sub/keep`), false)
    },
  },
  {
    name: 'a symlink to outside at the final name is replaced, never written through',
    layers: (S) => [
      [
        {path: 'f', type: 'symlink', linkname: `/${S}/victim`},
        {path: 'f', type: 'file', content: 'replaced', mode: 0o600},
        {path: 'd', type: 'symlink', linkname: `/${S}/sub`},
        {path: 'd/', type: 'dir', mode: 0o777},
        {path: 'n', type: 'symlink', linkname: `/${S}/created`},
        {path: 'n', type: 'fifo'},
      ],
    ],
    check: (t) => {
      content(t, 'f', 'replaced')
      assert.equal(t.get('d')?.type, 'dir')
      assert.equal(t.get('n')?.type, 'fifo')
    },
  },
  {
    name: 'across layers: a lower symlink to outside, then entries through it and over it',
    layers: (S) => [
      [
        {path: 'evil', type: 'symlink', linkname: `/${S}`},
        {path: 'evil2', type: 'symlink', linkname: `/${S}/victim`},
      ],
      [
        {path: 'evil/victim', type: 'file', content: 'pwned'},
        {path: 'evil2', type: 'file', content: 'over'},
        {path: 'evil/.wh.sub', type: 'file'},
      ],
    ],
    check: (t, S, mode) => {
      content(t, 'evil2', 'over')
      if (mode === 'merged')
        content(t, `${S}/victim`, 'pwned') // resolved through the copied symlink, inside
      else content(t, 'evil/victim', 'pwned') // overlay mode sees only its own (empty) upper: a new directory shadows the symlink, as with containerd
    },
  },
]

describe('applying hostile layers changes nothing outside the target', {skip}, () => {
  let s: Scratch
  let sent: Sentinel
  let print: string
  before(() => {
    s = scratch('berth-escape-')
    sent = sentinel()
    print = sent.fingerprint()
  })
  after(() => {
    s?.cleanup()
    sent?.cleanup()
  })

  for (const v of VECTORS) {
    for (const mode of ['overlay', 'merged'] as const) {
      test(`${v.name} (${mode})`, async () => {
        const layers = v.layers(sent.rel)
        try {
          if (mode === 'overlay') {
            const uppers = await applyOverlayStack(s, layers)
            v.check(overlayTree(uppers), sent.rel, mode)
          } else {
            v.check(readTree(await applyMergedStack(s, layers)), sent.rel, mode)
          }
          assert.equal(v.fails, undefined, 'expected the layer to be refused')
        } catch (err) {
          if (v.fails === undefined || errorKind(err) !== v.fails) throw err
        } finally {
          assert.equal(sent.fingerprint(), print, 'the host sentinel changed')
          assert.ok(!existsSync(`${sent.dir}/created`))
        }
      })
    }
  }
})
