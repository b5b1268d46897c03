// The bundled CLI parses with src/cli/lite/oclif.ts; this checks it against real oclif's parser.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import * as RealArgs from '@oclif/core/args'
import * as RealFlags from '@oclif/core/flags'
import {parse as realParse} from '@oclif/core/parser'
import {Args as LiteArgs, Flags as LiteFlags, parse as liteParse} from '../../../src/cli/lite/oclif.js'
import {errorKind} from '../../../src/lib/errors/index.js'

type AnyFlags = typeof LiteFlags
type AnyArgs = typeof LiteArgs

function definition(F: AnyFlags, A: AnyArgs, strict: boolean) {
  return {
    strict,
    flags: {
      namespace: F.string({char: 'n', default: 'default'}),
      quiet: F.boolean({char: 'q'}),
      all: F.boolean({char: 'a'}),
      format: F.string({options: ['table', 'json'], default: 'table'}),
      label: F.string({multiple: true, multipleNonGreedy: true}),
      count: F.integer({min: 1}),
    },
    args: {name: A.string({required: true}), other: A.string()},
  }
}

const accepted = [
  ['x'],
  ['x', 'y'],
  ['-q', 'x'],
  ['x', '-q'],
  ['-n', 'foo', 'x'],
  ['-nfoo', 'x'],
  ['--namespace', 'foo', 'x'],
  ['--namespace=foo', 'x'],
  ['--format', 'json', 'x'],
  ['--label', 'a=b', '--label', 'c', 'x'],
  ['--count', '3', 'x'],
  ['-qa', 'x'],
  ['x', '--', '-q'],
  ['x', 'y', '--quiet'],
]

const rejected = [
  ['-z', 'x'],
  ['--nope', 'x'],
  ['--format', 'xml', 'x'],
  [],
  ['--count', 'abc', 'x'],
  ['--count', '0', 'x'],
  ['x', 'y', 'z'],
  ['x', '--namespace'],
]

describe('lite parser matches oclif', () => {
  for (const argv of accepted) {
    test(`accepts ${JSON.stringify(argv)}`, async () => {
      const real = await realParse(argv, definition(RealFlags as unknown as AnyFlags, RealArgs as unknown as AnyArgs, true) as never)
      const lite = await liteParse(argv, definition(LiteFlags, LiteArgs, true))
      assert.deepEqual(lite.flags, {...real.flags})
      assert.deepEqual(lite.args, {...real.args})
      assert.deepEqual(lite.argv, real.argv)
    })
  }
  for (const argv of rejected) {
    test(`rejects ${JSON.stringify(argv)} as a usage error`, async () => {
      await assert.rejects(realParse(argv, definition(RealFlags as unknown as AnyFlags, RealArgs as unknown as AnyArgs, true) as never))
      await assert.rejects(liteParse(argv, definition(LiteFlags, LiteArgs, true)), (err) => errorKind(err) === 'invalid argument')
    })
  }
  test('a repeated single-value flag: oclif refuses, lite keeps the last (global flags are hoisted)', async () => {
    await assert.rejects(realParse(['-n', 'a', 'x', '-n', 'b'], definition(RealFlags as unknown as AnyFlags, RealArgs as unknown as AnyArgs, true) as never))
    const lite = await liteParse(['-n', 'a', 'x', '-n', 'b'], definition(LiteFlags, LiteArgs, true))
    assert.equal(lite.flags['namespace'], 'b')
  })
  test('non-strict keeps extra arguments in argv', async () => {
    const argv = ['x', 'y', 'k=v', 'a=b']
    const real = await realParse(argv, definition(RealFlags as unknown as AnyFlags, RealArgs as unknown as AnyArgs, false) as never)
    const lite = await liteParse(argv, definition(LiteFlags, LiteArgs, false))
    assert.deepEqual(lite.argv, real.argv)
    assert.deepEqual(lite.args, {...real.args})
  })
  test('environment variables fill unset flags', async () => {
    const def = (F: AnyFlags) => ({flags: {namespace: F.string({char: 'n', env: 'BERTH_TEST_NS', default: 'default'})}, args: {}})
    process.env['BERTH_TEST_NS'] = 'fromenv'
    try {
      const real = await realParse([], def(RealFlags as unknown as AnyFlags) as never)
      const lite = await liteParse([], def(LiteFlags))
      assert.equal(lite.flags['namespace'], 'fromenv')
      assert.equal(real.flags['namespace'], 'fromenv')
      assert.equal((await liteParse(['-n', 'x'], def(LiteFlags))).flags['namespace'], 'x')
    } finally {
      delete process.env['BERTH_TEST_NS']
    }
  })
})

