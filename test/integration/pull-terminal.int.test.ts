// `ctr images pull` on a real terminal (a pty): the display fits 60, 80 and 120 columns, keeps
// ctr's full layout when there is room, redraws after a resize, honours NO_COLOR, and leaves the
// terminal as it found it (cursor shown, wrapping on) however the pull ends: done, an error,
// --timeout, Ctrl-C, SIGTERM, SIGHUP.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {CTR_BIN, type Sandbox, sandbox} from '../helpers/cli.js'
import {startFakeRegistry, type FakeRegistry} from '../helpers/fake-registry.js'
import {buildImage, generatedLayers, type BuiltImage} from '../helpers/oci-image.js'
import {runOnPty} from '../helpers/pty.js'

const CLAIM = '\u001b[?25l\u001b[?7l'
const RESTORE = '\u001b[?25h\u001b[?7h'
const ESCAPES = /\u001b\[[0-9;?]*[A-Za-z]/g

/** Every line the display drew (up to where it gave the terminal back), escape sequences removed. */
function drawnLines(output: string): string[] {
  const end = output.lastIndexOf(RESTORE)
  return (end < 0 ? output : output.slice(0, end))
    .split(/\r?\n/)
    .map((l) => l.replace(ESCAPES, '').replace(/^.*\r/, ''))
    .filter((l) => l !== '')
}

function assertRestored(output: string): void {
  assert.ok(output.includes(CLAIM), 'the display claimed the terminal')
  assert.ok(output.lastIndexOf(RESTORE) > output.lastIndexOf(CLAIM), `cursor and wrapping restored after the last claim: ${JSON.stringify(output.slice(-200))}`)
}

describe('images pull on a terminal', () => {
  let reg: FakeRegistry
  let image: BuiltImage
  const sbs: Sandbox[] = []
  const fresh = () => {
    const s = sandbox()
    sbs.push(s)
    return s
  }
  before(async () => {
    image = await buildImage({layers: generatedLayers({count: 2, bytesPerLayer: 192 * 1024, seed: 13}), compression: 'none'})
    reg = await startFakeRegistry({images: {'app/tty:1': image}})
  })
  after(async () => {
    await reg.stop()
    for (const s of sbs) s.cleanup()
  })
  const ref = () => `${reg.host}/app/tty:1`
  /** Layers arrive at about 128 KiB/s: a pull takes a few seconds and draws many frames. */
  const slowly = () => reg.rules.add({path: /\/blobs\//, method: 'GET', kind: 'slow', bytesPerSecond: 128 * 1024})

  for (const [how, act, code] of [
    ['Ctrl-C', (p: ReturnType<typeof runOnPty>) => p.interrupt(), 130],
    ['SIGTERM', (p: ReturnType<typeof runOnPty>) => p.kill('SIGTERM'), 143],
    ['SIGHUP', (p: ReturnType<typeof runOnPty>) => p.kill('SIGHUP'), 129],
  ] as const) {
    test(`${how} during images pull leaves the terminal working (cursor shown, wrapping on) and exits ${code}`, async () => {
      const rule = slowly()
      try {
        const s = fresh()
        const p = runOnPty([CTR_BIN, 'images', 'pull', ref()], {columns: 80, env: s.env})
        await p.waitFor('downloading')
        act(p)
        const {code: exit, output} = await p.done
        assert.equal(exit, code, output)
        assert.ok(output.endsWith(RESTORE), `output ends with show-cursor and wrap-on: ${JSON.stringify(output.slice(-120))}`)
        assertRestored(output)
      } finally {
        reg.rules.remove(rule)
      }
    })
  }

  test('--timeout during images pull restores the terminal and exits 6', async () => {
    const rule = slowly()
    try {
      const s = fresh()
      const p = runOnPty([CTR_BIN, '--timeout', '1s', 'images', 'pull', ref()], {columns: 80, env: s.env})
      const {code, output} = await p.done
      assert.equal(code, 6, output)
      assert.match(output, /ctr: timeout 1s exceeded/)
      assert.ok(output.endsWith(RESTORE), JSON.stringify(output.slice(-120)))
    } finally {
      reg.rules.remove(rule)
    }
  })

  test('a pull that fails restores the terminal before the error line', async () => {
    const rule = reg.rules.add({path: image.layers[1].digest, method: 'GET', kind: 'status', status: 404})
    try {
      const s = fresh()
      const {code, output} = await runOnPty([CTR_BIN, 'images', 'pull', ref()], {columns: 80, env: s.env}).done
      assert.equal(code, 3, output)
      assertRestored(output)
      assert.match(output.slice(output.lastIndexOf(RESTORE)), /^\u001b\[\?25h\u001b\[\?7hctr: .*not found/)
    } finally {
      reg.rules.remove(rule)
    }
  })

  for (const columns of [60, 80, 120]) {
    test(`the pull display fits ${columns} columns`, async () => {
      const rule = slowly()
      try {
        const s = fresh()
        const {code, output} = await runOnPty([CTR_BIN, 'images', 'pull', ref()], {columns, env: s.env}).done
        assert.equal(code, 0, output)
        assertRestored(output)
        const lines = drawnLines(output)
        for (const line of lines) assert.ok([...line].length < columns, `${JSON.stringify(line)} is ${[...line].length} columns wide`)
        // Digests are shortened as containerd 2.x does, and each row still says what it is.
        assert.ok(
          lines.some((l) => l.startsWith(`layer (${image.layers[0].digest.slice(7, 19)}):`)),
          lines.join('\n'),
        )
        assert.ok(!lines.some((l) => l.includes(image.layers[0].digest)))
        // The elapsed/total line was drawn while the layers were still coming.
        const live = lines.filter((l) => l.startsWith('elapsed: '))
        assert.ok(live.length >= 3, `live elapsed lines: ${live.length}`)
        if (columns >= 80)
          assert.ok(
            lines.some((l) => /\|\++-*\|/.test(l)),
            'a bar is drawn',
          )
        assert.match(output, /done: /)
      } finally {
        reg.rules.remove(rule)
      }
    })
  }

  test("a wide terminal gets ctr's layout: full row keys and 40-column bars", async () => {
    const s = fresh()
    const {code, output} = await runOnPty([CTR_BIN, 'images', 'pull', ref()], {columns: 200, env: s.env}).done
    assert.equal(code, 0, output)
    const lines = drawnLines(output)
    const row = lines.findLast((l) => l.startsWith(`layer-${image.layers[0].digest}:`))
    assert.ok(row, lines.join('\n'))
    assert.match(row, /\s(done|exists)\s+\|\+{38}\|$/)
  })

  test('after a resize the display is redrawn for the new width', async () => {
    const rule = slowly()
    try {
      const s = fresh()
      const p = runOnPty([CTR_BIN, 'images', 'pull', ref()], {columns: 120, env: s.env})
      await p.waitFor('downloading')
      await p.waitFor(/elapsed: [1-9]/)
      const before = p.output().length
      p.resize(24, 50)
      const {code, output} = await p.done
      assert.equal(code, 0, output)
      const after = output.slice(before)
      // The first erase after the resize goes up over every screen row the old, wider frame now takes.
      const oldFrame = drawnLines(output.slice(output.lastIndexOf('\u001b[J', before), before))
      const up = Number(/\u001b\[(\d+)A/.exec(after)?.[1])
      assert.equal(
        up,
        oldFrame.reduce((n, l) => n + Math.max(1, Math.ceil([...l].length / 50)), 0),
      )
      const frames = after.slice(after.indexOf('\u001b[J'))
      for (const line of drawnLines(frames)) assert.ok([...line].length < 50, JSON.stringify(line))
    } finally {
      reg.rules.remove(rule)
    }
  })

  test('NO_COLOR leaves the bars uncoloured', async () => {
    const colored = await runOnPty([CTR_BIN, 'images', 'pull', ref()], {columns: 120, env: fresh().env}).done
    assert.ok(colored.output.includes('\u001b[32m'))
    const s = fresh()
    const plain = await runOnPty([CTR_BIN, 'images', 'pull', ref()], {columns: 120, env: {...s.env, NO_COLOR: '1'}}).done
    assert.equal(plain.code, 0, plain.output)
    assert.ok(!plain.output.includes('\u001b[32m'), JSON.stringify(plain.output))
    assert.match(plain.output, /\|\+{38}\|/)
  })
})
