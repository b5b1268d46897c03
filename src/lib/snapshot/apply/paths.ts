// Lexical path cleaning for layer entries, the way containerd does it (filepath.Clean of the
// name joined onto "/"): `..` stops at the root and absolute names become root-relative.
//
// Invariant: the result never starts or ends with '/', never contains '', '.' or '..'
// components, and '' means the root itself. Symlinks are resolved later, inside the target.

const NEEDS_CLEANING = /(?:^|\/)\.{1,2}(?:\/|$)|\/\/|^\/|\/$/

/** @returns `path` cleaned as if joined onto '/' and made relative again ('' for the root). */
export function cleanPath(path: string): string {
  if (!NEEDS_CLEANING.test(path)) return path
  const parts: string[] = []
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue
    if (segment === '..') parts.pop()
    else parts.push(segment)
  }
  return parts.join('/')
}

/** @returns the components of a cleaned path ([] for the root). */
export function components(clean: string): string[] {
  return clean === '' ? [] : clean.split('/')
}

/** @returns `parent/name`, or `name` when parent is the root (''). */
export function joinRel(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`
}

/** @returns the parent of a cleaned relative path ('' for top-level names and the root). */
export function parentRel(rel: string): string {
  const slash = rel.lastIndexOf('/')
  return slash < 0 ? '' : rel.slice(0, slash)
}

/** @returns the number of components of a cleaned path (the root has 0). */
export function depth(rel: string): number {
  if (rel === '') return 0
  let n = 1
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) n++
  return n
}
