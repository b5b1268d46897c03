// The CLI contract: global flags anywhere, aliases, env, errors, version, info, help.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {spawnSync} from 'node:child_process'
import {interpret} from '../../src/lib/config/index.js'
import {openStore} from '../../src/lib/store/index.js'
import {CTR_BIN, RUN_JS, type Sandbox, sandbox} from '../helpers/cli.js'

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
    for (const words of [
      ['namespaces', 'ls'],
      ['namespaces', 'list'],
      ['namespace', 'ls'],
      ['ns', 'list'],
    ]) {
      assert.match(sb.ok([...words, '-q']), /^aliased$/m, words.join(' '))
    }
    assert.equal(sb.run(['event', '--no-follow']).code, 0)
  })

  test('unknown commands and flags are usage errors (exit 2), one line on stderr', () => {
    const cmd = sb.run(['frobnicate'])
    assert.equal(cmd.code, 2)
    assert.equal(cmd.stderr, 'ctr: unknown command "frobnicate"; see "ctr --help"\n')
    const flag = sb.run(['ns', 'ls', '--bogus'])
    assert.equal(flag.code, 2)
    assert.equal(flag.stderr, 'ctr: unknown flag "--bogus"; see "ctr namespaces ls --help"\n')
    const opt = sb.run(['ns', 'ls', '--format', 'xml'])
    assert.equal(opt.code, 2)
    assert.equal(opt.stderr, 'ctr: invalid value "xml" for flag --format: must be one of table, json\n')
  })

  test("containerd's global flags: -a/--address and --connect-timeout are accepted anywhere and ignored (noted under --debug)", () => {
    sb.ok(['ns', 'create', 'addr'])
    for (const argv of [
      ['-a', '/run/k3s/containerd/containerd.sock', 'ns', 'ls', '-q'],
      ['--address=/x.sock', 'ns', 'ls', '-q'],
      ['ns', 'ls', '-q', '--address', '/x.sock'],
      ['ns', 'ls', '-q', '-a', '/x.sock'],
      ['--connect-timeout', '3s', 'ns', 'ls', '-q'],
      ['ns', '-a', '/x.sock', 'ls', '-q'],
    ]) {
      const r = sb.run(argv)
      assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`)
      assert.match(r.stdout, /^addr$/m)
      assert.equal(r.stderr, '')
    }
    assert.equal(sb.run(['ns', 'ls', '-q'], {env: {CONTAINERD_ADDRESS: '/run/containerd/containerd.sock'}}).code, 0)
    const debug = sb.run(['--debug', '-a', '/x.sock', '--connect-timeout=2s', 'ns', 'ls', '-q'])
    assert.equal(debug.code, 0)
    assert.equal(debug.stderr, 'ctr: note: ignored --address=/x.sock --connect-timeout=2s: there is no daemon, every ctr opens the store itself\n')
    // Before the command -a is the address; after it, a command's own -a wins (tasks kill --all).
    const kill = sb.run(['-a', '/x.sock', 'tasks', 'kill', '-a', 'nosuch'])
    assert.equal(kill.code, 3, kill.stderr)
    assert.match(kill.stderr, /^ctr: container "nosuch": not found/)
    const bad = sb.run(['--connect-timeout', 'soon', 'ns', 'ls'])
    assert.equal(bad.code, 2)
    assert.equal(bad.stderr, 'ctr: invalid value "soon" for flag --connect-timeout: time: invalid duration "soon"\n')
  })

  test('--timeout bounds the whole command: one ctr: line, exit 6 (unavailable), nothing else', async () => {
    const started = Date.now()
    const r = await sb.spawn(['--timeout', '700ms', 'events'])
    const took = Date.now() - started
    assert.equal(r.code, 6)
    assert.equal(r.stderr, 'ctr: timeout 700ms exceeded: context deadline exceeded\n')
    assert.equal(r.stdout, '')
    assert.ok(took >= 600 && took < 10_000, `took ${took} ms`)
    const after = await sb.spawn(['events', '--timeout=500ms'])
    assert.equal(after.code, 6, 'after the command too')
    const enough = sb.run(['--timeout', '1m30s', 'ns', 'ls', '-q'])
    assert.equal(enough.code, 0, enough.stderr)
    assert.equal(sb.run(['--timeout', '0', 'ns', 'ls', '-q']).code, 0, '0 means no bound')
    const bad = sb.run(['--timeout', '10', 'ns', 'ls'])
    assert.equal(bad.code, 2)
    assert.equal(bad.stderr, 'ctr: invalid value "10" for flag --timeout: time: missing unit in duration "10"\n')
  })

  test("boolean flags take ParseBool values, and flags parse after positional arguments (ctr 1.x's reordering)", () => {
    sb.ok(['ns', 'create', 'flags-a'])
    assert.match(sb.ok(['ns', 'ls', '--quiet=false']), /^NAME +LABELS +\n/)
    assert.match(sb.ok(['ns', 'ls', '--quiet=true']), /^flags-a$/m)
    assert.match(sb.ok(['ns', 'ls', '-q=1']), /^flags-a$/m)
    assert.match(sb.ok(['ns', 'ls', '--quiet=F']), /^NAME/)
    const bad = sb.run(['ns', 'ls', '--quiet=maybe'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^ctr: invalid value "maybe" for flag --quiet: must be a boolean/)
    // Flags after the positionals: ctr images rm X --sync, ctr ns create x --namespace y.
    const rm = sb.run(['images', 'rm', 'docker.io/library/nothing:1', '--sync'])
    assert.equal(rm.code, 0, rm.stderr)
    sb.ok(['ns', 'create', 'flags-b', 'team=x', '--debug=false'])
    assert.match(sb.ok(['ns', 'ls', 'name==flags-b', '-q']), /^flags-b\n$/)
    sb.ok(['ns', 'rm', 'flags-a', '--force=true'])
  })

  test('surplus arguments: ignored where ctr takes the first, refused where ctr counts them', () => {
    // ctr 1.x `tasks kill id1 id2` signals id1 and ignores id2: the same outcome as with id1 alone.
    const one = sb.run(['tasks', 'kill', 'nosuch'])
    const two = sb.run(['tasks', 'kill', 'nosuch', 'other'])
    assert.deepEqual([two.code, two.stderr], [one.code, one.stderr])
    assert.equal(sb.run(['tasks', 'ls', 'extra']).code, 0)
    const info = sb.run(['snapshots', 'info', 'a', 'b'])
    assert.equal(info.code, 2)
    assert.equal(info.stderr, 'ctr: unexpected argument: b\n')
    const version = sb.run(['version', 'a', 'b'])
    assert.equal(version.code, 2)
    assert.equal(version.stderr, 'ctr: extra arguments: [a b]\n')
    const snapshotsRm = sb.run(['snapshots', 'rm'])
    assert.equal(snapshotsRm.code, 2, 'nothing to remove is a usage error, not a silent success')
  })

  test('plugins ls: what Berth has, with statuses from checks on this host', () => {
    const s = sandbox()
    try {
      const table = s.ok(['plugins', 'ls']).split('\n')
      assert.match(table[0], /^TYPE {4,}ID {4,}PLATFORMS {4,}STATUS {4}$/)
      const rows = new Map(
        table
          .slice(1, -1)
          .map((l) => l.trim().split(/ +/))
          .map(([type, id, platforms, status]) => [`${type} ${id}`, {platforms, status}]),
      )
      for (const key of [
        'io.containerd.content.v1 content',
        'io.containerd.metadata.v1 sqlite',
        'io.containerd.gc.v1 scheduler',
        'io.containerd.event.v1 exchange',
      ]) {
        assert.deepEqual(rows.get(key), {platforms: '-', status: 'ok'}, key)
      }
      assert.match(rows.get('io.containerd.snapshotter.v1 native')!.platforms, /^linux\/\w+/)
      assert.equal(rows.get('io.containerd.snapshotter.v1 native')!.status, 'ok')
      // overlayfs: ok where an overlay mount works (root here), skip elsewhere; never a guess.
      assert.equal(rows.get('io.containerd.snapshotter.v1 overlayfs')!.status, process.getuid?.() === 0 ? 'ok' : 'skip')
      assert.equal(rows.get('io.containerd.runtime.v2 task')!.status, 'ok', 'runc is installed')
      assert.equal(s.ok(['plugin', 'list', '-q', 'type==io.containerd.snapshotter.v1']), 'native\noverlayfs\n')
      assert.match(s.ok(['plugins', 'ls', '-d', 'id==content']), /^Type: +io\.containerd\.content\.v1\nID: +content\nExports: *\n +root +\S+\/content\n$/)
      // No runc: the runtime is skipped, and -d says why.
      s.writeConfig('[runtime]\nrunc = "no-such-runc"\n')
      assert.match(s.ok(['plugins', 'ls', 'id==task']), /io\.containerd\.runtime\.v2 +task +linux\/\S+ +skip/)
      assert.match(s.ok(['plugins', 'ls', '-d', 'id==task']), /Message: +no-such-runc not found in PATH: skip plugin/)
      const json = JSON.parse(s.ok(['plugins', 'ls', '--format', 'json', 'id==task']))
      assert.equal(json[0].status, 'skip')
    } finally {
      s.cleanup()
    }
  })

  test('oci spec: the default runtime spec as JSON with 4-space indent', () => {
    const out = sb.ok(['oci', 'spec'])
    assert.match(out, /^\{\n {4}"ociVersion": "\d+\.\d+\.\d+",\n {4}"process": \{\n/)
    const spec = JSON.parse(out)
    assert.deepEqual(Object.keys(spec), ['ociVersion', 'process', 'root', 'mounts', 'linux'])
    assert.equal(spec.process.cwd, '/')
    assert.equal(spec.process.args, undefined)
    assert.ok(spec.process.capabilities.bounding.includes('CAP_CHOWN'))
    assert.equal(spec.root.path, 'rootfs')
    assert.ok(spec.mounts.some((m: {destination: string}) => m.destination === '/proc'))
    for (const key of ['namespaces', 'maskedPaths', 'readonlyPaths', 'resources', 'cgroupsPath']) assert.ok(key in spec.linux, key)
    assert.equal(JSON.parse(sb.ok(['-n', 'k8s.io', 'oci', 'spec'])).linux.cgroupsPath, '/berth/k8s.io')
    assert.equal(JSON.parse(sb.ok(['oci', 'spec', '--platform', 'linux/arm64'])).ociVersion, spec.ociVersion)
    const win = sb.run(['oci', 'spec', '--platform', 'windows/amd64'])
    assert.notEqual(win.code, 0)
    assert.match(win.stderr, /^ctr: platform "windows\/amd64": only linux specs are supported: not implemented\n$/)
  })

  test("snapshots prepare --mounts prints containerd's mount.Mount keys", () => {
    const out = sb.ok(['snapshots', 'prepare', '--mounts', 'mounts-json'])
    const mounts = JSON.parse(out)
    assert.ok(Array.isArray(mounts) && mounts.length > 0)
    for (const m of mounts) {
      assert.deepEqual(Object.keys(m), ['Type', 'Source', 'Target', 'Options'])
      assert.equal(m.Target, '')
      assert.ok(Array.isArray(m.Options))
    }
    assert.match(out, /^\[\n {4}\{\n {8}"Type": /)
    sb.ok(['snapshots', 'rm', 'mounts-json'])
  })

  test('--debug prints the cause chain', () => {
    sb.ok(['ns', 'create', 'dbg'])
    const r = sb.run(['--debug', 'ns', 'create', 'dbg'])
    assert.equal(r.code, 4)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines[0], 'ctr: namespace "dbg": already exists')
    assert.ok(lines.length >= 2, r.stderr)
    assert.match(lines[1], /AlreadyExists/)
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
    const version = sb.ok(['version'])
    assert.match(version, /^Client:\n {2}Version: {2}\d+\.\d+\.\d+\n {2}Revision: \S+\n {2}Node version: v\d+/)
    // -v / --version: ctr's one line, `ctr <package> <version>`, the same version.
    assert.equal(sb.ok(['--version']), `ctr berth ${/Version: {2}(\S+)/.exec(version)![1]}\n`)
    assert.equal(sb.ok(['-v']), sb.ok(['--version']))
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

  test('output into a full non-blocking pipe arrives whole and in order (EAGAIN falls back to the stream)', async () => {
    const {closeSync, constants, openSync, readSync} = await import('node:fs')
    const {spawn} = await import('node:child_process')
    const {join} = await import('node:path')
    const expected = sb.ok(['namespaces', 'ls']) // the 6000 namespaces of the test above: far more than a pipe holds
    assert.ok(expected.length > 200_000)
    const fifo = join(sb.dir, 'out.fifo')
    spawnSync('mkfifo', [fifo])
    const rfd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK)
    const wfd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
    const child = spawn(CTR_BIN, ['namespaces', 'ls'], {env: sb.env, stdio: ['ignore', wfd, 'pipe']})
    closeSync(wfd)
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    await new Promise((r) => setTimeout(r, 300)) // nobody reads: the pipe fills and ctr's write gets EAGAIN
    const chunks: Buffer[] = []
    const buf = Buffer.alloc(65536)
    for (;;) {
      let n: number
      try {
        n = readSync(rfd, buf)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err
        await new Promise((r) => setTimeout(r, 5))
        continue
      }
      if (n === 0) break // every writer closed: ctr is done
      chunks.push(Buffer.from(buf.subarray(0, n)))
    }
    closeSync(rfd)
    assert.equal(await exited, 0)
    assert.equal(stderr, '')
    assert.equal(Buffer.concat(chunks).toString(), expected)
  })

  test('started as installed, node does not load NODE_EXTRA_CA_CERTS at start-up', () => {
    // node reads that bundle before any script runs, and warns when it cannot: the warning shows whether it did.
    const env = {...sb.env, NODE_EXTRA_CA_CERTS: '/nonexistent/extra-ca.pem'}
    const viaNode = spawnSync(process.execPath, [RUN_JS, 'ns', 'ls', '-q'], {env, encoding: 'utf8'})
    assert.match(viaNode.stderr, /Ignoring extra certs from `\/nonexistent\/extra-ca\.pem`/)
    const installed = spawnSync(CTR_BIN, ['ns', 'ls', '-q'], {env, encoding: 'utf8'})
    assert.equal(installed.status, 0)
    assert.equal(installed.stderr, '')
  })
})
