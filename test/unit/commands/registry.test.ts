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

/**
 * What a command does with arguments beyond the ones it needs (containerd 1.7's cmd/ctr):
 * - ignored: ctr reads `Args().First()` (or no argument at all) and ignores the rest, exit 0;
 * - variadic: every argument counts (ids, filters, labels);
 * - error: ctr checks the count and refuses (snapshots prepare/view/mounts/commit/info), or Berth
 *   has no use for them (gc);
 * - command: after the positionals comes the container's command, flags and all (SkipArgReorder);
 * - extra-arguments: the command refuses them itself, with ctr's `extra arguments: [...]` (version).
 */
type Surplus = 'ignored' | 'variadic' | 'error' | 'command' | 'extra-arguments'

/** Per command: the fewest arguments it parses with, and its surplus rule. */
const TABLE: Record<string, {args: string[]; surplus: Surplus}> = {
  'containers:create': {args: ['img', 'ctr1'], surplus: 'command'},
  'containers:info': {args: ['ctr1'], surplus: 'ignored'},
  'containers:label': {args: ['ctr1'], surplus: 'variadic'},
  'containers:ls': {args: [], surplus: 'variadic'},
  'containers:rm': {args: ['ctr1'], surplus: 'variadic'},
  'content:active': {args: [], surplus: 'variadic'},
  'content:fetch': {args: ['ref'], surplus: 'ignored'},
  'content:get': {args: ['sha256:x'], surplus: 'variadic'},
  'content:ls': {args: [], surplus: 'variadic'},
  'content:rm': {args: ['sha256:x'], surplus: 'variadic'},
  'images:check': {args: [], surplus: 'variadic'},
  'images:inspect': {args: ['ref'], surplus: 'ignored'},
  'images:label': {args: ['ref'], surplus: 'variadic'},
  'images:ls': {args: [], surplus: 'variadic'},
  'images:mount': {args: ['ref', '/mnt'], surplus: 'ignored'},
  'images:pull': {args: ['ref'], surplus: 'ignored'},
  'images:rm': {args: ['ref'], surplus: 'variadic'},
  'images:tag': {args: ['a', 'b'], surplus: 'variadic'},
  'images:unmount': {args: ['/mnt'], surplus: 'ignored'},
  'leases:create': {args: [], surplus: 'variadic'},
  'leases:ls': {args: [], surplus: 'variadic'},
  'leases:rm': {args: ['lease1'], surplus: 'variadic'},
  'namespaces:create': {args: ['ns1'], surplus: 'variadic'},
  'namespaces:label': {args: ['ns1'], surplus: 'variadic'},
  'namespaces:ls': {args: [], surplus: 'variadic'},
  'namespaces:rm': {args: ['ns1'], surplus: 'variadic'},
  'oci:spec': {args: [], surplus: 'ignored'},
  'plugins:ls': {args: [], surplus: 'variadic'},
  'snapshots:commit': {args: ['key', 'active'], surplus: 'error'},
  'snapshots:info': {args: ['key'], surplus: 'error'},
  'snapshots:label': {args: ['key'], surplus: 'variadic'},
  'snapshots:ls': {args: [], surplus: 'ignored'},
  'snapshots:mounts': {args: ['/t', 'key'], surplus: 'error'},
  'snapshots:prepare': {args: ['key', 'parent'], surplus: 'error'},
  'snapshots:rm': {args: ['key'], surplus: 'variadic'},
  'snapshots:tree': {args: [], surplus: 'ignored'},
  'snapshots:usage': {args: [], surplus: 'variadic'},
  'snapshots:view': {args: ['key', 'parent'], surplus: 'error'},
  'tasks:attach': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:cleanup': {args: ['--instance', 'i1', 'ctr1'], surplus: 'ignored'},
  'tasks:exec': {args: ['--exec-id', 'e1', 'ctr1'], surplus: 'command'},
  'tasks:kill': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:logs': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:ls': {args: [], surplus: 'ignored'},
  'tasks:metrics': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:pause': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:ps': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:resume': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:rm': {args: ['ctr1'], surplus: 'variadic'},
  'tasks:start': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:wait': {args: ['ctr1'], surplus: 'ignored'},
  events: {args: [], surplus: 'variadic'},
  gc: {args: [], surplus: 'error'},
  info: {args: [], surplus: 'ignored'},
  run: {args: ['img', 'ctr1'], surplus: 'command'},
  version: {args: [], surplus: 'extra-arguments'},
}

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
  return (await COMMAND_LOADERS[id]!()).default as CommandClass
}

/** argv as main.ts hands it to the command: the container's command fenced off with `--`. */
function prepared(cls: CommandClass, argv: string[]): string[] {
  return cls.commandAfterPositionals === undefined ? argv : endFlagsAfterPositionals(argv, {...globalFlags, ...cls.flags} as never, cls.commandAfterPositionals)
}

const parseAs = (id: string, cls: CommandClass, argv: string[]) => liteParse(prepared(cls, argv), cls as never, {id})

test('every registered command has a row, and every row a command', () => {
  assert.deepEqual(Object.keys(TABLE).sort(), Object.keys(COMMAND_LOADERS).sort())
  assert.ok([...(COMMAND_TABLE.hidden ?? [])].every((id) => id in COMMAND_LOADERS))
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
        for (const [value, want] of [['false', false], ['true', true], ['0', false], ['1', true]] as const) {
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
        assert.deepEqual(withFlags.argv.slice(-5), ['sh', '-c', '--rm', '-n', 'x'], "the container command keeps its flags")
        assert.equal(withFlags.flags['namespace'], 'default')
      } else {
        assert.deepEqual(r.argv.slice(-2), ['surplus1', 'surplus2'])
      }
    })

    test("its own short flags do not collide with the global ones it keeps", async () => {
      const cls = await load(id)
      const base = new Map(Object.entries(cls.baseFlags ?? {}).flatMap(([n, d]) => (d.char ? [[d.char, n] as const] : [])))
      for (const [name, def] of Object.entries(cls.flags ?? {})) {
        if (def.char) assert.equal(base.get(def.char), undefined, `-${def.char} is --${name} and --${base.get(def.char)}`)
      }
    })
  })
}
