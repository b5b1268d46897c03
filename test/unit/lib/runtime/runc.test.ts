// Validates generated specs with the real runtime: template → render → bundle → `runc run` of a static
// busybox. Needs root, runc (/usr/sbin/runc or $BERTH_RUNC) and /bin/busybox (Debian busybox-static);
// skipped with the reason when they are missing, except under CI, where missing prerequisites fail.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {
  TEMPLATE_FILE,
  generateSpec,
  readHostFacts,
  readTemplate,
  renderSpec,
  writeBundleSpec,
  writeTemplate,
  type SpecOptions,
} from '../../../../src/lib/runtime/index.js'

const RUNC = process.env['BERTH_RUNC'] ?? '/usr/sbin/runc'
const BUSYBOX = '/bin/busybox'
const CI = process.env['CI'] === 'true' || process.env['CI'] === '1'
const missing = [
  existsSync(RUNC) ? undefined : `runc (${RUNC})`,
  existsSync(BUSYBOX) ? undefined : `static busybox (${BUSYBOX})`,
  process.getuid?.() === 0 ? undefined : 'root',
].filter((m): m is string => m !== undefined)
const skip = missing.length > 0 && !CI ? `needs ${missing.join(', ')}` : false

const CGROUP_PARENT = `/berth-test-${process.pid}`
const NAMESPACE = 'spec-test'
let tmp = ''
let runcRoot = ''
let rootfs = ''
let hostDir = ''
let seq = 0

function setup(): void {
  assert.deepEqual(missing, [], `prerequisites missing: ${missing.join(', ')}`)
  tmp = mkdtempSync(join(tmpdir(), 'berth-runc-'))
  runcRoot = join(tmp, 'runc-root')
  rootfs = join(tmp, 'rootfs')
  hostDir = join(tmp, 'host')
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'home/app', 'work']) mkdirSync(join(rootfs, d), {recursive: true})
  copyFileSync(BUSYBOX, join(rootfs, 'bin/busybox'))
  chmodSync(join(rootfs, 'bin/busybox'), 0o755)
  for (const applet of ['sh', 'id', 'cat', 'echo', 'hostname', 'pwd', 'touch', 'grep', 'ls', 'head', 'cut', 'tr', 'wc', 'sleep', 'test'])
    symlinkSync('busybox', join(rootfs, 'bin', applet))
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n')
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\napp:x:1000:\nmedia:x:2000:app\n')
  mkdirSync(join(hostDir, 'data'), {recursive: true})
  writeFileSync(join(hostDir, 'data/hello'), 'hello from the host\n')
  // A stand-in for tini: checks the `--`, reports its PID and runs the command as its child.
  writeFileSync(join(hostDir, 'init.sh'), '#!/bin/sh\n[ "$1" = -- ] || exit 99\nshift\necho "init_pid=$$"\n"$@"\nexit $?\n')
  chmodSync(join(hostDir, 'init.sh'), 0o755)
}

function cleanup(): void {
  if (!tmp) return
  for (const controller of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    for (const dir of [join('/sys/fs/cgroup', controller, CGROUP_PARENT, NAMESPACE), join('/sys/fs/cgroup', controller, CGROUP_PARENT)]) {
      try {
        rmdirSync(dir)
      } catch {
        // not created in this hierarchy, or already gone
      }
    }
  }
  rmSync(tmp, {recursive: true, force: true})
}

const runc = (args: string[], stdio: 'pipe' | 'ignore' = 'pipe') =>
  spawnSync(RUNC, ['--root', runcRoot, ...args], {encoding: 'utf8', timeout: 30_000, stdio: ['ignore', stdio, stdio]})

/** Generate the spec, store it as a template, render it into a fresh bundle: the per-start flow. */
function bundleFor(options: Omit<SpecOptions, 'namespace' | 'id' | 'rootfs' | 'cgroupParent'>): {id: string; bundle: string} {
  const id = `c${++seq}`
  const spec = generateSpec({namespace: NAMESPACE, id, rootfs, cgroupParent: CGROUP_PARENT, ...options})
  const containerDir = join(tmp, `containers/${id}`)
  const bundle = join(tmp, `bundles/${id}`)
  mkdirSync(containerDir, {recursive: true})
  mkdirSync(bundle, {recursive: true})
  writeTemplate(containerDir, spec)
  assert.ok(existsSync(join(containerDir, TEMPLATE_FILE)))
  writeBundleSpec(bundle, renderSpec(readTemplate(containerDir), {rootfs}))
  return {id, bundle}
}

/** `runc run` a shell script; returns its `key=value` output lines as a map, plus the raw output. */
function run(script: string, options: Omit<SpecOptions, 'namespace' | 'id' | 'rootfs' | 'cgroupParent'> = {}) {
  const {id, bundle} = bundleFor({args: ['/bin/sh', '-c', script], ...options})
  try {
    const r = runc(['run', '--bundle', bundle, id])
    assert.equal(r.error, undefined, String(r.error))
    assert.equal(r.status, 0, `runc run exited ${r.status}: ${r.stderr}\n${r.stdout}`)
    const values = new Map<string, string>()
    for (const line of r.stdout.split('\n')) {
      const eq = line.indexOf('=')
      if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1))
    }
    return {values, stdout: r.stdout}
  } finally {
    runc(['delete', '--force', id], 'ignore')
  }
}

