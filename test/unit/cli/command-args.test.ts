// argv rewrites that let oclif read ctr's command lines: a value on a boolean flag (`--plain-http=true`), and `--` before a container's command.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {booleanFlagValues, endFlagsAfterPositionals} from '../../../src/cli/command-args.js'

const flags = {
  'plain-http': {type: 'boolean' as const},
  'skip-verify': {type: 'boolean' as const, char: 'k'},
  user: {type: 'option' as const, char: 'u'},
}

test('--<boolean>=<Go bool> becomes the bare flag (true) or nothing (false); other values and flags stay', () => {
  const table: [string[], string[]][] = [
    [['--plain-http=true', 'ref'], ['--plain-http', 'ref']],
    [['--plain-http=1', '--skip-verify=T'], ['--plain-http', '--skip-verify']],
    [['--plain-http=false', 'ref'], ['ref']],
    [['--plain-http=0', '--skip-verify=FALSE'], []],
    [['--plain-http=yes'], ['--plain-http=yes']],
    [['--user=me:pw=true'], ['--user=me:pw=true']],
    [['--unknown=true'], ['--unknown=true']],
    [['--', '--plain-http=true'], ['--', '--plain-http=true']],
  ]
  for (const [argv, want] of table) assert.deepEqual(booleanFlagValues(argv, flags), want, argv.join(' '))
})

test('the container command after the positionals keeps its flags', () => {
  assert.deepEqual(endFlagsAfterPositionals(['img', 'id', 'sh', '-c', 'x'], flags, 2), ['img', 'id', '--', 'sh', '-c', 'x'])
  assert.deepEqual(booleanFlagValues(endFlagsAfterPositionals(['--plain-http=true', 'img', 'id', 'x', '--plain-http=true'], flags, 2), flags), ['--plain-http', 'img', 'id', '--', 'x', '--plain-http=true'])
})
