// No import circles in src/lib (docs/design.md §1): the module graph as it runs, read from the
// TypeScript sources (static imports, re-exports and dynamic imports; `import type` and
// `export type` are left out, as the compiler erases them), searched depth-first for back edges.
// Each circle found is reported once, starting at its smallest module.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync, statSync, existsSync} from 'node:fs'
import {dirname, join, relative} from 'node:path'
import {test} from 'node:test'
import {REPO_ROOT} from '../helpers/cli.js'

/**
 * Circles known and owned by work in progress, each `a.ts -> b.ts -> a.ts` as reported below.
 * Remove an entry when its circle is opened; an entry that no longer matches fails the test.
 */
const KNOWN: readonly string[] = []

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : []
  })
}

const SPECIFIERS = /(?:^|\n)\s*(?:import|export)(?!\s+type\b)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g

/** The source files `file` imports, relative ones only (resolved `.js` to `.ts`, folders to index.ts). */
function importsOf(file: string): string[] {
  const out: string[] = []
  for (const m of readFileSync(file, 'utf8').matchAll(SPECIFIERS)) {
    const spec = m[1] ?? m[2]
    if (!spec.startsWith('.')) continue
    const base = join(dirname(file), spec)
    const candidates = [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]
    const found = candidates.find((c) => existsSync(c) && statSync(c).isFile())
    if (found) out.push(found)
  }
  return out
}

/** Every elementary circle met by a depth-first search, as `a -> b -> ... -> a`, deduplicated by rotation. */
function findCycles(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const found = new Set<string>()
  const visit = (node: string): void => {
    state.set(node, 'open')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next)
      if (s === 'open') {
        const cycle = stack.slice(stack.indexOf(next))
        // Start the circle at its smallest name, so that each is reported once whatever the entry point.
        const start = cycle.indexOf([...cycle].sort()[0])
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)]
        found.add([...rotated, rotated[0]].join(' -> '))
      } else if (s === undefined) visit(next)
    }
    stack.pop()
    state.set(node, 'done')
  }
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node)
  return [...found].sort()
}

test('findCycles finds a circle once, from its smallest member, and none in a tree', () => {
  const g = new Map([
    ['b', ['c']],
    ['c', ['a']],
    ['a', ['b', 'd']],
    ['d', []],
  ])
  assert.deepEqual(findCycles(g), ['a -> b -> c -> a'])
  assert.deepEqual(
    findCycles(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    [],
  )
})

test('src/lib has no import circles (but the known ones listed above)', () => {
  const lib = join(REPO_ROOT, 'src', 'lib')
  const graph = new Map<string, string[]>()
  for (const file of sources(lib))
    graph.set(
      relative(lib, file),
      importsOf(file).map((f) => relative(lib, f)),
    )
  const cycles = findCycles(graph)
  assert.deepEqual(
    cycles.filter((c) => !KNOWN.includes(c)),
    [],
    'import circles in src/lib',
  )
  assert.deepEqual(
    KNOWN.filter((c) => !cycles.includes(c)),
    [],
    'listed as known but gone: remove them from KNOWN',
  )
})
