// Regression (issue 11 #1, "silent success"): `ctr -a <sock> images ls`, `ctr --timeout 10s images
// ls`, `ctr --nmespace foo images rm X` and `ctr -n k8s.io images nosuchverb x.tar` printed the help
// and exited 0. Help is printed only when asked for; anything else that names no command, or
// names one wrongly, is one `ctr: ` line and exit 2 — checked for every command and every topic.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {COMMAND_LOADERS, COMMAND_TABLE} from '../../src/commands/registry.js'
import {type CtrResult, type Sandbox, sandbox} from '../helpers/cli.js'
import {COMMAND_ARGS} from '../helpers/command-table.js'

const IDS = Object.keys(COMMAND_LOADERS).sort()
const TOPICS = [...new Set(IDS.filter((id) => id.includes(':')).map((id) => id.split(':')[0]))].sort()
const words = (id: string) => id.split(':')

/** Run many ctr calls, a few at a time (the machine is small and shared). */
async function runAll(sb: Sandbox, calls: ReadonlyArray<readonly string[]>, concurrency = 4): Promise<CtrResult[]> {
  const results: CtrResult[] = new Array(calls.length)
  let next = 0
  const worker = async () => {
    while (next < calls.length) {
      const i = next++
      results[i] = await sb.spawn(calls[i])
    }
  }
  await Promise.all(Array.from({length: concurrency}, worker))
  return results
}

/** The usage-error shape: nothing on stdout, exactly one `ctr: ` line on stderr, exit 2. */
function assertUsageError(r: CtrResult, argv: readonly string[], line?: string | RegExp): void {
  const what = `ctr ${argv.join(' ')}: ${JSON.stringify(r)}`
  assert.equal(r.code, 2, what)
  assert.equal(r.stdout, '', what)
  assert.match(r.stderr, /^ctr: [^\n]+\n$/, what)
  if (typeof line === 'string') assert.equal(r.stderr, `ctr: ${line}\n`, what)
  else if (line) assert.match(r.stderr, line, what)
}

