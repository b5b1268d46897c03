// Can this host use a snapshotter here? The checks the snapshotters' `problem()` runs. The
// overlayfs one is containerd's (overlayutils.Supported): the snapshotter's directory must keep
// file types in directory entries (d_type), and an overlay with two lower directories must really
// mount there. Nothing of the check stays behind; it runs under the shared `snapshot-create` lock,
// so GC (which removes directories no record names) leaves its scratch directory alone meanwhile.
import {accessSync, constants as fsConstants, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {acquireLock} from '../store/index.js'
import * as sys from '../sys/index.js'

/** Why `dir` is not (and cannot be made as) a writable directory, or undefined. Never throws. */
export function writableProblem(dir: string): string | undefined {
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

/** Why an overlay cannot be mounted in `dir` (of the store at `root`), or undefined. Never throws. */
export async function overlayProblem(root: string, dir: string): Promise<string | undefined> {
  let lock: {release(): void} | undefined
  try {
    lock = await acquireLock(root, 'snapshot-create', {shared: true})
    return overlayMountProblem(dir)
  } catch (err) {
    return (err as Error).message
  } finally {
    lock?.release()
  }
}

function overlayMountProblem(dir: string): string | undefined {
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
      sys.mount(
        'overlay',
        merged,
        'overlay',
        0,
        `lowerdir=${join(scratch, 'lower2')}:${join(scratch, 'lower1')},upperdir=${join(scratch, 'upper')},workdir=${join(scratch, 'work')}`,
      )
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
