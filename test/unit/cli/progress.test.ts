// The pull display's frame: ctr's layout when it fits, shortened digests, a narrower bar and
// shorter names when it does not, never a line as wide as the terminal.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {bar, renderFrame, shortKey, visibleWidth, type ProgressRow} from '../../../src/cli/progress.js'

const digest = (c: string) => `sha256:${c.repeat(64)}`
const rows: ProgressRow[] = [
  {key: '127.0.0.1:5000/library/some-long-repository-name:v1.2.3', status: 'resolved', offset: 0, total: 0},
  {key: `manifest-${digest('a')}`, status: 'done', offset: 0, total: 0},
  {key: `layer-${digest('b')}`, status: 'downloading', offset: 512 * 1024, total: 2 * 1024 * 1024},
  {key: `layer-${digest('c')}`, status: 'waiting', offset: 0, total: 0},
]
const frame = (columns: number, color = false) => renderFrame(rows, {columns, color, elapsedSeconds: 1.5, totalBytes: 512 * 1024})

test('shortKey shortens digest keys as containerd 2.x does and leaves references alone', () => {
  assert.equal(shortKey(`layer-${digest('b')}`), 'layer (bbbbbbbbbbbb)')
  assert.equal(shortKey('docker.io/library/redis:latest'), 'docker.io/library/redis:latest')
  assert.equal(shortKey('my-registry/app-x:1'), 'my-registry/app-x:1')
})

test("a wide terminal gets ctr's layout: full keys, 40-column bars, the elapsed line aligned", () => {
  const lines = frame(200)
  assert.equal(lines[2], `layer-${digest('b')}:${' '.repeat(4)}downloading    |${'+'.repeat(9)}${'-'.repeat(29)}| 512.0 Ki/2.0 MiB`)
  assert.match(lines[4], /^elapsed: 1\.5 s {2,}total: {2}512\.0 {2}\(341\.3 KiB\/s\)$/)
})

for (const columns of [40, 60, 80, 120]) {
  test(`at ${columns} columns every line is narrower than the terminal and digest rows stay whole`, () => {
    const lines = frame(columns, true)
    for (const l of lines) assert.ok(visibleWidth(l) < columns, `${JSON.stringify(l)}`)
    assert.ok(lines[1].startsWith('manifest (aaaaaaaaaaaa):'))
    assert.ok(lines[2].startsWith('layer (bbbbbbbbbbbb):'))
    if (columns >= 80) assert.match(lines[2], /\|\u001b\[32m\++\u001b\[0m-+\|/)
  })
}

test('bar without colour is plain text', () => {
  assert.equal(bar(0.5, 12, false), '|+++++-----|')
  assert.equal(bar(1, 6, true), '|\u001b[32m++++\u001b[0m|')
})