describe('silent success on bad input: help only when asked, else one ctr: line and exit 2', () => {
  let sb: Sandbox
  before(() => (sb = sandbox()))
  after(() => sb.cleanup())

  test('the reported cases', () => {
    for (const argv of [
      ['-a', '/run/k3s/containerd/containerd.sock', 'images', 'ls'],
      ['--timeout', '10s', 'images', 'ls'],
    ]) {
      const r = sb.run(argv)
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /^REF +TYPE +DIGEST +SIZE +PLATFORMS +LABELS +\n$/, 'the command ran: a table, not the help')
    }
    assertUsageError(sb.run(['--nmespace', 'foo', 'images', 'rm', 'X']), ['--nmespace'], 'unknown flag "--nmespace"; did you mean "--namespace"?')
    assertUsageError(
      sb.run(['-n', 'k8s.io', 'images', 'nosuchverb', 'x.tar']),
      ['images', 'nosuchverb'],
      'unknown command "images nosuchverb"; see "ctr images --help"',
    )
    assertUsageError(sb.run(['images', 'lss']), ['images', 'lss'], 'unknown command "images lss"; did you mean "images ls"?')
    assertUsageError(sb.run(['imags', 'ls']), ['imags'], 'unknown command "imags"; did you mean "images"?')
    assertUsageError(sb.run(['frobnicate']), ['frobnicate'], 'unknown command "frobnicate"; see "ctr --help"')
    assertUsageError(sb.run(['help', 'frobnicate']), ['help', 'frobnicate'], 'unknown command "frobnicate"; see "ctr --help"')
    assertUsageError(sb.run(['-z', 'images', 'ls']), ['-z'], 'unknown flag "-z"; see "ctr --help"')
    assertUsageError(sb.run(['images', '--bogus', 'ls']), ['images', '--bogus'], 'unknown flag "--bogus"; see "ctr images --help"')
  })

  test('help when asked: bare ctr, --help, -h, help; -v and --version print the version', async () => {
    const calls = [[], ['--help'], ['-h'], ['help'], ['-n', 'foo', '--help']]
    for (const [i, r] of (await runAll(sb, calls)).entries()) {
      assert.equal(r.code, 0, `ctr ${calls[i].join(' ')}: ${r.stderr}`)
      assert.match(r.stdout, /USAGE\n {2}\$ ctr \[COMMAND\]/)
      assert.match(r.stdout, /namespaces/)
    }
    for (const flag of ['-v', '--version']) {
      const r = sb.run([flag])
      assert.equal(r.code, 0)
      assert.match(r.stdout, /^ctr berth \d+\.\d+\.\d+\S*\n$/)
      assert.equal(r.stderr, '')
    }
  })

  test('every command: an unknown flag, even after the arguments, is exit 2 and one ctr: line with a suggestion when close', async () => {
    const calls = IDS.map((id) => {
      const row = COMMAND_ARGS[id]
      // After a container command's positionals, a flag is the container's: put it first there.
      return row.surplus === 'command' ? [...words(id), '--nmespace', 'x', ...row.args] : [...words(id), ...row.args, '--nmespace', 'x']
    })
    for (const [i, r] of (await runAll(sb, calls)).entries()) assertUsageError(r, calls[i], 'unknown flag "--nmespace"; did you mean "--namespace"?')
    // Nothing close: where to look instead (the unit table checks this for every command).
    for (const id of ['namespaces:ls', 'tasks:kill', 'run', 'snapshots:prepare']) {
      const argv = [...words(id), '--bogus-flag']
      assertUsageError(sb.run(argv), argv, `unknown flag "--bogus-flag"; see "ctr ${words(id).join(' ')} --help"`)
    }
  })

  test('every command: --help, -h and help <command> print its usage, exit 0', async () => {
    const calls = IDS.map((id) => [...words(id), '--help'])
    // The other spellings, for a few commands (each help run loads oclif: about a quarter second).
    calls.push(['namespaces', 'ls', '-h'], ['help', 'tasks', 'kill'], ['tasks', 'help', 'kill'], ['-h', 'images', 'pull'], ['tasks', 'cleanup', '--help'])
    for (const [i, r] of (await runAll(sb, calls)).entries()) {
      const argv = calls[i]
      const id = i < IDS.length ? IDS[i] : undefined
      assert.equal(r.code, 0, `ctr ${argv.join(' ')}: ${r.stderr}`)
      assert.equal(r.stderr, '', argv.join(' '))
      if (id) assert.match(r.stdout, new RegExp(`USAGE\\n {2}\\$ ctr ${words(id).join(' ')}\\b`), argv.join(' '))
      else assert.match(r.stdout, /USAGE\n {2}\$ ctr /, argv.join(' '))
    }
  })

  test('every command that needs an argument: without it, one ctr: line and exit 2 (run: 125, its own failure status)', async () => {
    const needing = IDS.filter((id) => COMMAND_ARGS[id].args.length > 0)
    const calls = needing.map(words)
    for (const [i, r] of (await runAll(sb, calls)).entries()) {
      const argv = calls[i]
      if (needing[i] === 'run') {
        assert.equal(r.code, 125, r.stderr)
        assert.match(r.stderr, /^ctr: [^\n]+\n$/)
      } else assertUsageError(r, argv)
    }
  })

  test('every topic: alone it lists its commands (exit 0), as with --help and help; an unknown verb is exit 2', async () => {
    const calls: string[][] = []
    for (const topic of TOPICS) calls.push([topic], [topic, 'nosuchverb', 'x'])
    calls.push(['images', '--help'], ['tasks', 'help'], ['-n', 'foo', 'snapshots', '--snapshotter', 'native'])
    const results = await runAll(sb, calls)
    const listsVerbs = (r: CtrResult, topic: string) => {
      assert.equal(r.code, 0, `${topic}: ${r.stderr}`)
      for (const id of IDS.filter((i) => i.startsWith(`${topic}:`) && !COMMAND_TABLE.hidden?.has(i))) {
        assert.match(r.stdout, new RegExp(`\\b${words(id).join(' ')}\\b`), `${topic} lists ${id}`)
      }
    }
    TOPICS.forEach((topic, t) => {
      listsVerbs(results[t * 2], topic)
      assertUsageError(results[t * 2 + 1], [topic, 'nosuchverb'], `unknown command "${topic} nosuchverb"; see "ctr ${topic} --help"`)
    })
    const rest = results.slice(TOPICS.length * 2)
    listsVerbs(rest[0], 'images')
    listsVerbs(rest[1], 'tasks')
    listsVerbs(rest[2], 'snapshots')
  })

  test('every topic: a verb one letter off gets "did you mean"', async () => {
    const calls = TOPICS.map((topic) => {
      const verb = IDS.find((id) => id.startsWith(`${topic}:`) && !COMMAND_TABLE.hidden?.has(id))!.split(':')[1]
      return [topic, `${verb}x`]
    })
    for (const [i, r] of (await runAll(sb, calls)).entries()) {
      const [topic, typed] = calls[i]
      assertUsageError(r, calls[i], `unknown command "${topic} ${typed}"; did you mean "${topic} ${typed.slice(0, -1)}"?`)
    }
  })

  test('topic aliases resolve for errors and help alike', async () => {
    // (`event` is an alias of a command, not of a topic.)
    const calls = Object.keys(COMMAND_TABLE.topicAliases)
      .filter((alias) => TOPICS.includes(COMMAND_TABLE.topicAliases[alias]))
      .map((alias) => [alias, 'nosuchverb'])
    for (const [i, r] of (await runAll(sb, calls)).entries()) {
      const topic = COMMAND_TABLE.topicAliases[calls[i][0]]
      assertUsageError(r, calls[i], `unknown command "${topic} nosuchverb"; see "ctr ${topic} --help"`)
    }
  })
})
