// buildSpec for ctr's run/create flags beyond the basics: --with-ns, --device, --cpu-quota/--cpu-period,
// --cpuset-*, --seccomp/--seccomp-profile, --apparmor-profile, --rootfs-propagation, --rlimit-nofile,
// --uidmap/--gidmap, --cgroup "", --rdt-class, --rootfs. Each flag is checked where it lands in the spec.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {
  CAPABILITIES,
  DEFAULT_ROOT_PATH,
  buildSpec,
  defaultSeccompProfile,
  type HostFacts,
  type LinuxDevice,
  type LinuxSeccomp,
  type ResolvedUser,
  type RuntimeSpec,
  type SpecOptions,
} from '../../../../src/lib/runtime/index.js'

const HOST: HostFacts = {nofileHard: 1048576, capabilities: CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE'), hostname: 'buildhost'}
const ROOT: ResolvedUser = {uid: 0, gid: 0, additionalGids: []}

interface Ctx {
  host?: Partial<HostFacts>
  devices?: LinuxDevice[]
  seccompProfile?: LinuxSeccomp
}
const build = (options: Partial<SpecOptions> = {}, ctx: Ctx = {}): RuntimeSpec =>
  buildSpec(
    {namespace: 'default', id: 'c1', image: {config: {Cmd: ['/bin/sh']}}, ...options},
    {
      user: ROOT,
      host: {...HOST, ...ctx.host},
      ...(ctx.devices ? {devices: ctx.devices} : {}),
      ...(ctx.seccompProfile ? {seccompProfile: ctx.seccompProfile} : {}),
    },
  )
const fails = (kind: string, fn: () => unknown, message?: RegExp | string) =>
  assert.throws(fn, (err: Error) => {
    assert.equal(errorKind(err), kind, err.message)
    if (typeof message === 'string') assert.equal(err.message, message)
    else if (message) assert.match(err.message, message)
    return true
  })

describe('--with-ns', () => {
  test('a joined namespace replaces the new one of its type, in place', () => {
    const spec = build({
      joinNamespaces: [
        {type: 'network', path: '/run/netns/x'},
        {type: 'ipc', path: '/proc/1/ns/ipc'},
      ],
    })
    assert.deepEqual(spec.linux.namespaces, [
      {type: 'pid'},
      {type: 'ipc', path: '/proc/1/ns/ipc'},
      {type: 'uts'},
      {type: 'mount'},
      {type: 'network', path: '/run/netns/x'},
    ])
  })
  test('a type without a new namespace is appended (with --net-host, network; cgroup)', () => {
    const spec = build({
      netHost: true,
      joinNamespaces: [
        {type: 'network', path: '/run/netns/x'},
        {type: 'cgroup', path: '/proc/1/ns/cgroup'},
      ],
    })
    assert.deepEqual(spec.linux.namespaces.slice(-2), [
      {type: 'network', path: '/run/netns/x'},
      {type: 'cgroup', path: '/proc/1/ns/cgroup'},
    ])
  })
  test('a relative path is refused', () => fails('invalid argument', () => build({joinNamespaces: [{type: 'network', path: 'netns/x'}]})))
})

describe('--device', () => {
  const zero: LinuxDevice = {path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0}
  const disk: LinuxDevice = {path: '/dev/vdb', type: 'b', major: 254, minor: 16, fileMode: 0o660, uid: 0, gid: 6}
  test('each device goes into linux.devices, with an rwm allow rule after the defaults', () => {
    const spec = build({devicePaths: ['/dev/zero', '/dev/vdb']}, {devices: [zero, disk]})
    assert.deepEqual(spec.linux.devices, [zero, disk])
    assert.deepEqual(spec.linux.resources.devices.slice(-2), [
      {allow: true, type: 'c', major: 1, minor: 5, access: 'rwm'},
      {allow: true, type: 'b', major: 254, minor: 16, access: 'rwm'},
    ])
    assert.deepEqual(spec.linux.resources.devices[0], {allow: false, access: 'rwm'}, 'deny-all stays first')
  })
  test('with --privileged (all devices allowed) the asked device is still created', () => {
    const spec = build({privileged: true}, {devices: [disk]})
    assert.deepEqual(spec.linux.devices, [disk])
    assert.deepEqual(spec.linux.resources.devices[0], {allow: true, access: 'rwm'})
  })
  test('no device, no linux.devices', () => assert.equal(build().linux.devices, undefined))
})

describe('--cpu-quota, --cpu-period, --cpus, --cpuset-*', () => {
  const cpu = (o: Partial<SpecOptions>) => build(o).linux.resources.cpu
  const table: Array<[string, Partial<SpecOptions>, unknown]> = [
    ['defaults (-1, 0): nothing', {cpuQuota: -1, cpuPeriod: 0}, undefined],
    ['quota and period', {cpuQuota: 50000, cpuPeriod: 100000}, {quota: 50000, period: 100000}],
    ['quota alone: period 0 written, as ctr WithCPUCFS does', {cpuQuota: 20000}, {quota: 20000, period: 0}],
    ['period alone: quota -1 (unlimited)', {cpuPeriod: 250000}, {quota: -1, period: 250000}],
    ['--cpus', {cpus: 1.5}, {quota: 150000, period: 100000}],
    ['shares with quota', {cpuShares: 512, cpuQuota: 10000, cpuPeriod: 100000}, {shares: 512, quota: 10000, period: 100000}],
    ['cpusets', {cpusetCpus: '0-1,3', cpusetMems: '0'}, {cpus: '0-1,3', mems: '0'}],
  ]
  for (const [name, options, want] of table) test(name, () => assert.deepEqual(cpu(options), want))
  test("--cpus with --cpu-quota or --cpu-period: ctr's error", () => {
    fails('invalid argument', () => build({cpus: 1, cpuQuota: 5000}), 'cpus and quota/period should be used separately')
    fails('invalid argument', () => build({cpus: 1, cpuPeriod: 5000}), 'cpus and quota/period should be used separately')
  })
  const bad: Array<[string, Partial<SpecOptions>]> = [
    ['quota below 1 ms', {cpuQuota: 999}],
    ['quota below -1', {cpuQuota: -2}],
    ['period below 1 ms', {cpuPeriod: 500}],
    ['period above 1 s', {cpuPeriod: 1_000_001}],
    ['cpuset with spaces', {cpusetCpus: '0, 1'}],
    ['cpuset words', {cpusetMems: 'all'}],
  ]
  for (const [name, options] of bad) test(`rejects ${name}`, () => fails('invalid argument', () => build(options)))
})

describe('--seccomp, --seccomp-profile', () => {
  test('none by default', () => assert.equal(build().linux.seccomp, undefined))
  test("--seccomp: Berth's default profile for the container's capabilities", () => {
    const spec = build({seccomp: true})
    assert.deepEqual(spec.linux.seccomp, defaultSeccompProfile(spec.process.capabilities.bounding!))
    assert.equal(spec.linux.seccomp.defaultAction, 'SCMP_ACT_ALLOW')
  })
  test('--seccomp with a profile file: the file as read', () => {
    const profile: LinuxSeccomp = {defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{names: ['read'], action: 'SCMP_ACT_ALLOW'}]}
    assert.deepEqual(build({seccomp: true, seccompProfile: '/p.json'}, {seccompProfile: profile}).linux.seccomp, profile)
  })
  test("a profile without --seccomp: ctr's error", () => {
    fails('invalid argument', () => build({seccompProfile: '/p.json'}), 'seccomp must be set to true, if using a custom seccomp-profile')
  })
})

