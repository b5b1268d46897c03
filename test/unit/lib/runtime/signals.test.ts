// parseSignal, signalName and stopSignal.
import assert from 'node:assert/strict'
import {constants} from 'node:os'
import {describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {SIGNALS, parseSignal, signalName, stopSignal} from '../../../../src/lib/runtime/index.js'

describe('signals', () => {
  const good: Array<[string | number, number]> = [
    ['SIGTERM', 15],
    ['TERM', 15],
    ['term', 15],
    ['sigkill', 9],
    ['15', 15],
    [15, 15],
    ['9', 9],
    ['SIGHUP', 1],
    ['SIGUSR1', 10],
    ['SIGCHLD', 17],
    ['SIGCLD', 17],
    ['SIGIOT', 6],
    ['SIGWINCH', 28],
    ['SIGRTMIN', 34],
    ['SIGRTMIN+3', 37],
    ['RTMIN+30', 64],
    ['SIGRTMAX', 64],
    ['SIGRTMAX-1', 63],
    ['RTMAX-30', 34],
    ['64', 64],
    ['1', 1],
  ]
  for (const [input, want] of good) test(`parse ${JSON.stringify(input)}`, () => assert.equal(parseSignal(input), want))
  for (const input of ['', 'FOO', 'SIG', 'SIGTERM ', '0', '65', 0, -1, 1.5, 65, 'SIGRTMIN+31', 'SIGRTMIN-1', 'SIGRTMAX+1', '-9', '0x9']) {
    test(`reject ${JSON.stringify(input)}`, () =>
      assert.throws(
        () => parseSignal(input),
        (e: Error) => errorKind(e) === 'invalid argument' && /unknown signal/.test(e.message),
      ))
  }
  test('standard numbers agree with Node on this platform', () => {
    for (const [name, n] of Object.entries(SIGNALS)) {
      const node = (constants.signals as Record<string, number>)[`SIG${name}`]
      if (node !== undefined) assert.equal(n, node, name)
    }
  })
  const names: Array<[number, string]> = [
    [15, 'SIGTERM'],
    [9, 'SIGKILL'],
    [6, 'SIGABRT'],
    [17, 'SIGCHLD'],
    [29, 'SIGIO'],
    [34, 'SIGRTMIN'],
    [37, 'SIGRTMIN+3'],
    [64, 'SIGRTMIN+30'],
    [32, '32'],
  ]
  for (const [n, want] of names) test(`name ${n}`, () => assert.equal(signalName(n), want))
  test('name and parse round trip', () => {
    for (let n = 1; n <= 64; n++) if (n !== 32 && n !== 33) assert.equal(parseSignal(signalName(n)), n)
  })
  test('stopSignal', () => {
    assert.equal(stopSignal(undefined), 'SIGTERM')
    assert.equal(stopSignal(null), 'SIGTERM')
    assert.equal(stopSignal({config: null}), 'SIGTERM')
    assert.equal(stopSignal({config: {StopSignal: ''}}), 'SIGTERM')
    assert.equal(stopSignal({config: {StopSignal: 'SIGQUIT'}}), 'SIGQUIT')
    assert.equal(stopSignal({config: {StopSignal: '37'}}), '37')
    assert.throws(
      () => stopSignal({config: {StopSignal: 'SIGNOPE'}}),
      (e) => errorKind(e) === 'invalid argument',
    )
  })
})
