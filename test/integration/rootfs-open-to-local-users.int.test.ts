// Regression test for "rootfs open to local users" (issue 11, the class of CVE-2021-41103): no user
// but root may reach, under Berth's root and state, a running container's files (its setuid
// binaries included), a snapshot's contents (active or committed), a spec (template or rendered),
// a log, conmon's sockets and exit files, or a content blob. Checked three ways: an unprivileged
// user (setpriv to nobody) tries to list, read and execute each path; a walk of both trees finds
// nothing that "other" could reach even were root and state traversable (0700 at the first level
// too); and an audit of every directory and file Berth itself makes finds no group or other bits
// beyond a short list, also when ctr ran with umask 000 or 077. A store an older Berth made (0711)
// is tightened when opened, and the container still honours setuid (no nosuid on its rootfs).
// Runs as root; skips elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {chmodSync, existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {join, relative} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {CTR_BIN, type Sandbox, sandbox} from '../helpers/cli.js'
import {BUSYBOX_PATH, busyboxImage} from '../helpers/oci-image.js'
import {cleanupSandbox, mountPoints, type RuntimeEnv, runtimeSkipReason, startRuntimeEnv, taskFiles, waitFor} from '../helpers/tasks.js'

const skip = runtimeSkipReason()

/** Run `argv` as nobody/nogroup with no supplementary groups (util-linux setpriv). */
function asNobody(argv: readonly string[]): {code: number | null; stdout: string; stderr: string} {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', ...argv], {encoding: 'utf8', cwd: '/', timeout: 30_000})
  return {code: r.status, stdout: r.stdout, stderr: r.stderr}
}

/** `path` exists (as root sees it), and nobody gets EACCES for `argv` on it. */
function assertDenied(path: string, argv: readonly string[]): void {
  assert.equal(existsSync(path), true, `${path} exists`)
  const r = asNobody(argv)
  assert.notEqual(r.code, 0, `nobody could run ${argv.join(' ')}:\n${r.stdout}`)
  assert.match(r.stderr, /Permission denied/, `${argv.join(' ')}: ${r.stderr}`)
}

/** List, stat and (for regular files) read `path` as nobody: all denied. */
function assertUnreachable(path: string): void {
  assertDenied(path, ['stat', path])
  if (statSync(path).isDirectory()) assertDenied(path, ['ls', path])
  else if (statSync(path).isFile()) assertDenied(path, ['cat', path])
}

/**
 * Executing `file` as nobody is denied (for a setuid file: that is the CVE). Through a shell:
 * setpriv's own exec of a path it was given reaches files nobody could (found by this test).
 */
function assertNoExec(file: string): void {
  assertDenied(file, ['sh', '-c', 'exec "$0" id', file])
}

/** The "other" permission bits of a mode, as ls shows them. */
const otherBits = (mode: number) => `${mode & 4 ? 'r' : '-'}${mode & 2 ? 'w' : '-'}${mode & 1 ? 'x' : '-'}`

/**
 * Paths under `top` that a user who is neither owner nor in the group can read, write or execute,
 * if `top` itself were traversable: a directory is entered only when it grants o+x. Symlinks are
 * skipped (reaching one grants nothing; its target is judged where it lives).
 */
function reachableByOthers(top: string): string[] {
  const found: string[] = []
  const visit = (path: string): void => {
    const st = lstatSync(path)
    if (st.isSymbolicLink()) return
    if (st.mode & 0o7) found.push(`${relative(top, path)} ${otherBits(st.mode)}`)
    if (st.isDirectory() && st.mode & 0o1) for (const name of readdirSync(path)) visit(join(path, name))
  }
  for (const name of readdirSync(top)) visit(join(top, name))
  return found.sort()
}

/**
 * Every entry under `top` as `<relative path> <mode in octal>`, except what lies inside a snapshot's
 * file tree or a mounted rootfs (the image's own modes). Those two are listed themselves.
 */
function berthEntries(top: string, sb: Sandbox): string[] {
  const mounts = new Set(mountPoints())
  const snapshotTree = /^snapshots\/[^/]+\/[^/]+\/fs$/
  const out: string[] = []
  const visit = (path: string): void => {
    const st = lstatSync(path)
    const rel = relative(top, path)
    out.push(`${rel} ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`)
    if (!st.isDirectory() || mounts.has(path) || (top === sb.root && snapshotTree.test(rel))) return
    for (const name of readdirSync(path)) visit(join(path, name))
  }
  for (const name of readdirSync(top)) visit(join(top, name))
  return out.sort()
}

/**
 * What may carry group or other bits, with why. The rest is 0700 or 0600, and all of it lies below
 * root and state, which are 0700 themselves.
 */