describe('--apparmor-profile, --rootfs-propagation, --rdt-class', () => {
  test('AppArmor off on the host: refused with the reason', () => {
    fails('failed precondition', () => build({apparmorProfile: 'docker-default'}, {host: {apparmor: false}}), /AppArmor is not enabled on this host/)
  })
  test('AppArmor on: process.apparmorProfile, after noNewPrivileges', () => {
    const spec = build({apparmorProfile: 'docker-default'}, {host: {apparmor: true}})
    assert.equal(spec.process.apparmorProfile, 'docker-default')
    assert.deepEqual(Object.keys(spec.process).slice(-2), ['noNewPrivileges', 'apparmorProfile'])
  })
  test('rootfsPropagation', () => {
    assert.equal(build({rootfsPropagation: 'rslave'}).linux.rootfsPropagation, 'rslave')
    assert.equal(build().linux.rootfsPropagation, undefined)
    fails('invalid argument', () => build({rootfsPropagation: 'sideways'}), /--rootfs-propagation "sideways"/)
  })
  test('RDT: refused without resctrl, closID with it', () => {
    fails('failed precondition', () => build({rdtClass: 'gold'}, {host: {resctrl: false}}), /Intel RDT is not available on this host/)
    assert.deepEqual(build({rdtClass: 'gold'}, {host: {resctrl: true}}).linux.intelRdt, {closID: 'gold'})
  })
})