// Deliberate differences: ctr's own parsing habits (urfave/cli over Go's flag package).
describe("lite parser: ctr's habits", () => {
  const def = (strict = true) => definition(LiteFlags, LiteArgs, strict)
  const booleans: Array<[string, boolean]> = [
    ['1', true],
    ['t', true],
    ['T', true],
    ['TRUE', true],
    ['true', true],
    ['True', true],
    ['0', false],
    ['f', false],
    ['F', false],
    ['FALSE', false],
    ['false', false],
    ['False', false],
  ]
  for (const [value, want] of booleans) {
    test(`--quiet=${value} and -q=${value} are ${want} (strconv.ParseBool)`, async () => {
      assert.equal((await liteParse([`--quiet=${value}`, 'x'], def())).flags['quiet'], want)
      assert.equal((await liteParse([`-q=${value}`, 'x'], def())).flags['quiet'], want)
    })
  }
  test('a boolean value ParseBool refuses is a usage error naming the flag', async () => {
    await assert.rejects(
      liteParse(['--quiet=yes', 'x'], def()),
      (err: Error) => errorKind(err) === 'invalid argument' && /^invalid value "yes" for flag --quiet: /.test(err.message),
    )
  })
  test('flags after positional arguments, up to --', async () => {
    const r = await liteParse(['x', '-q', 'y', '--namespace', 'n', '--', '--all'], def(false))
    assert.equal(r.flags['quiet'], true)
    assert.equal(r.flags['namespace'], 'n')
    assert.equal(r.flags['all'], undefined)
    assert.deepEqual(r.argv, ['x', 'y', '--all'])
  })
  test("a command's own short flag wins over a global one with the same letter", async () => {
    const cls = {baseFlags: {address: LiteFlags.string({char: 'a'})}, flags: {all: LiteFlags.boolean({char: 'a'})}, args: {id: LiteArgs.string()}}
    const r = await liteParse(['-a', 'id'], cls)
    assert.equal(r.flags['all'], true)
    assert.equal(r.args['id'], 'id')
    assert.equal((await liteParse(['-a', '/sock', 'id'], {...cls, flags: {}})).flags['address'], '/sock')
  })
  test('an unknown flag: one line, a suggestion when one is close, else where to look', async () => {
    await assert.rejects(liteParse(['--nmespace', 'x'], def()), {message: 'unknown flag "--nmespace"; did you mean "--namespace"?'})
    await assert.rejects(liteParse(['--bogus', 'x'], def(), {id: 'namespaces:ls'}), {message: 'unknown flag "--bogus"; see "ctr namespaces ls --help"'})
    await assert.rejects(liteParse(['-z', 'x'], def()), {message: 'unknown flag "-z"'})
  })
  test('a bad value: invalid value "<v>" for flag --<name>: <why>', async () => {
    await assert.rejects(liteParse(['--format', 'xml', 'x'], def()), {message: 'invalid value "xml" for flag --format: must be one of table, json'})
    await assert.rejects(liteParse(['--count', 'abc', 'x'], def()), {message: 'invalid value "abc" for flag --count: must be an integer'})
  })
})
