// One bundle per command (dist/bundle/cmd-*.cjs), picked by bin/run.js from argv through
// dist/bundle/routes.txt: every spelling of every command routes to its own bundle, and a call
// gives the same output and exit code whether a command bundle or the full bundle runs it: right
// guesses, wrong guesses (handed over), help, usage errors and real work alike. A command bundle
// writes its V8 code cache on its first run, under a name that is no path of the machine,
// replaces a cache V8 rejects, and runs all the same where it cannot write one.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {COMMAND_TABLE} from '../../src/commands/table.js'
import {REPO_ROOT, RUN_JS, type Sandbox, sandbox} from '../helpers/cli.js'

const BUNDLES = join(REPO_ROOT, 'dist', 'bundle')

interface Routes {
  valueFlags: string[]
  routes: Record<string, string>
}

/** routes.txt: the value flags on the first line, then `words<TAB>bundle` lines. */
function readRoutes(dir = BUNDLES): Routes {
  const [flags, ...lines] = readFileSync(join(dir, 'routes.txt'), 'utf8').split('\n')
  assert.equal(lines.pop(), '', 'the file ends with a newline')
  const routes: Record<string, string> = {}
  for (const line of lines) {
    const [words, file, ...more] = line.split('\t')
    assert.deepEqual(more, [], line)
    assert.equal(routes[words], undefined, `${words} is listed once`)
    routes[words] = file
  }
  return {valueFlags: flags.split(' '), routes}
}

