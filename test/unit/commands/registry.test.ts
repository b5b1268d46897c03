// ctr's argument habits, checked for every command in the registry against the parser the bundle
// runs (the lite one): an unknown flag is one usage error pointing at the command's help, flags
// parse after positional arguments, boolean flags take `=true|false`, and surplus arguments do
// what ctr's do with them. A new command fails here until it gets a row.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {endFlagsAfterPositionals} from '../../../src/cli/command-args.js'
import {globalFlags} from '../../../src/cli/flags.js'
import {parse as liteParse} from '../../../src/cli/lite/oclif.js'
import {COMMAND_LOADERS, COMMAND_TABLE} from '../../../src/commands/registry.js'
import {COMMAND_ARGS as TABLE} from '../../helpers/command-table.js'

interface FlagDef {
  type: 'boolean' | 'option'
  char?: string
  options?: readonly string[]
}
interface CommandClass {
  flags?: Record<string, FlagDef>
  baseFlags?: Record<string, FlagDef>
  args?: Record<string, unknown>
  strict?: boolean
  commandAfterPositionals?: number
}

async function load(id: string): Promise<CommandClass> {
  return (await COMMAND_LOADERS[id]()).default as CommandClass
}

/** argv as main.ts hands it to the command: the container's command fenced off with `--`. */
function prepared(cls: CommandClass, argv: string[]): string[] {
  return cls.commandAfterPositionals === undefined ? argv : endFlagsAfterPositionals(argv, {...globalFlags, ...cls.flags}, cls.commandAfterPositionals)
}

const parseAs = (id: string, cls: CommandClass, argv: string[]) => liteParse(prepared(cls, argv), cls as never, {id})

test('every registered command has a row, and every row a command', () => {
  assert.deepEqual(Object.keys(TABLE).sort(), Object.keys(COMMAND_LOADERS).sort())
  assert.ok([...(COMMAND_TABLE.hidden ?? [])].every((id) => id in COMMAND_LOADERS))
})

test('the command table (table.ts) lists exactly the ids the registry loads', () => {
  assert.deepEqual([...COMMAND_TABLE.ids].sort(), Object.keys(COMMAND_LOADERS).sort())
})

for (const [id, row] of Object.entries(TABLE)) {
  const words = id.split(':').join(' ')
  describe(`ctr ${words}`, () => {
    test('parses its fewest arguments, with flags after them', async () => {
      const cls = await load(id)
      const flagsAfter = row.surplus === 'command' ? [] : ['-n', 'after', '--timeout', '10s']
      const r = await parseAs(id, cls, [...(row.surplus === 'command' ? ['-n', 'after'] : []), ...row.args, ...flagsAfter])
      assert.equal(r.flags['namespace'], 'after')
    })

    test('an unknown flag is one usage error that points at its help', async () => {
      const cls = await load(id)
      // For a command ending in a container command, a flag after the positionals is the container's.
      const argv = row.surplus === 'command' ? ['--bogus-flag', ...row.args] : [...row.args, '--bogus-flag']
      await assert.rejects(parseAs(id, cls, argv), {message: `unknown flag "--bogus-flag"; see "ctr ${words} --help"`})
    })

    test('boolean flags take =true and =false (Go ParseBool values)', async () => {
      const cls = await load(id)
      const defs = {...cls.baseFlags, ...cls.flags}
      for (const [name, def] of Object.entries(defs)) {
        if (def.type !== 'boolean') continue
        for (const [value, want] of [
          ['false', false],
          ['true', true],
          ['0', false],
          ['1', true],
        ] as const) {
          const flag = `--${name}=${value}`
          const argv = row.surplus === 'command' ? [flag, ...row.args] : [...row.args, flag]
          assert.equal((await parseAs(id, cls, argv)).flags[name], want, flag)
        }
      }
    })

    test(`surplus arguments: ${row.surplus}`, async () => {
      const cls = await load(id)
      const argv = [...row.args, 'surplus1', 'surplus2']
      const base = await parseAs(id, cls, row.args)
      if (row.surplus === 'error') {
        await assert.rejects(parseAs(id, cls, argv), {message: 'unexpected arguments: surplus1, surplus2'})
        return
      }
      const r = await parseAs(id, cls, argv)
      assert.deepEqual(r.args, base.args, 'the named arguments are the same')
      if (row.surplus === 'command') {
        const withFlags = await parseAs(id, cls, [...row.args, 'sh', '-c', '--rm', '-n', 'x'])
        assert.deepEqual(withFlags.argv.slice(-5), ['sh', '-c', '--rm', '-n', 'x'], 'the container command keeps its flags')
        assert.equal(withFlags.flags['namespace'], 'default')
      } else {
        assert.deepEqual(r.argv.slice(-2), ['surplus1', 'surplus2'])
      }
    })

    test('its own short flags do not collide with the global ones it keeps', async () => {
      const cls = await load(id)
      const base = new Map(Object.entries(cls.baseFlags ?? {}).flatMap(([n, d]) => (d.char ? [[d.char, n] as const] : [])))
      for (const [name, def] of Object.entries(cls.flags ?? {})) {
        if (def.char) assert.equal(base.get(def.char), undefined, `-${def.char} is --${name} and --${base.get(def.char)}`)
      }
    })
  })
}
