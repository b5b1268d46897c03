// Regression (issue 13, "no circles"): content.ts and ingest.ts imported each other. The shared
// lower half now lives in content-records.ts; this finds every import circle through either file
// in the TypeScript sources of src/lib/store (type-only imports count: they are circles to a reader).
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import {REPO_ROOT} from '../../../helpers/cli.js'

const DIR = join(REPO_ROOT, 'src', 'lib', 'store')

/** Store-local imports of each file: `./x.js` -> `x.ts`. */
function graph(): Map<string, string[]> {
  const edges = new Map<string, string[]>()
  for (const name of readdirSync(DIR).filter((n) => n.endsWith('.ts'))) {
    const text = readFileSync(join(DIR, name), 'utf8')
    const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"](\.\/[^'"]+)['"]|import\(\s*['"](\.\/[^'"]+)['"]\s*\)/g)].map(
      (m) => m[1] ?? m[2],
    )
    edges.set(name, [...new Set(specs.map((s) => s.slice(2).replace(/\.js$/, '.ts')))])
  }
  return edges
}

/** A path back to `start` through the graph, or undefined. */
function circleThrough(edges: Map<string, string[]>, start: string): string[] | undefined {
  const seen = new Set<string>()
  const walk = (node: string, path: string[]): string[] | undefined => {
    for (const next of edges.get(node) ?? []) {
      if (next === start) return [...path, next]
      if (seen.has(next)) continue
      seen.add(next)
      const found = walk(next, [...path, next])
      if (found) return found
    }
    return undefined
  }
  return walk(start, [start])
}

test('content.ts and ingest.ts are on no import circle', () => {
  const edges = graph()
  for (const file of ['content.ts', 'ingest.ts', 'content-records.ts']) {
    assert.equal(circleThrough(edges, file)?.join(' -> '), undefined)
  }
})