describe('command bundles', () => {
  let sb: Sandbox
  before(() => {
    sb = sandbox('berth-bundles-')
  })
  after(() => sb.cleanup())

  /** Run bin/run.js with node: routed, or (full) through the full bundle only. */
  const call = (args: readonly string[], full: boolean) => {
    const env = {...sb.env, ...(full ? {BERTH_FULL_BUNDLE: '1'} : {})}
    const r = spawnSync(process.execPath, [RUN_JS, ...args], {env, encoding: 'utf8', timeout: 60_000})
    // ctr's warnings carry the time: the only part allowed to differ
    return {code: r.status, stdout: r.stdout, stderr: r.stderr.replace(/^time="[^"]+"/gm, 'time="T"')}
  }

  test('routes.txt names a bundle for every spelling of every command, and each exists', () => {
    const {routes, valueFlags} = readRoutes()
    const files = new Set(readdirSync(BUNDLES))
    for (const id of COMMAND_TABLE.ids) {
      const [topic, verb] = id.split(':')
      const key = verb === undefined ? topic : `${topic} ${verb}`
      assert.equal(routes[key], `cmd-${id.replace(/:/g, '-')}.cjs`, key)
    }
    for (const [alias, topic] of Object.entries(COMMAND_TABLE.topicAliases)) {
      if (COMMAND_TABLE.ids.has(topic)) {
        assert.equal(routes[alias], routes[topic], alias)
        continue
      }
      const verbs = [...COMMAND_TABLE.ids].filter((id) => id.startsWith(`${topic}:`)).map((id) => id.slice(topic.length + 1))
      assert.ok(verbs.length > 0, topic)
      for (const verb of verbs) assert.equal(routes[`${alias} ${verb}`], routes[`${topic} ${verb}`], `${alias} ${verb}`)
    }
    assert.equal(routes['images list'], routes['images ls'])
    assert.equal(routes['i del'], routes['images rm'])
    for (const file of Object.values(routes)) assert.ok(files.has(file), `${file} is built`)
    assert.ok(valueFlags.includes('-n') && valueFlags.includes('--namespace') && valueFlags.includes('--snapshotter'))
  })

  test('every bundle is ASCII (bin/run.js reads them as Latin-1)', () => {
    for (const name of readdirSync(BUNDLES).filter((n) => n.endsWith('.cjs'))) {
      const bytes = readFileSync(join(BUNDLES, name))
      assert.equal(
        bytes.findIndex((b) => b > 0x7f),
        -1,
        name,
      )
    }
  })

  test('a call gives the same output and exit code through its command bundle as through the full bundle', () => {
    sb.ok(['namespaces', 'create', 'bundles-a'])
    sb.ok(['-n', 'bundles-a', 'namespaces', 'label', 'bundles-a', 'k=v'])
    const calls: string[][] = [
      ['version'],
      ['--version'],
      ['namespaces', 'ls'],
      ['ns', 'list', '-q'],
      ['-n', 'bundles-a', 'images', 'ls'],
      ['images', 'ls', '--namespace=bundles-a', '-q'],
      ['--debug', 'i', 'ls', 'name==x'],
      ['images', 'ls', '--format', 'json'],
      ['containers', 'ls'],
      ['tasks', 'ls'],
      ['snapshots', '--snapshotter', 'native', 'ls'],
      ['content', 'ls'],
      ['leases', 'ls'],
      ['images', 'rm', 'nosuch:image'],
      ['containers', 'info', 'nosuch'],
      ['tasks', 'kill', 'nosuch'],
      ['run', '--rm'],
      // wrong guesses: the command bundle hands over, the full bundle answers
      ['--bogus', 'images', 'ls'],
      ['images', 'ls', '--bogus'],
      ['-n'],
      ['images', 'lss'],
      ['imagess', 'ls'],
      ['namespaces', 'ls', '--help'],
      ['images', 'help', 'ls'],
      ['help', 'version'],
      ['version', 'extra'],
      ['--', 'version'],
    ]
    for (const args of calls) {
      const routed = call(args, false)
      const full = call(args, true)
      assert.deepEqual(routed, full, `ctr ${args.join(' ')}`)
    }
  })

  test('a command bundle writes its code cache on its first run, without a machine path in it, and replaces a rejected one', () => {
    // A private copy of the launcher and two bundles, so that the build's own dist/ stays untouched.
    const copy = join(sb.dir, 'install')
    mkdirSync(join(copy, 'bin'), {recursive: true})
    mkdirSync(join(copy, 'dist', 'bundle'), {recursive: true})
    copyFileSync(RUN_JS, join(copy, 'bin', 'run.js'))
    copyFileSync(join(REPO_ROOT, 'bin', 'package.json'), join(copy, 'bin', 'package.json'))
    for (const name of ['routes.txt', 'cmd-version.cjs', 'ctr.cjs']) copyFileSync(join(BUNDLES, name), join(copy, 'dist', 'bundle', name))
    const run = (args: string[]) => spawnSync(process.execPath, [join(copy, 'bin', 'run.js'), ...args], {env: sb.env, encoding: 'utf8'})
    const cache = join(copy, 'dist', 'bundle', 'cmd-version.cjs.cache')
    const expected = run(['version'])
    assert.equal(expected.status, 0, expected.stderr)
    assert.match(expected.stdout, /^Client:\n {2}Version: /)
    assert.ok(existsSync(cache), 'the first run wrote the cache')
    assert.ok(!readFileSync(cache).includes(copy), 'no path of this machine in the cache')
    assert.deepEqual(
      readdirSync(join(copy, 'dist', 'bundle')).filter((n) => n.endsWith('.tmp')),
      [],
      'no temporary file left',
    )
    const written = statSync(cache).mtimeMs

    assert.equal(run(['version']).stdout, expected.stdout)
    assert.equal(statSync(cache).mtimeMs, written, 'an accepted cache is not rewritten')

    writeFileSync(cache, 'not a V8 code cache')
    assert.equal(run(['version']).stdout, expected.stdout, 'a rejected cache only costs time')
    assert.ok(readFileSync(cache).length > 1000, 'and is replaced by a real one')
  })

  test('a command bundle runs where it cannot write its cache', () => {
    const copy = join(sb.dir, 'readonly')
    mkdirSync(join(copy, 'bin'), {recursive: true})
    mkdirSync(join(copy, 'dist', 'bundle'), {recursive: true})
    copyFileSync(RUN_JS, join(copy, 'bin', 'run.js'))
    copyFileSync(join(REPO_ROOT, 'bin', 'package.json'), join(copy, 'bin', 'package.json'))
    for (const name of ['routes.txt', 'cmd-version.cjs', 'ctr.cjs']) copyFileSync(join(BUNDLES, name), join(copy, 'dist', 'bundle', name))
    chmodSync(join(copy, 'dist', 'bundle'), 0o555)
    for (const d of [sb.dir, copy, join(copy, 'bin'), join(copy, 'dist')]) chmodSync(d, 0o755)
    // As nobody: root writes anywhere, whatever the mode.
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(copy, 'bin', 'run.js'), 'version'], {
      encoding: 'utf8',
    })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^Client:\n/)
    assert.equal(r.stderr, '')
    assert.ok(!existsSync(join(copy, 'dist', 'bundle', 'cmd-version.cjs.cache')))
  })
})
