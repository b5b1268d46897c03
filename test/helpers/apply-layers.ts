// Builds layer blobs from entry lists and applies stacks of them with applyLayer, in overlay mode
// (one upper dir per layer, inspected through a read-only overlay mount) or in merged mode (each
// layer on a full copy of its parent, made with `cp -a`). Also a host "sentinel" directory that
// hostile layers aim at, with a fingerprint to prove it was left alone.
import {createHash} from 'node:crypto'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {applyLayer, type ApplyLayerOptions, type ApplyLayerResult} from '../../src/lib/snapshot/apply/index.js'
import {removeTree} from '../../src/lib/sys/tree.js'
import {compress, MEDIA_TYPES, type Compression} from './oci-image.js'
import {mountOverlay, readEntry, readTree, type OverlayMount, type Tree} from './fs-tree.js'
import {runToolOk} from './run-tool.js'
import {writeTar, type TarEntry} from './tar-writer.js'

/** A layer blob on disk. */
export interface LayerBlob {
  readonly path: string
  readonly mediaType: string
  /** sha256 of the uncompressed tar. */
  readonly diffId: string
  readonly tar: Buffer
}

/** A scratch directory for one test file; `cleanup()` in an `after` hook. */
export interface Scratch {
  readonly dir: string
  /** A new empty directory below the scratch dir. */
  mkdir(prefix?: string): string
  /** Writes a layer blob from entries (or a ready tar). */
  blob(layer: TarEntry[] | Buffer, compression?: Compression): Promise<LayerBlob>
  cleanup(): void
}

export function scratch(prefix = 'berth-apply-'): Scratch {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  let n = 0
  return {
    dir,
    mkdir(p = 'd') {
      const d = join(dir, `${p}-${n++}`)
      mkdirSync(d)
      return d
    },
    async blob(layer, compression = 'gzip') {
      const tar = Buffer.isBuffer(layer) ? layer : writeTar(layer)
      const path = join(dir, `blob-${n++}`)
      writeFileSync(path, await compress(tar, compression))
      return {path, mediaType: MEDIA_TYPES.oci.layer[compression], diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}`, tar}
    },
    cleanup() {
      removeTree(dir) // a test may leave a tree deeper than rmSync can take
    },
  }
}

/** Extra options for every applyLayer call of a stack. */
export type StackOptions = Partial<Pick<ApplyLayerOptions, 'onWarning'>> & {apply?: (o: ApplyLayerOptions) => Promise<ApplyLayerResult>}

/** Applies `layers` (bottom first) in overlay mode. @returns the upper dirs, bottom first. */
export async function applyOverlayStack(s: Scratch, layers: (TarEntry[] | LayerBlob)[], options: StackOptions = {}): Promise<string[]> {
  const dirs: string[] = []
  for (const layer of layers) {
    const blob = 'path' in layer ? layer : await s.blob(layer)
    const target = s.mkdir('upper')
    const lowers = [...dirs].reverse()
    await (options.apply ?? applyLayer)({
      blobPath: blob.path,
      mediaType: blob.mediaType,
      target,
      mode: 'overlay',
      lowers: async () => lowers,
      ...(options.onWarning ? {onWarning: options.onWarning} : {}),
    })
    dirs.push(target)
  }
  return dirs
}

/** Applies `layers` (bottom first) in merged mode, each on a `cp -a` copy of the previous tree. @returns the final tree's dir. */
export async function applyMergedStack(s: Scratch, layers: (TarEntry[] | LayerBlob)[], options: StackOptions = {}): Promise<string> {
  let previous: string | undefined
  for (const layer of layers) {
    const blob = 'path' in layer ? layer : await s.blob(layer)
    const target = s.mkdir('merged')
    if (previous !== undefined) await runToolOk('cp', ['-a', `${previous}/.`, `${target}/`])
    await (options.apply ?? applyLayer)({
      blobPath: blob.path,
      mediaType: blob.mediaType,
      target,
      mode: 'merged',
      ...(options.onWarning ? {onWarning: options.onWarning} : {}),
    })
    previous = target
  }
  return previous!
}

/** Mounts overlay-mode uppers (bottom first, as applyOverlayStack returns them), reads the tree, unmounts. */
export function overlayTree(uppers: readonly string[]): Tree {
  const m = mountOverlay([...uppers].reverse())
  try {
    return readTree(m.path)
  } finally {
    m.close()
  }
}

/** Mounts overlay-mode uppers and runs `fn` on the mount, unmounting afterwards. */
export async function withOverlay<T>(uppers: readonly string[], fn: (mount: OverlayMount) => T | Promise<T>): Promise<T> {
  const m = mountOverlay([...uppers].reverse())
  try {
    return await fn(m)
  } finally {
    m.close()
  }
}

/** A directory on the host that hostile layers aim at: `victim` (a file), `sub/keep`, and a fingerprint. */
export interface Sentinel {
  /** Absolute path, e.g. /tmp/berth-sentinel-XXXX. */
  readonly dir: string
  /** The same without the leading slash, for building hostile relative names. */
  readonly rel: string
  /** Everything about the directory, its parent's view of it, and its contents. */
  fingerprint(): string
  cleanup(): void
}

export function sentinel(): Sentinel {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sentinel-'))
  writeFileSync(join(dir, 'victim'), 'original\n')
  mkdirSync(join(dir, 'sub'))
  writeFileSync(join(dir, 'sub', 'keep'), 'keep\n')
  const all = () => true
  return {
    dir,
    rel: dir.slice(1),
    fingerprint() {
      const self = readEntry(dir, all)
      const tree = [...readTree(dir, all)].map(([p, e]) => [p, {...e, mtimeNs: String(e.mtimeNs), ino: String(e.ino)}])
      return JSON.stringify({self: {...self, mtimeNs: String(self.mtimeNs), ino: String(self.ino)}, tree})
    },
    cleanup() {
      rmSync(dir, {recursive: true, force: true})
    },
  }
}
