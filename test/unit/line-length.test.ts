// No tracked source line in src/, test/, scripts/ or bin/ is longer than Biome's lineWidth (160, biome.json): the
// formatter cannot break long strings, regexps and comments, so this catches the ones written by hand (issue 13).
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {test} from 'node:test'
import {REPO_ROOT} from '../helpers/cli.js'

const MAX = 160
// Code only: data files (package lists, fixtures) and shell scripts keep their own shape.
const CODE = /\.(?:ts|mts|cts|js|mjs|cjs)$|^bin\/[^./]+$/

test('no tracked source line is longer than 160 characters', () => {
  const files = execFileSync('git', ['ls-files', '-z', '--', 'src', 'test', 'scripts', 'bin'], {cwd: REPO_ROOT, encoding: 'utf8'})
    .split('\0')
    .filter((f) => CODE.test(f))
  assert.ok(files.length > 100, `git ls-files found only ${files.length} source files`)
  const long: string[] = []
  for (const file of files) {
    readFileSync(join(REPO_ROOT, file), 'utf8')
      .split('\n')
      .forEach((line, i) => {
        // Characters as an editor counts them (code points), not UTF-16 units.
        const width = [...line].length
        if (width > MAX) long.push(`${file}:${i + 1} (${width})`)
      })
  }
  assert.deepEqual(long, [], `lines over ${MAX} characters:\n${long.join('\n')}`)
})
