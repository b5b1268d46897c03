// The CLI contract: global flags anywhere, aliases, env, errors, version, info, help.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {spawnSync} from 'node:child_process'
import {interpret} from '../../src/lib/config/index.js'
import {openStore} from '../../src/lib/store/index.js'
import {CTR_BIN, type Sandbox, sandbox} from '../helpers/cli.js'

describe('ctr CLI contract', () => {
  let sb: Sandbox
  before(() => (sb = sandbox()))
  after(() => sb.cleanup())

  test('global flags before or after the subcommand select the same store', () => {
    const other = sandbox()
    try {
      sb.ok(['--root', other.root, '--state', other.state, 'ns', 'create', 'before'])
      sb.ok(['ns', 'create', 'after', '--root', other.root, '--state', other.state])
      sb.ok(['ns', 'create', `--root=${other.root}`, `--state=${other.state}`, 'equals'])
      assert.equal(other.ok(['ns', 'ls', '-q']), 'after\nbefore\nequals\n')
      assert.equal(sb.ok(['ns', 'ls', '-q']), '')
    } finally {
      other.cleanup()
    }
  })

  test('-n before the subcommand, after it, and from CONTAINERD_NAMESPACE', () => {
    // `namespaces` commands name their target explicitly; `-n` is still accepted everywhere.
    sb.ok(['-n', 'foo', 'namespaces', 'ls'])
    sb.ok(['namespaces', 'ls', '-n', 'foo'])
    sb.ok(['--namespace=foo', 'ns', 'ls'])
    const bad = sb.run(['-n', 'bad name', 'events', '--no-follow'])
    assert.equal(bad.code, 0, 'events do not need a namespace')
    assert.equal(sb.run(['ns', 'ls'], {env: {CONTAINERD_NAMESPACE: 'bar'}}).code, 0)
  })

  test('topic and verb aliases', () => {
    sb.ok(['namespace', 'c', 'aliased'])
    for (const words of [['namespaces', 'ls'], ['namespaces', 'list'], ['namespace', 'ls'], ['ns', 'list']]) {
      assert.match(sb.ok([...words, '-q']), /^aliased$/m, words.join(' '))
    }
    assert.equal(sb.run(['event', '--no-follow']).code, 0)
  })

  test('unknown commands and flags are usage errors (exit 2), one line on stderr', () => {
    const cmd = sb.run(['frobnicate'])
    assert.equal(cmd.code, 2)
    assert.equal(cmd.stderr.split('\n').length, 2)
    assert.match(cmd.stderr, /^ctr: unknown command "frobnicate"/)
    const flag = sb.run(['ns', 'ls', '--bogus'])
    assert.equal(flag.code, 2)
    assert.equal(flag.stderr, 'ctr: unknown flag: --bogus\n')
    const opt = sb.run(['ns', 'ls', '--format', 'xml'])
    assert.equal(opt.code, 2)
    assert.match(opt.stderr, /^ctr: expected --format=xml to be one of: table, json\n$/)
  })

  test('--debug prints the cause chain', () => {
    sb.ok(['ns', 'create', 'dbg'])
    const r = sb.run(['--debug', 'ns', 'create', 'dbg'])
    assert.equal(r.code, 4)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines[0], 'ctr: namespace "dbg": already exists')
    assert.ok(lines.length >= 2, r.stderr)
    assert.match(lines[1]!, /AlreadyExists/)
  })

  test('a root below a read-only place is a permission error (exit 7)', () => {
    // sysfs refuses new directories (EPERM), even to root.
    const r = sb.run(['--root', '/sys/berth-nope/root', 'ns', 'ls'])
    assert.equal(r.code, 7)
    assert.match(r.stderr, /^ctr: cannot create directory "\/sys\/berth-nope\/root": EPERM/)
  })

  test('a root where mkdir answers ENOENT fails at once with one line, never a stack', () => {
    const r = sb.run(['--root', '/proc/berth-nope/x', 'ns', 'ls'])
    assert.notEqual(r.code, 0)
    assert.equal(r.stderr.trim().split('\n').length, 1)
    assert.match(r.stderr, /^ctr: cannot create directory/)
  })

  test('version and info', () => {
    assert.match(sb.ok(['version']), /^Client:\n {2}Version: {2}\d+\.\d+\.\d+\n {2}Revision: \S+\n {2}Node version: v\d+/)
    const info = JSON.parse(sb.ok(['info']))
    assert.equal(info.root, sb.root)
    assert.equal(info.state, sb.state)
    assert.equal(info.contentSharingPolicy, 'shared')
    assert.equal(info.schemaVersion, info.supportedSchemaVersion)
    assert.equal(typeof info.counts.namespaces, 'number')
  })

  test('info reflects the config file, and a broken config is a clear error', () => {
    const s = sandbox()
    try {
      s.writeConfig('content_sharing_policy = "isolated"\n')
      assert.equal(JSON.parse(s.ok(['info'])).contentSharingPolicy, 'isolated')
      s.writeConfig('content_sharing_policy = 3\n')
      const r = s.run(['info'])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /^ctr: config file .*content_sharing_policy: must be a non-empty string: invalid argument\n$/)
      const missing = s.run(['info', '--berth-config', `${s.dir}/nope.toml`])
      assert.equal(missing.code, 3)
      const before = s.run(['--berth-config', `${s.dir}/nope.toml`, 'info'])
      assert.equal(before.code, 3, 'hoisted from before the subcommand')
      // --config is ctr's OCI spec file of run and containers create, not a global flag.
      assert.equal(s.run(['info', '--config', `${s.dir}/nope.toml`]).code, 2)
    } finally {
      s.cleanup()
    }
  })

  test('help goes through oclif and lists topics and commands', () => {
    const top = sb.run(['--help'])
    assert.equal(top.code, 0)
    assert.match(top.stdout, /namespaces/)
    assert.match(top.stdout, /events/)
    const ls = sb.run(['ns', 'ls', '--help'])
    assert.equal(ls.code, 0)
    assert.match(ls.stdout, /USAGE\n {2}\$ ctr namespaces ls/)
    assert.match(ls.stdout, /--format/)
    const topic = sb.run(['ns'])
    assert.equal(topic.code, 0)
    assert.match(topic.stdout, /namespaces create/)
  })

  test('berth and ctr are the same program', async () => {
    const {readFileSync} = await import('node:fs')
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'))
    assert.equal(pkg.bin.ctr, pkg.bin.berth)
  })

  test('a reader that goes away (| head) ends the command quietly, with status 0', async () => {
    const store = await openStore({root: sb.root, state: sb.state, config: {source: undefined, ...interpret({})}})
    store.db.transaction(() => {
      for (let i = 0; i < 6000; i++) store.namespaces.create(`pipe-${i}`, {'a-label': 'with a value long enough to fill the pipe'})
    })()
    store.close()
    // Far more than a pipe holds: ctr is still writing when head exits.
    const r = spawnSync('bash', ['-c', `'${CTR_BIN}' namespaces ls | head -c 100 >/dev/null; echo "ctr=\${PIPESTATUS[0]}"`], {env: sb.env, encoding: 'utf8'})
    assert.equal(r.stdout, 'ctr=0\n')
    assert.equal(r.stderr, '')
  })

  test('started as installed, node does not load NODE_EXTRA_CA_CERTS at start-up', () => {
    // node reads that bundle before any script runs, and warns when it cannot: the warning shows whether it did.
    const env = {...sb.env, NODE_EXTRA_CA_CERTS: '/nonexistent/extra-ca.pem'}
    const viaNode = spawnSync(process.execPath, [CTR_BIN, 'ns', 'ls', '-q'], {env, encoding: 'utf8'})
    assert.match(viaNode.stderr, /Ignoring extra certs from `\/nonexistent\/extra-ca\.pem`/)
    const installed = spawnSync(CTR_BIN, ['ns', 'ls', '-q'], {env, encoding: 'utf8'})
    assert.equal(installed.status, 0)
    assert.equal(installed.stderr, '')
  })
})
