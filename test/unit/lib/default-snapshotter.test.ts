// The default snapshotter is decided in one place: resolveSnapshotter (lib/config) takes the name
// asked for, else the config's default_snapshotter, else overlayfs; no other source file spells a
// fallback of its own (they were 16 once, and `??` and `||` disagreed about an empty name).
import assert from 'node:assert/strict'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {describe, test} from 'node:test'
import {interpret, resolveSnapshotter} from '../../../src/lib/config/index.js'
import {REPO_ROOT} from '../../helpers/cli.js'

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : []
  })
}

describe('default snapshotter', () => {
  test('the name asked for, else the config file, else overlayfs; an empty name asks for the default', () => {
    assert.equal(resolveSnapshotter(interpret({}), undefined), 'overlayfs')
    assert.equal(resolveSnapshotter(interpret({}), ''), 'overlayfs')
    assert.equal(resolveSnapshotter(interpret({default_snapshotter: 'native'}), undefined), 'native')
    assert.equal(resolveSnapshotter(interpret({default_snapshotter: 'native'}), 'overlayfs'), 'overlayfs')
    assert.equal(resolveSnapshotter(interpret({}), 'native'), 'native')
  })

  test('the fallback is spelled in exactly one source file', () => {
    // A literal default (`defaultSnapshotter: 'overlayfs'`, `?? 'overlayfs'`) or a hand-made
    // fallback to the config (`?? config.defaultSnapshotter`, `|| defaultSnapshotter`).
    const fallback = /(?:\?\?|\|\|)\s*(?:['"`]overlayfs['"`]|[\w.()]*defaultSnapshotter\b)|defaultSnapshotter\s*[:=]\s*['"`]overlayfs['"`]/
    const files = sources(join(REPO_ROOT, 'src'))
      .filter((f) => fallback.test(readFileSync(f, 'utf8')))
      .map((f) => relative(REPO_ROOT, f))
    assert.deepEqual(files, ['src/lib/config/index.ts'])
  })
})