const ALLOWED_WIDER: readonly [RegExp, string][] = [
  [/^content\/blobs\/sha256\/[0-9a-f]{64} 0644$/, 'immutable blobs keep their ingest mode; content/ is 0700'],
  [/^snapshots\/[^/]+\/[a-z2-7]+\/fs 0[0-7]{3}$/, "a snapshot's fs is the container's / (0755, or its layer's); the snapshot directory above is 0700"],
  [/^tasks\/[^/]+\/[^/]+\/rootfs 0[0-7]{3}$/, "the mounted rootfs shows the image's /; the bundle above is 0700"],
  // conmon's and runc's own files, made with their modes (and the caller's umask), in directories
  // Berth made 0700: the bundle, an exec's directory, runc's root.
  [/^tasks\/[^/]+\/[^/]+\/(execs\/[^/]+\/)?(conmon\.pid|pid|ctl|winsz|attach|log|oom|exits\/[^/]+) 0[0-7]{3}$/, "conmon's files, in the 0700 bundle"],
  [/^runc\/[^/]+\/.+ 0[0-7]{3}$/, "runc's state, below runc/ (0700)"],
]

/** The group/other bits of an entry line are zero, or it is on the allow-list. */
function widerThanAllowed(lines: readonly string[]): string[] {
  return lines.filter((l) => (parseInt(l.slice(l.lastIndexOf(' ') + 1), 8) & 0o077) !== 0 && !ALLOWED_WIDER.some(([re]) => re.test(l)))
}

/** The upper, work and lower directories of a snapshot, from `ctr snapshots mounts`. */
function snapshotDirs(sb: Sandbox, key: string): {upper: string; work: string; lowers: string[]} {
  const line = sb.ok(['snapshots', 'mounts', '/mnt/unused', key]).trim()
  const opt = (name: string) => new RegExp(`${name}=([^,]+)`).exec(line)?.[1] ?? assert.fail(`no ${name} in ${line}`)
  return {upper: opt('upperdir'), work: opt('workdir'), lowers: opt('lowerdir').split(':')}
}

