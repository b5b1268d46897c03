// Makes directory trees deeper than PATH_MAX (what a hostile layer or container can leave), by
// walking down through /proc/self/fd/<fd>/… so that no path handed to the kernel is too long.
//
// Invariant: the chain is `<root>/<name>/<name>/…` `depth` levels deep; every level holds a file
// `f` (and, every 7th level, a symlink `up` to `/` that a walker must never follow).
import {closeSync, constants, mkdirSync, openSync, symlinkSync, writeFileSync} from 'node:fs'

/** Options of {@link makeDeepTree}. */
export interface DeepTreeOptions {
  /** Name of each directory level (default `a`). */
  readonly name?: string
  /** Bytes of each level's file `f` (default 1). */
  readonly fileBytes?: number
}

/** Creates `depth` nested directories under `root` (made if missing). @returns the total path length in bytes of the deepest directory. */
export function makeDeepTree(root: string, depth: number, options: DeepTreeOptions = {}): number {
  const name = options.name ?? 'a'
  const data = Buffer.alloc(options.fileBytes ?? 1, 0x78)
  mkdirSync(root, {recursive: true})
  let fd = openSync(root, constants.O_RDONLY | constants.O_DIRECTORY)
  let rel = ''
  try {
    for (let i = 0; i < depth; i++) {
      rel = rel === '' ? name : `${rel}/${name}`
      const here = `/proc/self/fd/${fd}/${rel}`
      mkdirSync(here)
      writeFileSync(`${here}/f`, data)
      if (i % 7 === 0) symlinkSync('/', `${here}/up`)
      if (rel.length > 1500) {
        const next = openSync(here, constants.O_RDONLY | constants.O_DIRECTORY)
        closeSync(fd)
        fd = next
        rel = ''
      }
    }
  } finally {
    closeSync(fd)
  }
  return Buffer.byteLength(root) + depth * (Buffer.byteLength(name) + 1)
}
