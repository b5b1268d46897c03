// Can this host use a snapshotter here? The overlayfs check is containerd's
// (overlayutils.Supported): the snapshotter's directory must keep file types in directory entries
// (d_type), and an overlay with two lower directories must really mount there. Nothing of the
// check stays behind; it runs under the shared `snapshot-create` lock, so GC (which removes
// directories no record names) leaves its scratch directory alone meanwhile.
import {accessSync, constants as fsConstants, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {acquireLock} from '../store/index.js'
import * as sys from '../sys/index.js'
import {Snapshotter, type SnapshotterName} from './snapshotter.js'

/** Why a snapshotter cannot work under `root`, or undefined when it can. Never throws. */
export async function snapshotterProblem(root: string, name: SnapshotterName): Promise<string | undefined> {
  const dir = new Snapshotter(root, name).dir
  const writable = writableProblem(dir)
  if (writable !== undefined || name !== 'overlayfs') return writable
  let lock: {release(): void} | undefined
  try {
    lock = await acquireLock(root, 'snapshot-create', {shared: true})
    return overlayProblem(dir)
  } catch (err) {
    return (err as Error).message
  } finally {
    lock?.release()
  }
}

/** `dir` is (or can be made as) a writable directory. */
function writableProblem(dir: string): string | undefined {
  let existing = dir
  for (;;) {
    try {
      if (!statSync(existing).isDirectory()) return `${existing} is not a directory`
      accessSync(existing, fsConstants.W_OK | fsConstants.X_OK)
      return undefined
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' || dirname(existing) === existing) return `${existing}: ${(err as Error).message}`
      existing = dirname(existing)
    }
  }
}

function overlayProblem(dir: string): string | undefined {
  mkdirSync(dir, {recursive: true, mode: 0o700})
  // The name is no snapshot id (those are 12 base32 characters), so nothing mistakes it for one.
  const scratch = mkdtempSync(join(dir, 'overlay-check-'))
  try {
    writeFileSync(join(scratch, 'file'), '')
    const entry = readdirSync(scratch, {withFileTypes: true}).find((e) => e.name === 'file')
    if (!entry?.isFile()) return `${dir} does not support d_type (xfs needs ftype=1)`
    for (const d of ['lower1', 'lower2', 'upper', 'work', 'merged']) mkdirSync(join(scratch, d))
    const merged = join(scratch, 'merged')
    try {
      sys.mount('overlay', merged, 'overlay', 0, `lowerdir=${join(scratch, 'lower2')}:${join(scratch, 'lower1')},upperdir=${join(scratch, 'upper')},workdir=${join(scratch, 'work')}`)
    } catch (err) {
      return `failed to mount overlay: ${(err as Error).message}`
    }
    try {
      sys.umount(merged, sys.MNT_DETACH)
    } catch {
      // mounted in a moment ago; a lazy unmount of our own mount does not fail
    }
    return undefined
  } finally {
    rmSync(scratch, {recursive: true, force: true})
  }
}
