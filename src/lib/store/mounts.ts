// The mount table, as far as the store needs it: which mounts use a snapshot directory, and
// detaching the leftovers of processes that died holding them.
import {readFileSync} from 'node:fs'
import * as sys from '../sys/index.js'

/** One line of /proc/self/mountinfo that matters to us. */
export interface MountInfo {
  /** The mounted path inside its file system (a bind mount's source directory). */
  root: string
  target: string
  type: string
  source: string
  /** Per-superblock options, e.g. overlay's `lowerdir=…,upperdir=…` as they were given. */
  superOptions: string
}

/** The current mount table, in mount order. */
export function readMountTable(): MountInfo[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8')
  const out: MountInfo[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    const fields = line.split(' ')
    const sep = fields.indexOf('-')
    if (sep < 0 || fields.length < sep + 4) continue
    out.push({
      root: unescapeMountPath(fields[3]),
      target: unescapeMountPath(fields[4]),
      type: fields[sep + 1],
      source: unescapeMountPath(fields[sep + 2]),
      superOptions: fields[sep + 3],
    })
  }
  return out
}

/** Mountinfo escapes space, tab, newline and backslash as `\ooo`. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}

/**
 * Mounts that use snapshot directory `id` of the snapshotter rooted at `snapshotterDir`: overlays
 * naming it (absolute, or relative as Berth mounts them) and bind mounts of it.
 */
export function mountsUsing(mounts: readonly MountInfo[], snapshotterDir: string, id: string): MountInfo[] {
  const abs = `${snapshotterDir}/${id}/`
  const rel = new RegExp(`(^|[=:,])${id}/(fs|work)(?=$|[:,])`)
  return mounts.filter((m) => (m.type === 'overlay' ? m.superOptions.includes(abs) || rel.test(m.superOptions) : m.root.startsWith(abs)))
}

/** Lazily detach `target`; not mounted is not an error. */
export function unmountDetached(target: string): void {
  try {
    sys.umount(target, sys.MNT_DETACH)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EINVAL' && code !== 'ENOENT') throw err
  }
}
