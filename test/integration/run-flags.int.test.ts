// ctr run / containers create flags end to end with real runc and conmon: --config spec files,
// --rootfs, --runtime (runc names, a runc wrapper by absolute path, shim names refused with
// containerd's words), --runc-root, --with-ns, --device, CFS and cpuset limits in the cgroup,
// --seccomp, --no-pivot, --read-only, --uidmap/--gidmap, --rlimit-nofile, --log-uri, --dump-config,
// and the flags Berth refuses with a reason. Runs as root; skips elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import type {Sandbox} from '../helpers/cli.js'
import {BUSYBOX_APPLETS, busyboxImage} from '../helpers/oci-image.js'
import {hostDir, type RuntimeEnv, runtimeSkipReason, startRuntimeEnv, taskList, waitFor} from '../helpers/tasks.js'

const skip = runtimeSkipReason()

/** The one-line error of a failed command. */
const errorLine = (stderr: string) => stderr.trim().split('\n').filter(Boolean).at(-1) ?? ''

describe('ctr run / containers create flags', {skip}, () => {
  let env: RuntimeEnv
  let sb: Sandbox
  let bb: string
  /** A busybox root file system in a host directory, for --rootfs and --config. */
  let rootfs: string
  /** A runc wrapper that logs each call's arguments, one line per call. */
  let wrapper: string
  let wrapperLog: string

  before(async () => {
    env = await startRuntimeEnv({bb: await busyboxImage()})
    sb = env.sb
    bb = env.ref('bb')
    rootfs = join(sb.dir, 'rootfs')
    for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(rootfs, d), {recursive: true})
    chmodSync(sb.dir, 0o711) // a user-namespaced container's root must reach its bundle
    copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'))
    chmodSync(join(rootfs, 'bin/busybox'), 0o755)
    for (const a of BUSYBOX_APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a))
    writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
    writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n')
    wrapperLog = join(sb.dir, 'wrapper.log')
    wrapper = join(sb.dir, 'runc-wrapper')
    writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${wrapperLog}'\nexec runc "$@"\n`)
    chmodSync(wrapper, 0o755)
  })
  after(async () => {
    await env?.close()
  })

  const containers = () => sb.ok(['containers', 'ls', '-q']).split('\n').filter(Boolean)
  /** The stored spec of a container. */
  const specOf = (id: string) => JSON.parse(sb.ok(['containers', 'info', '--spec', id])) as {linux: {cgroupsPath: string}; annotations?: Record<string, string>}
  /** A detached task's pid. */
  const pidOf = (id: string) => taskList(sb).get(id)!.pid
  const cgroupFile = (controller: string, id: string, file: string) =>
    readFileSync(join('/sys/fs/cgroup', controller, specOf(id).linux.cgroupsPath, file), 'utf8').trim()

  describe('--config: an OCI spec file, used as is', () => {
    let specFile: string
    before(() => {
      // A spec made by Berth for --rootfs (--dump-config), then edited as a user would.
      const dumped = join(sb.dir, 'dumped.json')
      sb.ok(['run', '--rm', '--rootfs', '--dump-config', dumped, rootfs, env.id('dump'), 'true'])
      const spec = JSON.parse(readFileSync(dumped, 'utf8'))
      spec.process.args = ['sh', '-c', 'echo from-spec-file $SPEC_VAR']
      spec.process.env.push('SPEC_VAR=yes')
      delete spec.linux.cgroupsPath
      specFile = join(sb.dir, 'spec.json')
      writeFileSync(specFile, JSON.stringify(spec))
    })

    test('run --rm --config FILE ID runs the spec: its root.path, its process', () => {
      const id = env.id('cfg-run')
      const r = sb.run(['run', '--rm', '--config', specFile, id])
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'from-spec-file yes\n', ''])
      assert.equal(containers().includes(id), false)
    })

    test('containers create -c FILE ID records it without image or snapshot; tasks start runs it', () => {
      const id = env.id('cfg-create')
      sb.ok(['containers', 'create', '-c', specFile, '--label', 'team=a', id])
      const info = JSON.parse(sb.ok(['containers', 'info', id]))
      assert.deepEqual([info.Image, info.SnapshotKey, info.Snapshotter, info.Labels], ['', '', '', {team: 'a'}])
      assert.equal(info.Spec.root.path, rootfs)
      assert.deepEqual(info.Spec.annotations, {team: 'a'}, '--label also becomes an annotation, as in ctr')
      assert.match(sb.ok(['containers', 'ls']), new RegExp(`^${id} +- +io\\.containerd\\.runc\\.v2`, 'm'))
      const r = sb.run(['tasks', 'start', id])
      assert.deepEqual([r.code, r.stdout], [0, 'from-spec-file yes\n'])
      sb.ok(['containers', 'rm', id])
    })

    test("ctr's errors: only the ID; no spec-shaping flag; a relative root.path or a missing file", () => {
      const extra = sb.run(['run', '--rm', '--config', specFile, env.id('cfg-x'), 'sh'])
      assert.deepEqual([extra.code, errorLine(extra.stderr)], [125, 'ctr: with spec config file, only container id should be provided: invalid argument'])
      const created = sb.run(['containers', 'create', '--config', specFile, env.id('cfg-x'), 'sh'])
      assert.deepEqual([created.code, errorLine(created.stderr)], [2, 'ctr: with spec config file, only container id should be provided: invalid argument'])
      const env_ = sb.run(['run', '--rm', '--config', specFile, '--env', 'A=1', env.id('cfg-x')])
      assert.equal(errorLine(env_.stderr), 'ctr: --env cannot be used with --config: the spec file is used as is')
      const rel = join(sb.dir, 'relative.json')
      writeFileSync(rel, JSON.stringify({...JSON.parse(readFileSync(specFile, 'utf8')), root: {path: 'rootfs'}}))
      assert.match(
        errorLine(sb.run(['containers', 'create', '--config', rel, env.id('cfg-x')]).stderr),
        /root\.path must be the absolute path of the root file system/,
      )
      const missing = sb.run(['containers', 'create', '--config', join(sb.dir, 'nope.json'), env.id('cfg-x')])
      assert.deepEqual(
        [missing.code, errorLine(missing.stderr)],
        [3, `ctr: cannot load spec config file: open ${join(sb.dir, 'nope.json')}: no such file or directory`],
      )
      assert.equal(containers().includes(env.id('cfg-x')), false)
    })
  })

  describe('--rootfs: a host directory, no image', () => {
    test('run --rm --rootfs DIR ID CMD', () => {
      const id = env.id('rootfs')
      const r = sb.run(['run', '--rm', '--rootfs', rootfs, id, 'sh', '-c', 'cat /etc/passwd; id -u'])
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, 'root:x:0:0:root:/root:/bin/sh\n0\n', ''])
    })
    test('the container records no image and no snapshot; the directory is its root', () => {
      const id = env.id('rootfs-c')
      sb.ok(['containers', 'create', '--rootfs', rootfs, id, 'touch', '/made-by-container'])
      assert.doesNotMatch(sb.ok(['snapshots', 'ls']), new RegExp(`^${id} `, 'm'))
      sb.ok(['tasks', 'start', id])
      assert.ok(existsSync(join(rootfs, 'made-by-container')), 'written straight into the host directory')
      sb.ok(['containers', 'rm', id])
      assert.ok(existsSync(join(rootfs, 'bin/busybox')), 'containers rm leaves the directory alone')
    })
    test('a missing directory, or an image flag', () => {
      const r = sb.run(['run', '--rm', '--rootfs', join(sb.dir, 'nope'), env.id('rootfs-x'), 'true'])
      assert.deepEqual([r.code, errorLine(r.stderr)], [125, `ctr: rootfs ${JSON.stringify(join(sb.dir, 'nope'))}: no such directory`])
      assert.match(
        errorLine(sb.run(['run', '--rm', '--rootfs', '--platform', 'linux/amd64', rootfs, env.id('rootfs-x'), 'true']).stderr),
        /--platform cannot be used with --rootfs/,
      )
    })
  })

  describe('--runtime', () => {
    test("containerd 1.6/1.7's runc names all run runc", () => {
      for (const name of ['io.containerd.runc.v2', 'io.containerd.runc.v1', 'io.containerd.runtime.v1.linux']) {
        const r = sb.run(['run', '--rm', '--runtime', name, bb, env.id(`rt-${name.split('.').slice(2).join('')}`), 'echo', 'ok'])
        assert.deepEqual([r.code, r.stdout], [0, 'ok\n'], `${name}: ${r.stderr}`)
      }
    })

    test('an absolute path: that runc-compatible binary runs the task (foreground, detached, exec, kill, delete), recorded on the container', async () => {
      writeFileSync(wrapperLog, '')
      const fg = sb.run(['run', '--rm', '--runtime', wrapper, bb, env.id('wrap-fg'), 'echo', 'wrapped'])
      assert.deepEqual([fg.code, fg.stdout], [0, 'wrapped\n'], fg.stderr)
      assert.match(
        readFileSync(wrapperLog, 'utf8'),
        new RegExp(`--root \\S+ --log \\S+ --log-format json run --bundle \\S+ --pid-file \\S+ ${env.id('wrap-fg')}$`, 'm'),
      )

      const id = env.id('wrap-d')
      sb.ok(['run', '-d', '--runtime', wrapper, bb, id, 'sleep', '100'])
      assert.match(sb.ok(['containers', 'ls']), new RegExp(`^${id} +\\S+ +${wrapper.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s*$`, 'm'))
      assert.equal(sb.run(['tasks', 'exec', '--exec-id', 'e1', id, 'echo', 'in']).stdout, 'in\n')
      sb.ok(['tasks', 'kill', '-s', 'SIGKILL', '--all', id])
      await waitFor('the task to stop', () => taskList(sb).get(id)?.status === 'STOPPED')
      sb.ok(['tasks', 'rm', id])
      sb.ok(['containers', 'rm', id])
      const calls = readFileSync(wrapperLog, 'utf8')
      for (const verb of ['create', 'start', 'exec', 'kill', 'delete'])
        assert.match(calls, new RegExp(` ${verb} .*${id}( \\d+)?$`, 'm'), `runc ${verb} went through the wrapper`)
    })

    test("a shim runtime (kata): run exits 125 with containerd's words; --rm leaves no container, without --rm it stays (as ctr)", () => {
      const message =
        'ctr: failed to start shim: failed to resolve runtime path: runtime "io.containerd.kata.v2" binary not installed ' +
        '"containerd-shim-kata-v2": file does not exist: unknown'
      const gone = env.id('kata-rm')
      const r = sb.run(['run', '--rm', '--runtime', 'io.containerd.kata.v2', bb, gone, 'true'])
      assert.deepEqual([r.code, r.stdout, r.stderr], [125, '', `${message}\n`])
      assert.equal(containers().includes(gone), false)
      assert.doesNotMatch(sb.ok(['snapshots', 'ls']), new RegExp(`^${gone} `, 'm'))

      const kept = env.id('kata-keep')
      assert.equal(sb.run(['run', '--runtime', 'io.containerd.kata.v2', bb, kept, 'true']).code, 125)
      assert.equal(containers().includes(kept), true)
      assert.equal(sb.ok(['tasks', 'ls', '-q']).includes(kept), false, 'no task was recorded')
      const start = sb.run(['tasks', 'start', kept])
      assert.deepEqual([start.code, start.stderr], [5, `${message}\n`])
      sb.ok(['containers', 'rm', kept])
    })

    test('containers create records any runtime; the start fails (io.containerd.runsc.v1, a relative path, a missing file)', () => {
      const cases: Array<[string, string]> = [
        ['io.containerd.runsc.v1', 'runtime "io.containerd.runsc.v1" binary not installed "containerd-shim-runsc-v1": file does not exist'],
        ['bin/runc', 'invalid runtime name bin/runc, correct runtime name should be either format like `io.containerd.runc.v1` or a full path to the binary'],
        ['/no/such/runc', 'invalid custom binary path: stat /no/such/runc: no such file or directory'],
      ]
      for (const [i, [name, why]] of cases.entries()) {
        const id = env.id(`rt-bad${i}`)
        sb.ok(['containers', 'create', '--runtime', name, bb, id, 'true'])
        assert.equal(JSON.parse(sb.ok(['containers', 'info', id])).Runtime.Name, name)
        const r = sb.run(['tasks', 'start', id])
        assert.deepEqual([r.code, r.stderr], [5, `ctr: failed to start shim: failed to resolve runtime path: ${why}: unknown\n`])
        sb.ok(['containers', 'rm', id])
      }
    })

    test('--runc-binary and --runc-root are recorded and used; --runc-binary with another runtime is refused', async () => {
      writeFileSync(wrapperLog, '')
      const runcRoot = join(sb.dir, 'runc-root')
      const id = env.id('runc-opts')
      sb.ok(['run', '-d', '--runc-binary', wrapper, '--runc-root', runcRoot, bb, id, 'sleep', '100'])
      assert.deepEqual(JSON.parse(sb.ok(['containers', 'info', id])).Runtime, {Name: 'io.containerd.runc.v2', Options: {binary_name: wrapper, root: runcRoot}})
      assert.ok(existsSync(join(runcRoot, 'default', id, 'state.json')), "runc's state is under --runc-root/<namespace>")
      assert.match(readFileSync(wrapperLog, 'utf8'), new RegExp(`--root ${runcRoot}/default create `))
      assert.match(sb.ok(['tasks', 'ps', id]), /^PID +INFO\n\d+ +-/)
      sb.ok(['tasks', 'rm', '-f', id])
      assert.equal(existsSync(join(runcRoot, 'default', id)), false)
      sb.ok(['containers', 'rm', id])
      const r = sb.run(['run', '--rm', '--runtime', 'io.containerd.runc.v1', '--runc-binary', wrapper, bb, env.id('runc-x'), 'true'])
      assert.deepEqual(
        [r.code, errorLine(r.stderr)],
        [125, 'ctr: specifying runc-binary and runc-systemd-cgroup is only supported for "io.containerd.runc.v2" runtime'],
      )
    })

    test("--runc-systemd-cgroup: ctr's error without --cgroup, refused on a host without systemd", () => {
      const no = sb.run(['containers', 'create', '--runc-systemd-cgroup', bb, env.id('sd'), 'true'])
      assert.deepEqual([no.code, errorLine(no.stderr)], [2, 'ctr: option --runc-systemd-cgroup requires --cgroup to be set, e.g. "machine.slice:foo:deadbeef"'])
      if (!existsSync('/run/systemd/system')) {
        const r = sb.run(['containers', 'create', '--runc-systemd-cgroup', '--cgroup', '/x/y', bb, env.id('sd'), 'true'])
        assert.equal(r.code, 5)
        assert.match(errorLine(r.stderr), /this host does not run systemd/)
      }
    })
  })

  describe('namespaces and devices', () => {
    test('--with-ns network:PATH joins a pinned network namespace (its veth, its inode)', (t) => {
      const name = `berth-${env.id('ns')}`
      const veth = `bv${env.id('x').slice(-6)}`
      assert.equal(spawnSync('ip', ['netns', 'add', name]).status, 0)
      t.after(() => {
        spawnSync('ip', ['link', 'del', veth])
        spawnSync('ip', ['netns', 'del', name])
      })
      assert.equal(spawnSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'inside0', 'netns', name]).status, 0)
      const pin = `/run/netns/${name}`
      const r = sb.run(['run', '--rm', '--with-ns', `network:${pin}`, bb, env.id('with-ns'), 'sh', '-c', 'ip -o link; stat -L -c %i /proc/self/ns/net'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /: inside0@/)
      assert.equal(r.stdout.trim().split('\n').at(-1), String(statSync(pin).ino))
      const plain = sb.run(['run', '--rm', bb, env.id('no-ns'), 'ip', '-o', 'link'])
      assert.doesNotMatch(plain.stdout, /inside0/)
      const bad = sb.run(['run', '--rm', '--with-ns', pin, bb, env.id('ns-x'), 'true'])
      assert.deepEqual([bad.code, errorLine(bad.stderr)], [125, "ctr: joining a Linux namespace using --with-ns requires the format 'nstype:path'"])
    })

    test('--device PATH: the node is created at that path and allowed in the device cgroup', async () => {
      const dir = hostDir(sb, 'dev')
      const node = join(dir, 'mynull')
      const other = join(dir, 'mytun')
      assert.equal(spawnSync('mknod', [node, 'c', '1', '3']).status, 0)
      assert.equal(spawnSync('mknod', [other, 'c', '10', '200']).status, 0)
      const r = sb.run(['run', '--rm', '--device', node, bb, env.id('dev'), 'sh', '-c', `stat -c '%F %t:%T' ${node} && echo x > ${node} && echo wrote`])
      assert.deepEqual([r.code, r.stdout], [0, 'character special file 1:3\nwrote\n'], r.stderr)
      const id = env.id('dev-cg')
      sb.ok(['run', '-d', '--device', other, bb, id, 'sleep', '100'])
      assert.match(cgroupFile('devices', id, 'devices.list'), /^c 10:200 rwm$/m)
      sb.ok(['tasks', 'rm', '-f', id])
      sb.ok(['containers', 'rm', id])
      const missing = sb.run(['run', '--rm', '--device', join(dir, 'none'), bb, env.id('dev-x'), 'true'])
      assert.deepEqual([missing.code, errorLine(missing.stderr)], [125, `ctr: error stating device path: stat ${join(dir, 'none')}: no such file or directory`])
      const cdi = sb.run(['containers', 'create', '--device', 'nvidia.com/gpu=all', bb, env.id('dev-x'), 'true'])
      assert.equal(cdi.code, 2)
      assert.match(errorLine(cdi.stderr), /CDI devices are not supported/)
    })

    test('--uidmap/--gidmap: root in the container is the mapped host uid, and owns the image files', async () => {
      const id = env.id('userns')
      sb.ok(['run', '-d', '--uidmap', '0:200000:65536', '--gidmap', '0:200000:65536', bb, id, 'sleep', '100'])
      const status = readFileSync(`/proc/${pidOf(id)}/status`, 'utf8')
      assert.match(status, /^Uid:\t200000\t200000\t200000\t200000$/m)
      const inside = sb.run(['tasks', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'id -u; cat /proc/self/uid_map; stat -c %u:%g /bin/busybox /home/app'])
      assert.equal(inside.code, 0, inside.stderr)
      assert.match(inside.stdout, /^0\n\s+0\s+200000\s+65536\n0:0\n1000:1000\n$/)
      // A second container with the same mapping shares the remapped copy of the image.
      const second = env.id('userns-2')
      sb.ok(['containers', 'create', '--uidmap', '0:200000:65536', '--gidmap', '0:200000:65536', bb, second, 'true'])
      const remapped = () =>
        sb
          .ok(['snapshots', 'ls'])
          .split('\n')
          .filter((l) => /^sha256:[0-9a-f]{64}-200000-200000 /.test(l))
      assert.equal(remapped().length, 1, sb.ok(['snapshots', 'ls']))
      assert.match(remapped()[0], /Committed\s*$/)
      const key = remapped()[0].split(/\s+/)[0]
      for (const c of [id, second]) assert.equal(JSON.parse(sb.ok(['snapshots', 'info', c])).Parent, key)
      sb.ok(['tasks', 'rm', '-f', id])
      sb.ok(['containers', 'rm', id, second])
      assert.deepEqual(remapped(), [], 'collected once no container sits on it')
      const one = sb.run(['run', '--rm', '--uidmap', '0:200000:65536', bb, env.id('userns-x'), 'true'])
      assert.deepEqual([one.code, errorLine(one.stderr)], [125, 'ctr: --uidmap and --gidmap must be given together'])
      assert.match(errorLine(sb.run(['run', '--rm', '--uidmap', '0:1', bb, env.id('userns-x'), 'true']).stderr), /container-id:host-id:size/)
    })
  })

  describe('resources', () => {
    test('--cpu-quota/--cpu-period and --cpuset-cpus land in the cgroup', () => {
      const id = env.id('cfs')
      sb.ok(['run', '-d', '--cpu-quota', '25000', '--cpu-period', '50000', '--cpuset-cpus', '0', bb, id, 'sleep', '100'])
      assert.equal(cgroupFile('cpu', id, 'cpu.cfs_quota_us'), '25000')
      assert.equal(cgroupFile('cpu', id, 'cpu.cfs_period_us'), '50000')
      assert.equal(cgroupFile('cpuset', id, 'cpuset.cpus'), '0')
      sb.ok(['tasks', 'rm', '-f', id])
      sb.ok(['containers', 'rm', id])
      const both = sb.run(['run', '--rm', '--cpus', '1', '--cpu-quota', '5000', bb, env.id('cfs-x'), 'true'])
      assert.deepEqual([both.code, errorLine(both.stderr)], [125, 'ctr: cpus and quota/period should be used separately'])
    })

    test('--rlimit-nofile sets RLIMIT_NOFILE', () => {
      const r = sb.run(['run', '--rm', '--rlimit-nofile', '256:512', bb, env.id('nofile'), 'sh', '-c', 'ulimit -n; ulimit -Hn'])
      assert.deepEqual([r.code, r.stdout], [0, '256\n512\n'], r.stderr)
    })
  })

  describe('confinement', () => {
    test('--seccomp: the default profile denies unshare without CAP_SYS_ADMIN; without it unshare works', () => {
      const open = sb.run(['run', '--rm', bb, env.id('sc-open'), 'busybox', 'unshare', '-U', 'true'])
      assert.equal(open.code, 0, open.stderr)
      const denied = sb.run(['run', '--rm', '--seccomp', bb, env.id('sc-def'), 'busybox', 'unshare', '-U', 'true'])
      assert.equal(denied.code, 1)
      assert.match(denied.stderr, /unshare.*Operation not permitted/)
      assert.equal(sb.run(['run', '--rm', '--seccomp', bb, env.id('sc-ok'), 'sh', '-c', 'echo fine > /tmp/x && cat /tmp/x']).stdout, 'fine\n')
    })

    test('--seccomp --seccomp-profile FILE: a custom profile (mkdir denied)', () => {
      const profile = join(sb.dir, 'no-mkdir.json')
      writeFileSync(
        profile,
        JSON.stringify({defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1}]}),
      )
      const r = sb.run(['run', '--rm', '--seccomp', '--seccomp-profile', profile, bb, env.id('sc-file'), 'mkdir', '/tmp/d'])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /Operation not permitted/)
      const alone = sb.run(['run', '--rm', '--seccomp-profile', profile, bb, env.id('sc-x'), 'true'])
      assert.deepEqual([alone.code, errorLine(alone.stderr)], [125, 'ctr: seccomp must be set to true, if using a custom seccomp-profile'])
    })

    test('--read-only: the root file system cannot be written', () => {
      const r = sb.run(['run', '--rm', '--read-only', bb, env.id('ro'), 'touch', '/x'])
      assert.equal(r.code, 1)
      assert.match(r.stderr, /Read-only file system/)
    })

    test('--no-pivot: runc starts the container without pivot_root (run, run -d, tasks start)', async () => {
      writeFileSync(wrapperLog, '')
      const fg = env.id('nopivot')
      assert.equal(sb.run(['run', '--rm', '--no-pivot', '--runtime', wrapper, bb, fg, 'true']).code, 0)
      assert.match(readFileSync(wrapperLog, 'utf8'), new RegExp(` run --no-pivot --bundle \\S+ --pid-file \\S+ ${fg}$`, 'm'))
      const d = env.id('nopivot-d')
      sb.ok(['run', '-d', '--no-pivot', '--runtime', wrapper, bb, d, 'sleep', '100'])
      assert.match(readFileSync(wrapperLog, 'utf8'), new RegExp(` create .*--no-pivot ${d}$`, 'm'))
      assert.deepEqual(JSON.parse(sb.ok(['containers', 'info', d])).Runtime.Options, {no_pivot_root: true})
      sb.ok(['tasks', 'rm', '-f', d])
      sb.ok(['containers', 'rm', d])
      const c = env.id('nopivot-t')
      sb.ok(['containers', 'create', '--runtime', wrapper, bb, c, 'true'])
      assert.equal(sb.run(['tasks', 'start', '--no-pivot', c]).code, 0)
      assert.match(readFileSync(wrapperLog, 'utf8'), new RegExp(` run --no-pivot .* ${c}$`, 'm'))
      sb.ok(['containers', 'rm', c])
    })

    test('refused with a reason, never ignored: AppArmor, RDT, GPUs, blockio, sandbox, remap labels', () => {
      const cases: Array<[string[], number, RegExp]> = [
        [['--apparmor-profile', 'docker-default'], 5, /AppArmor is not enabled on this host/],
        [['--apparmor-default-profile', 'x'], 5, /AppArmor is not enabled on this host/],
        [['--rdt-class', 'gold'], 5, /Intel RDT is not available on this host/],
        [['--gpus', '0'], 5, /^ctr: --gpus: /],
        [['--blockio-class', 'slow'], 2, /block I\/O classes/],
        [['--blockio-config-file', '/etc/b.yaml'], 2, /block I\/O classes/],
        [['--sandbox', 'pod1'], 2, /--sandbox is not supported/],
        [['--remap-labels'], 2, /--remap-labels is not supported/],
      ]
      if (existsSync('/sys/module/apparmor/parameters/enabled') && readFileSync('/sys/module/apparmor/parameters/enabled', 'utf8').trim() === 'Y')
        cases.splice(0, 2)
      if (existsSync('/sys/fs/resctrl/info'))
        cases.splice(
          cases.findIndex(([f]) => f[0] === '--rdt-class'),
          1,
        )
      for (const [flags, code, message] of cases) {
        const id = env.id('refused')
        const created = sb.run(['containers', 'create', ...flags, bb, id, 'true'])
        assert.equal(created.code, code, `${flags.join(' ')}: ${created.stderr}`)
        assert.match(errorLine(created.stderr), message)
        const run = sb.run(['run', '--rm', ...flags, bb, id, 'true'])
        assert.deepEqual([run.code, errorLine(run.stderr)], [125, errorLine(created.stderr)])
        assert.equal(containers().includes(id), false)
      }
    })
  })

  describe('io and metadata', () => {
    test('--log-uri file:// appends stdout and stderr to the file, foreground and detached', async () => {
      const log = join(sb.dir, 'logs', 'out.log')
      const r = sb.run(['run', '--rm', '--log-uri', `file://${log}`, bb, env.id('log'), 'sh', '-c', 'echo out; echo err >&2'])
      assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', ''])
      // stdout and stderr are two pipes: their lines reach the file in either order.
      const lines = () => readFileSync(log, 'utf8').split('\n').sort()
      assert.deepEqual(lines(), ['', 'err', 'out'])
      const id = env.id('log-d')
      sb.ok(['run', '-d', '--log-uri', `file://${log}`, bb, id, 'echo', 'detached'])
      await waitFor('the detached task to stop', () => taskList(sb).get(id)?.status === 'STOPPED')
      assert.deepEqual(lines(), ['', 'detached', 'err', 'out'])
      assert.ok(readFileSync(log, 'utf8').endsWith('detached\n'), 'appended after the first run')
      sb.ok(['tasks', 'rm', id])
      sb.ok(['containers', 'rm', id])
    })

    test(
      "--log-uri binary:// starts a logging program with containerd's protocol (fds 3, 4, 5; CONTAINER_ID, CONTAINER_NAMESPACE), foreground and " + 'detached',
      async () => {
        const logger = join(sb.dir, 'logger.sh')
        // $1 $2 are the query's key and value; fd 5 closes (in every process) once both readers run.
        writeFileSync(
          logger,
          `#!/bin/sh\nd="$2"\ncat <&3 5>&- > "$d/$CONTAINER_ID.out" &\ncat <&4 5>&- > "$d/$CONTAINER_ID.err" &\nexec 5>&-\nwait\necho ` +
            `"$CONTAINER_NAMESPACE" > "$d/$CONTAINER_ID.done"\n`,
        )
        chmodSync(logger, 0o755)
        const dir = hostDir(sb, 'binlog')
        const uri = `binary://${logger}?dir=${dir}`
        const fg = env.id('binlog')
        const r = sb.run(['run', '--rm', '--log-uri', uri, bb, fg, 'sh', '-c', 'echo to-out; echo to-err >&2'])
        assert.deepEqual([r.code, r.stdout, r.stderr], [0, '', ''])
        await waitFor('the program to see the end of the output', () => existsSync(join(dir, `${fg}.done`)))
        assert.deepEqual(
          [readFileSync(join(dir, `${fg}.out`), 'utf8'), readFileSync(join(dir, `${fg}.err`), 'utf8'), readFileSync(join(dir, `${fg}.done`), 'utf8')],
          ['to-out\n', 'to-err\n', 'default\n'],
        )
        const d = env.id('binlog-d')
        sb.ok(['run', '-d', '--log-uri', uri, bb, d, 'sh', '-c', 'echo detached-out; sleep 0.3; echo detached-err >&2'])
        await waitFor('the detached task and its program to end', () => existsSync(join(dir, `${d}.done`)))
        assert.deepEqual([readFileSync(join(dir, `${d}.out`), 'utf8'), readFileSync(join(dir, `${d}.err`), 'utf8')], ['detached-out\n', 'detached-err\n'])
        sb.ok(['tasks', 'rm', d])
        sb.ok(['containers', 'rm', d])
        const broken = join(sb.dir, 'broken-logger.sh')
        writeFileSync(broken, '#!/bin/sh\nexit 3\n')
        chmodSync(broken, 0o755)
        const bad = sb.run(['run', '--rm', '--log-uri', `binary://${broken}`, bb, env.id('binlog-x'), 'true'])
        assert.equal(bad.code, 125)
        assert.match(
          errorLine(bad.stderr),
          /^ctr: failed to read from logging binary .*broken-logger\.sh: it (exited|closed its streams).* before the task started$/,
        )
        assert.equal(containers().includes(env.id('binlog-x')), false)
      },
    )

    test('--dump-config writes the spec; --label and --annotation become annotations; --hostname, --snapshotter-label', () => {
      const file = join(sb.dir, 'dumped-bb.json')
      const id = env.id('dump-bb')
      const r = sb.run(['run', '--rm', '--dump-config', file, '--label', 'l=1', '--annotation', 'a=2', '--hostname', 'box1', bb, id, 'hostname'])
      assert.deepEqual([r.code, r.stdout], [0, 'box1\n'], r.stderr)
      const spec = JSON.parse(readFileSync(file, 'utf8'))
      assert.deepEqual(spec.annotations, {a: '2', l: '1'})
      assert.equal(spec.hostname, 'box1')
      assert.deepEqual(spec.process.args, ['hostname'])
      assert.equal(readFileSync(file, 'utf8'), JSON.stringify(spec, null, 2), '2-space JSON, as ctr writes it')
      const bad = sb.run(['run', '--rm', '--annotation', 'bare', bb, env.id('anno-x'), 'true'])
      assert.deepEqual([bad.code, errorLine(bad.stderr)], [125, 'ctr: invalid key=value format annotation: bare'])
      const c = env.id('snap-label')
      sb.ok(['containers', 'create', '--snapshotter-label', 'team=x', bb, c, 'true'])
      assert.equal(JSON.parse(sb.ok(['snapshots', 'info', c])).Labels.team, 'x')
      sb.ok(['containers', 'rm', c])
    })

    test('-c after the container id still belongs to the container command', () => {
      const r = sb.run(['run', '--rm', bb, env.id('dash-c'), 'sh', '-c', 'echo "$0"', 'zero'])
      assert.deepEqual([r.code, r.stdout], [0, 'zero\n'], r.stderr)
    })
  })
})