describe('generated specs run under runc', {skip}, () => {
  after(cleanup)

  test('setup', () => setup())

  test('defaults: root, containerd caps, no new privileges, nofile 1024, private netns, absolute cgroup', () => {
    const {values} = run(
      'echo "uid=$(id -u)"; echo "gid=$(id -g)"; echo "home=$HOME"; echo "path=$PATH"; echo "cwd=$(pwd)"; ' +
        'echo "capbnd=$(grep CapBnd /proc/self/status | cut -f2)"; echo "nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)"; ' +
        'echo "nofile=$(ulimit -n)"; echo "nets=$(ls /sys/class/net | tr "\\n" " ")"; ' +
        'echo "memcg=$( (grep :memory: /proc/self/cgroup || grep ^0:: /proc/self/cgroup) | head -n 1 | cut -d: -f3)"; echo "pid=$$"; ' +
        'echo "kcore=$(head -c 1 /proc/kcore | wc -c)"; echo "procsys=$(grep -c " /proc/sys proc ro," /proc/mounts)"',
    )
    assert.equal(values.get('uid'), '0')
    assert.equal(values.get('gid'), '0')
    assert.equal(values.get('home'), '/root', 'runc sets HOME from the container passwd')
    assert.equal(values.get('path'), '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
    assert.equal(values.get('cwd'), '/')
    assert.equal(values.get('capbnd'), '00000000a80425fb')
    assert.equal(values.get('nnp'), '1')
    assert.equal(values.get('nofile'), '1024')
    assert.equal(values.get('nets')?.trim(), 'lo')
    assert.equal(values.get('memcg'), `${CGROUP_PARENT}/${NAMESPACE}/c${seq}`)
    assert.equal(values.get('pid'), '1')
    assert.equal(values.get('kcore'), '0', '/proc/kcore is masked')
    assert.equal(values.get('procsys'), '1', '/proc/sys is read-only')
  })

  test('user from the rootfs passwd, env, cwd, hostname, tty-less, read-only root, bind mount, init', () => {
    const {values, stdout} = run(
      'echo "uid=$(id -u)"; echo "gid=$(id -g)"; echo "groups=$(id -G)"; echo "home=$HOME"; echo "cwd=$(pwd)"; ' +
        'echo "host=$(hostname)"; echo "greeting=$GREETING"; echo "data=$(cat /data/hello)"; ' +
        'touch /newfile 2>/dev/null && echo rootrw=yes || echo rootrw=no; ' +
        'touch /data/x 2>/dev/null && echo datarw=yes || echo datarw=no; echo "pid=$$"',
      {
        image: {config: {User: 'app', Env: ['PATH=/bin', 'GREETING=image'], WorkingDir: '/work'}},
        env: ['GREETING=flag'],
        hostname: 'spec-test-host',
        readOnly: true,
        mounts: [`type=bind,src=${join(hostDir, 'data')},dst=/data,options=ro`],
        init: {hostPath: join(hostDir, 'init.sh')},
      },
    )
    assert.equal(values.get('uid'), '1000', stdout)
    assert.equal(values.get('gid'), '1000')
    assert.deepEqual(values.get('groups')?.split(' ').sort(), ['1000', '2000'])
    assert.equal(values.get('home'), '/home/app')
    assert.equal(values.get('cwd'), '/work')
    assert.equal(values.get('host'), 'spec-test-host')
    assert.equal(values.get('greeting'), 'flag')
    assert.equal(values.get('data'), 'hello from the host')
    assert.equal(values.get('rootrw'), 'no')
    assert.equal(values.get('datarw'), 'no')
    assert.equal(values.get('init_pid'), '1', 'the init binary is PID 1')
    assert.notEqual(values.get('pid'), '1', 'the command runs under the init')
  })

  test('privileged: every capability this process has, /sys writable; net-host sees the host interfaces', () => {
    const hostCapEff = /^CapEff:\s*(\S+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]
    const {values} = run(
      'echo "capbnd=$(grep CapBnd /proc/self/status | cut -f2)"; echo "sysrw=$(grep -c " /sys sysfs rw," /proc/mounts)"; ' +
        'echo "nets=$(ls /sys/class/net | tr "\\n" " ")"; echo "hostname_env=$HOSTNAME"; test -c /dev/null && echo devnull=yes',
      {privileged: true, netHost: true},
    )
    assert.equal(values.get('capbnd'), hostCapEff)
    assert.equal(values.get('sysrw'), '1')
    assert.deepEqual(values.get('nets')?.trim().split(' ').sort(), readdirSync('/sys/class/net').sort())
    assert.equal(values.get('hostname_env'), readHostFacts().hostname)
    assert.equal(values.get('devnull'), 'yes')
  })

  test('memory and cpu limits land in the absolute cgroup', () => {
    const {id, bundle} = bundleFor({args: ['/bin/sh', '-c', 'sleep 30'], memoryLimit: 64 * 1024 * 1024, cpus: 0.5, cpuShares: 512})
    try {
      const created = runc(['create', '--bundle', bundle, id], 'ignore')
      assert.equal(created.status, 0, 'runc create')
      const dir = (controller: string) => join('/sys/fs/cgroup', controller, CGROUP_PARENT, NAMESPACE, id)
      const read = (path: string) => readFileSync(path, 'utf8').trim()
      if (existsSync('/sys/fs/cgroup/memory')) {
        // cgroup v1 (these machines: hybrid, no systemd)
        assert.equal(read(join(dir('memory'), 'memory.limit_in_bytes')), String(64 * 1024 * 1024))
        assert.equal(read(join(dir('cpu'), 'cpu.cfs_quota_us')), '50000')
        assert.equal(read(join(dir('cpu'), 'cpu.cfs_period_us')), '100000')
        assert.equal(read(join(dir('cpu'), 'cpu.shares')), '512')
      } else {
        assert.equal(read(join(dir(''), 'memory.max')), String(64 * 1024 * 1024))
        assert.equal(read(join(dir(''), 'cpu.max')), '50000 100000')
      }
    } finally {
      runc(['delete', '--force', id], 'ignore')
    }
  })
})
