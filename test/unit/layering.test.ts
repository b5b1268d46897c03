// Imports point down (STYLE §2): lib never reaches the CLI layer, and each lib folder imports
// only the folders below it. Read from the TypeScript sources.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {test} from 'node:test'
import {REPO_ROOT} from '../helpers/cli.js'

const ALLOWED: Record<string, string[]> = {
  errors: [],
  concurrency: [],
  sys: ['errors'],
  config: ['errors'],
  oci: ['errors'],
  filters: ['errors'],
  tar: ['errors'],
  events: ['errors', 'filters'],
  store: ['errors', 'oci', 'filters', 'config', 'sys', 'events'],
  registry: ['errors', 'oci'],
  snapshot: ['errors', 'oci', 'config', 'store', 'events', 'sys', 'concurrency', 'tar'],
  images: ['errors', 'oci', 'filters', 'config', 'store', 'events', 'sys', 'concurrency', 'tar', 'registry', 'snapshot'],
  pull: ['errors', 'oci', 'filters', 'config', 'store', 'events', 'images', 'snapshot', 'sys', 'concurrency', 'registry'],
  push: ['errors', 'oci', 'store', 'images', 'concurrency', 'registry'],
  archive: ['errors', 'oci', 'filters', 'config', 'store', 'events', 'images', 'snapshot', 'sys', 'concurrency', 'registry', 'pull', 'tar'],
  network: ['errors', 'oci', 'config', 'store', 'sys', 'events'],
  runtime: ['errors', 'oci', 'filters', 'config', 'store', 'snapshot', 'events', 'sys', 'images', 'pull', 'tar', 'registry', 'network'],
  introspection: ['errors', 'oci', 'filters', 'config', 'store', 'snapshot', 'events', 'sys', 'runtime'],
  checkpoint: ['errors', 'oci', 'filters', 'config', 'store', 'snapshot', 'events', 'sys', 'images', 'pull', 'tar', 'registry', 'runtime'],
  fsck: ['errors', 'oci', 'filters', 'config', 'store', 'snapshot', 'events', 'sys', 'images', 'pull', 'tar', 'registry', 'network', 'runtime'],
  pods: ['errors', 'oci', 'filters', 'config', 'store', 'snapshot', 'events', 'sys', 'images', 'pull', 'tar', 'registry', 'network', 'runtime'],
}
const FORBIDDEN_PACKAGES = ['@oclif/', 'listr2', 'cli-progress']

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : []
  })
}

const importsOf = (text: string) =>
  [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2])

test('src/lib imports only downward and never the CLI layer', () => {
  const lib = join(REPO_ROOT, 'src', 'lib')
  const problems: string[] = []
  for (const file of sources(lib)) {
    const folder = relative(lib, file).split('/')[0]
    const allowed = ALLOWED[folder]
    if (!allowed) {
      problems.push(`${relative(REPO_ROOT, file)}: folder lib/${folder} has no place in the layering table`)
      continue
    }
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (FORBIDDEN_PACKAGES.some((p) => spec.startsWith(p))) problems.push(`${relative(REPO_ROOT, file)} imports ${spec}`)
      if (!spec.startsWith('.')) continue
      const target = relative(lib, join(file, '..', spec))
      if (target.startsWith('..')) {
        problems.push(`${relative(REPO_ROOT, file)} imports ${spec} (outside src/lib)`)
        continue
      }
      const targetFolder = target.split('/')[0]
      if (targetFolder !== folder && !allowed.includes(targetFolder)) problems.push(`${relative(REPO_ROOT, file)} (lib/${folder}) imports lib/${targetFolder}`)
    }
  }
  assert.deepEqual(problems, [])
})

test('commands never import each other', () => {
  const commands = join(REPO_ROOT, 'src', 'commands')
  const problems: string[] = []
  for (const file of sources(commands)) {
    if (/\/(index|registry)\.ts$/.test(file)) continue
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = relative(commands, join(file, '..', spec))
      if (spec.startsWith('.') && !target.startsWith('..')) problems.push(`${relative(REPO_ROOT, file)} imports ${spec}`)
    }
  }
  assert.deepEqual(problems, [])
})