describe('--rlimit-nofile', () => {
  test('replaces the default RLIMIT_NOFILE', () => {
    assert.deepEqual(build({rlimitNofile: {soft: 4096, hard: 8192}}).process.rlimits, [{type: 'RLIMIT_NOFILE', hard: 8192, soft: 4096}])
  })
  test('soft above hard is invalid', () => fails('invalid argument', () => build({rlimitNofile: {soft: 10, hard: 5}})))
  test("a hard limit above this process's own is refused before runc fails with EPERM", () => {
    fails('failed precondition', () => build({rlimitNofile: {soft: 10, hard: 2048}}, {host: {nofileHard: 1024}}), /CAP_SYS_RESOURCE/)
  })
})

describe('--uidmap, --gidmap', () => {
  const uid = [{containerID: 0, hostID: 100000, size: 65536}]
  const gid = [{containerID: 0, hostID: 200000, size: 65536}]
  test('a user namespace with the mappings, first in linux', () => {
    const spec = build({uidMappings: uid, gidMappings: gid})
    assert.deepEqual(spec.linux.uidMappings, uid)
    assert.deepEqual(spec.linux.gidMappings, gid)
    assert.deepEqual(spec.linux.namespaces.at(-1), {type: 'user'})
    assert.deepEqual(Object.keys(spec.linux).slice(0, 2), ['uidMappings', 'gidMappings'])
  })
  test('one without the other is refused (ctr would silently ignore it)', () => {
    fails('invalid argument', () => build({uidMappings: uid}), '--uidmap and --gidmap must be given together')
    fails('invalid argument', () => build({gidMappings: gid}))
  })
  test('a range past 2^32 is invalid', () =>
    fails('invalid argument', () => build({uidMappings: [{containerID: 0, hostID: 2 ** 32 - 10, size: 100}], gidMappings: gid})))
})

describe('--cgroup, --rootfs', () => {
  test('--cgroup "" leaves cgroupsPath out (runc picks its own)', () => {
    const spec = build({cgroupsPath: null})
    assert.equal('cgroupsPath' in spec.linux, false)
  })
  test('--cgroup PATH', () => assert.equal(build({cgroupsPath: '/mine/c1'}).linux.cgroupsPath, '/mine/c1'))
  test('--rootfs: root.path is the host directory, cleaned', () => {
    assert.deepEqual(build({rootPath: '/srv/root/'}).root, {path: '/srv/root'})
    assert.deepEqual(build({rootPath: '/srv/root', readOnly: true}).root, {path: '/srv/root', readonly: true})
    assert.equal(build().root.path, DEFAULT_ROOT_PATH)
    fails('invalid argument', () => build({rootPath: 'rel'}))
    fails('invalid argument', () => build({rootPath: '/'}))
  })
})
