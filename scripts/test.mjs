// Runs every test: node's built-in runner over the compiled test files (dist/test/**/*.test.js).
// `npm test` runs scripts/setup.sh first, which installs what is missing and builds.
import {spawnSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const only = process.argv.slice(2) // optional substrings to select test files

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return walk(path)
    return name.endsWith('.test.js') ? [path] : []
  })
}

const files = walk(join(root, 'dist/test'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort()
if (files.length === 0) {
  console.error('test: no test files found; run `npm run build` first')
  process.exit(1)
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=4', '--test-reporter=spec', ...files], {stdio: 'inherit', cwd: root})
process.exit(result.status ?? 1)