/** Run ctr with `umask`: what Berth makes must not depend on the caller's umask. */
function ctrUmask(sb: Sandbox, umask: string, args: readonly string[]): string {
  const r = spawnSync('sh', ['-c', `umask ${umask} && exec "$@"`, 'sh', CTR_BIN, ...args], {env: sb.env, encoding: 'utf8', timeout: 60_000})
  assert.equal(r.status, 0, `ctr ${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

describe('rootfs open to local users (issue 11, CVE-2021-41103 class)', {skip}, () => {
  let env: RuntimeEnv
  let sb: Sandbox
  let bb: string
  let id: string
  before(async () => {
    // A second layer with a setuid-root binary: what an attacker would run from the host.
    const image = await busyboxImage({extraLayers: [[{path: 'bin/suid-busybox', type: 'file', mode: 0o4755, content: readFileSync(BUSYBOX_PATH)}]]})
    env = await startRuntimeEnv({bb: image})
    sb = env.sb
    bb = env.ref('bb')
    // The sandbox stands in for /var/lib and /run: traversable by everyone, so only Berth's own
    // modes decide what nobody reaches.
    chmodSync(sb.dir, 0o755)
    id = env.id('c1')
    sb.ok(['run', '-d', bb, id, 'sh', '-c', 'echo started; exec sleep 600'])
    const log = join(taskFiles(sb, 'default', id).dir, 'log')
    await waitFor('the log line', () => existsSync(log) && readFileSync(log, 'utf8').includes('started'))
  })
  after(async () => {
    await env?.close()
  })

  test('a running container: its rootfs, setuid binaries, bundle, spec, log, sockets and runc state are root-only', () => {
    const f = taskFiles(sb, 'default', id)
    for (const dir of [join(f.rootfs, 'bin'), f.rootfs, f.dir, join(f.dir, 'exits'), f.runcState, join(sb.root, 'containers', 'default', id)])
      assertUnreachable(dir)
    for (const file of [join(f.rootfs, 'etc', 'passwd'), f.config, f.template, join(f.dir, 'log'), join(f.dir, 'conmon.pid'), join(f.dir, 'pid')])
      assertUnreachable(file)
    for (const name of ['attach', 'ctl']) if (existsSync(join(f.dir, name))) assertUnreachable(join(f.dir, name))
    assertNoExec(join(f.rootfs, 'bin', 'busybox'))
    assertNoExec(join(f.rootfs, 'bin', 'suid-busybox'))
    assertUnreachable(join(sb.root, 'meta.db'))
  })

  test('setuid binaries still work inside the container: the rootfs is not mounted nosuid', () => {
    const mode = sb.ok(['tasks', 'exec', '--exec-id', 'mode', id, 'stat', '-c', '%a', '/bin/suid-busybox']).trim()
    assert.equal(mode, '4755')
    const mountinfo = sb.ok(['tasks', 'exec', '--exec-id', 'mounts', id, 'cat', '/proc/self/mountinfo'])
    const rootLine = mountinfo.split('\n').find((l) => l.split(' ')[4] === '/') ?? assert.fail(mountinfo)
    assert.doesNotMatch(rootLine.split(' ')[5], /nosuid/, rootLine)
  })

  test('a prepared (active) snapshot: upper and work directories are root-only', () => {
    const chain = /^(sha256:[0-9a-f]{64}) .*Committed/m.exec(sb.ok(['snapshots', 'ls']))?.[1] ?? assert.fail('no committed snapshot')
    const key = `active-${env.id('snap')}`
    sb.ok(['snapshots', 'prepare', key, chain])
    const {upper, work} = snapshotDirs(sb, key)
    writeFileSync(join(upper, 'secret'), 'secret\n')
    assertUnreachable(upper)
    assertUnreachable(join(upper, 'secret'))
    assertUnreachable(work)
  })

  test('committed layers and the blobs they came from are root-only', () => {
    const {lowers} = snapshotDirs(sb, id)
    assert.equal(lowers.length, 2)
    for (const lower of lowers) assertUnreachable(lower)
    const busyboxLayer = lowers.find((l) => existsSync(join(l, 'etc', 'passwd'))) ?? assert.fail('no busybox layer')
    assertUnreachable(join(busyboxLayer, 'etc', 'passwd'))
    assertNoExec(join(busyboxLayer, 'bin', 'busybox'))
    const suidLayer = lowers.find((l) => existsSync(join(l, 'bin', 'suid-busybox'))) ?? assert.fail('no setuid layer')
    assertNoExec(join(suidLayer, 'bin', 'suid-busybox'))
    const blobs = join(sb.root, 'content', 'blobs', 'sha256')
    assertUnreachable(blobs)
    for (const hex of readdirSync(blobs)) assertUnreachable(join(blobs, hex))
  })

  test('nothing under root or state is reachable by others, even were the top directories traversable', () => {
    for (const top of [sb.root, sb.state]) {
      assert.equal(statSync(top).mode & 0o777, 0o700, `${top} is 0700`)
      assert.deepEqual(reachableByOthers(top), [], `reachable under ${top}`)
    }
  })

  test('every directory and file Berth makes is 0700/0600, but for the allowed few', () => {
    const lines = [...berthEntries(sb.root, sb), ...berthEntries(sb.state, sb)]
    assert.deepEqual(widerThanAllowed(lines), [])
  })

  test('a store made by an older Berth (0711 directories) is tightened when opened', () => {
    const old = sandbox('berth-perms-old-')
    try {
      chmodSync(old.dir, 0o755)
      old.ok(['namespaces', 'create', 'x'])
      const firstLevel = ['content', 'snapshots', 'containers', 'locks']
      for (const name of firstLevel) spawnSync('mkdir', ['-p', '-m', '0711', join(old.root, name)])
      for (const name of ['tasks', 'runc', 'locks']) spawnSync('mkdir', ['-p', '-m', '0711', join(old.state, name)])
      for (const dir of [old.root, old.state, ...firstLevel.map((n) => join(old.root, n)), ...['tasks', 'runc', 'locks'].map((n) => join(old.state, n))])
        chmodSync(dir, 0o711)
      old.ok(['namespaces', 'ls'])
      for (const top of [old.root, old.state]) {
        // State may stay 0711, as containerd's is (a container with a user namespace needs it
        // traversable): what counts is that nothing in it but `userns/` can be walked into.
        if (top === old.state) assert.ok([0o700, 0o711].includes(statSync(top).mode & 0o777), top)
        else assert.equal(statSync(top).mode & 0o777, 0o700, top)
        for (const name of readdirSync(top)) {
          const st = lstatSync(join(top, name))
          if (st.isDirectory()) assert.equal(st.mode & 0o777, 0o700, join(top, name))
        }
      }
    } finally {
      old.cleanup()
    }
  })

  test('with umask 000 (or 077), pull, run -d, exec -d and snapshots prepare make nothing wider (or narrower)', async () => {
    const sb0 = sandbox('berth-perms-umask-')
    try {
      chmodSync(sb0.dir, 0o755)
      ctrUmask(sb0, '000', ['images', 'pull', '-q', '--plain-http', bb])
      const wide = env.id('umask000')
      ctrUmask(sb0, '000', ['run', '-d', bb, wide, 'sleep', '600'])
      ctrUmask(sb0, '000', ['tasks', 'exec', '-d', '--exec-id', 'bg', wide, 'sleep', '600'])
      const chain = /^(sha256:[0-9a-f]{64}) .*Committed/m.exec(sb0.ok(['snapshots', 'ls']))?.[1] ?? assert.fail('no committed snapshot')
      ctrUmask(sb0, '000', ['snapshots', 'prepare', 'active-umask000', chain])
      // A narrow umask must not narrow what the container sees: its / keeps the image's 0755.
      const narrow = env.id('umask077')
      ctrUmask(sb0, '077', ['run', '-d', bb, narrow, 'sleep', '600'])
      for (const top of [sb0.root, sb0.state]) {
        assert.equal(statSync(top).mode & 0o777, 0o700, top)
        assert.deepEqual(reachableByOthers(top), [], `reachable under ${top}`)
      }
      assert.deepEqual(widerThanAllowed([...berthEntries(sb0.root, sb0), ...berthEntries(sb0.state, sb0)]), [])
      for (const id0 of [wide, narrow]) {
        assert.equal(sb0.ok(['tasks', 'exec', '--exec-id', 'root', id0, 'stat', '-c', '%a', '/']).trim(), '755', id0)
      }
    } finally {
      cleanupSandbox(sb0)
    }
  })
})
