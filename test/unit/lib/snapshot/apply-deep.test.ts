// Regression for issue 11 item 3 at the apply level: a layer entry 5000 directories deep made the
// extractor recurse once per component (`Maximum call stack size exceeded`, exit 1). Now a name
// deeper than the kernel takes fails as InvalidArgument with a bounded message; a name of endless
// symlink components hits one link budget for the whole name (containerd's fs.RootPath); and a
// whiteout of a parent-tree directory deeper than PATH_MAX removes it (merged mode).
// Needs root (owners): skipped without it unless CI is set.
import assert from 'node:assert/strict'
import {existsSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {applyLayer} from '../../../../src/lib/snapshot/apply/index.js'
import {scratch, type Scratch} from '../../../helpers/apply-layers.js'
import {makeDeepTree} from '../../../helpers/deep-tree.js'

const isRoot = process.getuid?.() === 0
const skip = !isRoot && !process.env['CI'] ? 'needs root (owners)' : false

describe('regression: layers deeper than the kernel takes', {skip}, () => {
  let s: Scratch
  before(() => (s = scratch('berth-apply-deep-')))
  after(() => s.cleanup())

  test('a 5000-deep entry fails with InvalidArgument and one bounded line, not a stack overflow', async () => {
    const deep = Array.from({length: 5000}, () => 'a').join('/')
    const blob = await s.blob([
      {path: 'ok', type: 'file', content: 'x'},
      {path: `${deep}/f`, type: 'file', content: 'deep'},
    ])
    await assert.rejects(applyLayer({blobPath: blob.path, mediaType: blob.mediaType, target: s.mkdir('overlay'), mode: 'overlay'}), (err: Error) => {
      assert.equal(errorKind(err), 'invalid argument', err.message)
      assert.match(err.message, /^layer entry "a\/a\/.*….*\/a\/f \(10001 bytes\)": ENAMETOOLONG: name too long, mkdir '.*….*'$/)
      assert.ok(err.message.length < 500, `${err.message.length} characters`)
      return true
    })
  })

  test('symlink components that lead nowhere new use up one link budget for the whole name', async () => {
    const loop = Array.from({length: 5000}, () => 's').join('/')
    const blob = await s.blob([
      {path: 's', type: 'symlink', linkname: '.'},
      {path: `${loop}/f`, type: 'file', content: 'x'},
    ])
    await assert.rejects(
      applyLayer({blobPath: blob.path, mediaType: blob.mediaType, target: s.mkdir('links'), mode: 'overlay'}),
      (err: Error) => errorKind(err) === 'data loss' && /too many levels of symbolic links/.test(err.message),
    )
    // A few links in a name are fine.
    const ok = await s.blob([
      {path: 's', type: 'symlink', linkname: '.'},
      {path: 's/s/s/f', type: 'file', content: 'x'},
    ])
    const target = s.mkdir('few')
    await applyLayer({blobPath: ok.path, mediaType: ok.mediaType, target, mode: 'overlay'})
    assert.deepEqual(readdirSync(target).sort(), ['f', 's'])
  })

  test('merged mode: a whiteout removes a parent-tree directory deeper than PATH_MAX', async () => {
    const target = s.mkdir('merged')
    makeDeepTree(join(target, 'deep'), 60, {name: 'd'.repeat(80)}) // 4.9 kB
    const blob = await s.blob([
      {path: '.wh.deep', type: 'file'},
      {path: 'kept', type: 'file', content: 'x'},
    ])
    await applyLayer({blobPath: blob.path, mediaType: blob.mediaType, target, mode: 'merged'})
    assert.equal(existsSync(join(target, 'deep')), false)
    assert.deepEqual(readdirSync(target), ['kept'])
  })
})
