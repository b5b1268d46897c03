// Table tests for buildSpec: image config × ctr options → runtime spec, against containerd 1.7's defaults.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import type {ImageExecConfig} from '../../../../src/lib/oci/index.js'
import {
  CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  buildSpec,
  cgroupsPathFor,
  defaultMounts,
  effectiveUser,
  type HostFacts,
  type LinuxDevice,
  type ResolvedUser,
  type RuntimeSpec,
  type SpecOptions,
} from '../../../../src/lib/runtime/index.js'

const ALL_BUT_SYS_RESOURCE = CAPABILITIES.filter((c) => c !== 'CAP_SYS_RESOURCE')
const HOST: HostFacts = {nofileHard: 1048576, capabilities: ALL_BUT_SYS_RESOURCE, hostname: 'buildhost'}
const ROOT: ResolvedUser = {uid: 0, gid: 0, additionalGids: []}

const image = (config: ImageExecConfig | null) => ({config})
const build = (options: Partial<SpecOptions> = {}, ctx: {user?: ResolvedUser; host?: Partial<HostFacts>; hostDevices?: LinuxDevice[]} = {}): RuntimeSpec =>
  buildSpec(
    {namespace: 'default', id: 'c1', image: image({Cmd: ['/bin/sh']}), ...options},
    {user: ctx.user ?? ROOT, host: {...HOST, ...ctx.host}, ...(ctx.hostDevices ? {hostDevices: ctx.hostDevices} : {})},
  )
const fails = (kind: string, fn: () => unknown, message?: RegExp) =>
  assert.throws(fn, (err: Error) => {
    assert.equal(errorKind(err), kind, err.message)
    if (message) assert.match(err.message, message)
    return true
  })

describe('buildSpec: defaults (containerd populateDefaultUnixSpec)', () => {
  const spec = build()
  test('top level', () => {
    assert.equal(spec.ociVersion, '1.0.2')
    assert.deepEqual(spec.root, {path: 'rootfs'})
    assert.equal(spec.hostname, undefined)
    assert.equal(spec.annotations, undefined)
    assert.deepEqual(Object.keys(spec), ['ociVersion', 'process', 'root', 'mounts', 'linux'])
  })
  test('process', () => {
    assert.deepEqual(spec.process, {
      user: {uid: 0, gid: 0},
      args: ['/bin/sh'],
      env: [DEFAULT_PATH_ENV],
      cwd: '/',
      capabilities: {bounding: [...DEFAULT_CAPABILITIES], effective: [...DEFAULT_CAPABILITIES], permitted: [...DEFAULT_CAPABILITIES]},
      rlimits: [{type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024}],
      noNewPrivileges: true,
    })
    assert.equal(DEFAULT_CAPABILITIES.length, 14)
  })
  test('mounts are containerd 1.7 defaultMounts, /run included', () => {
    assert.deepEqual(
      spec.mounts.map((m) => `${m.type}:${m.destination}`),
      ['proc:/proc', 'tmpfs:/dev', 'devpts:/dev/pts', 'tmpfs:/dev/shm', 'mqueue:/dev/mqueue', 'sysfs:/sys', 'tmpfs:/run'],
    )
    assert.deepEqual(spec.mounts, defaultMounts())
    assert.ok(spec.mounts.find((m) => m.destination === '/sys')!.options!.includes('ro'))
  })
  test('linux', () => {
    assert.equal(spec.linux.cgroupsPath, '/berth/default/c1')
    assert.deepEqual(
      spec.linux.namespaces.map((n) => n.type),
      ['pid', 'ipc', 'uts', 'mount', 'network'],
    )
    assert.deepEqual(spec.linux.maskedPaths, [...DEFAULT_MASKED_PATHS])
    assert.deepEqual(spec.linux.readonlyPaths, [...DEFAULT_READONLY_PATHS])
    assert.equal(spec.linux.devices, undefined)
    const rules = spec.linux.resources.devices
    assert.deepEqual(rules[0], {allow: false, access: 'rwm'})
    assert.deepEqual(
      rules.slice(1).map((r) => `${r.type} ${r.major}:${r.minor ?? '*'} ${r.allow}`),
      ['c 1:3 true', 'c 1:8 true', 'c 1:7 true', 'c 5:0 true', 'c 1:5 true', 'c 1:9 true', 'c 5:1 true', 'c 136:* true', 'c 5:2 true'],
    )
    assert.equal(spec.linux.resources.memory, undefined)
    assert.equal(spec.linux.resources.cpu, undefined)
  })
  test('JSON round trip is lossless', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec)
  })
})

describe('buildSpec: process args', () => {
  const table: Array<[string, ImageExecConfig | null, Partial<SpecOptions>, string[]]> = [
    ['Cmd only', {Cmd: ['/bin/sh', '-c', 'x']}, {}, ['/bin/sh', '-c', 'x']],
    ['Entrypoint only', {Entrypoint: ['/entry']}, {}, ['/entry']],
    ['Entrypoint + Cmd', {Entrypoint: ['/entry', '-v'], Cmd: ['serve']}, {}, ['/entry', '-v', 'serve']],
    ['Docker nulls', {Entrypoint: null, Cmd: ['/x']}, {}, ['/x']],
    ['args replace Entrypoint and Cmd (ctr WithProcessArgs)', {Entrypoint: ['/entry'], Cmd: ['serve']}, {args: ['sh', '-c', 'id']}, ['sh', '-c', 'id']],
    [
      'keepEntrypoint: args replace only Cmd (WithImageConfigArgs)',
      {Entrypoint: ['/entry'], Cmd: ['serve']},
      {args: ['debug'], keepEntrypoint: true},
      ['/entry', 'debug'],
    ],
    ['keepEntrypoint without Entrypoint', {Cmd: ['serve']}, {args: ['x'], keepEntrypoint: true}, ['x']],
    ['empty args keep the image command', {Cmd: ['/x']}, {args: []}, ['/x']],
    ['no image, args given', null, {args: ['/bin/true']}, ['/bin/true']],
    ['init wraps', {Cmd: ['/app']}, {init: {hostPath: '/usr/bin/tini-static'}}, ['/.berth-init', '--', '/app']],
    [
      'init wraps args, custom path',
      {Cmd: ['/app']},
      {args: ['a', 'b'], init: {hostPath: '/usr/bin/catatonit', containerPath: '/sbin/init'}},
      ['/sbin/init', '--', 'a', 'b'],
    ],
  ]
  for (const [name, config, options, args] of table) {
    test(name, () => assert.deepEqual(build({image: image(config), ...options}).process.args, args))
  }
  const empty: Array<[string, ImageExecConfig | null]> = [
    ['null config', null],
    ['empty config', {}],
    ['empty lists', {Entrypoint: [], Cmd: []}],
    ['empty string command', {Cmd: ['']}],
  ]
  for (const [name, config] of empty) {
    test(`no command: ${name}`, () => fails('invalid argument', () => build({image: image(config)}), /no command specified/))
  }
  test('init binary is bind-mounted read-only at the init path', () => {
    const spec = build({init: {hostPath: '/usr/bin/tini-static'}})
    assert.deepEqual(spec.mounts.at(-1), {destination: '/.berth-init', type: 'bind', source: '/usr/bin/tini-static', options: ['rbind', 'ro']})
  })
  test('init paths must be absolute', () => {
    fails('invalid argument', () => build({init: {hostPath: 'tini'}}))
    fails('invalid argument', () => build({init: {hostPath: '/tini', containerPath: 'init'}}))
    fails('invalid argument', () => build({init: {hostPath: '/tini', containerPath: '/'}}))
  })
})

describe('buildSpec: environment', () => {
  const P = DEFAULT_PATH_ENV
  const table: Array<[string, string[] | null | undefined, Partial<SpecOptions>, string[]]> = [
    ['no image Env: default PATH', undefined, {}, [P]],
    ['Docker null Env', null, {}, [P]],
    ['image Env kept in order', ['PATH=/x', 'A=1'], {}, ['PATH=/x', 'A=1']],
    ['image Env without PATH gets the default first', ['A=1'], {}, [P, 'A=1']],
    ['--env overrides in place and appends', ['PATH=/x', 'A=1'], {env: ['A=2', 'B=3']}, ['PATH=/x', 'A=2', 'B=3']],
    ['later --env wins', [], {env: ['A=1', 'A=2']}, [P, 'A=2']],
    ['env file first, --env over it', [], {envFile: 'A=file\nB=file\n', env: ['A=flag']}, [P, 'A=flag', 'B=file']],
    ['env file over image Env', ['A=img'], {envFile: '# comment\n\nA=file\r\n'}, [P, 'A=file']],
    ['bare KEY unsets an image variable', ['PATH=/x', 'SECRET=1'], {env: ['SECRET']}, ['PATH=/x']],
    ['PATH may be overridden', ['PATH=/x'], {env: ['PATH=/opt/bin']}, ['PATH=/opt/bin']],
    ['value with = kept whole', [], {env: ['A=b=c']}, [P, 'A=b=c']],
    ['tty adds TERM', [], {tty: true}, [P, 'TERM=xterm']],
    ['tty keeps an explicit TERM', [], {tty: true, env: ['TERM=vt100']}, [P, 'TERM=vt100']],
    ['net-host sets HOSTNAME', [], {netHost: true}, [P, 'HOSTNAME=buildhost']],
    ['net-host HOSTNAME beats --env', [], {netHost: true, env: ['HOSTNAME=x']}, [P, 'HOSTNAME=buildhost']],
  ]
  for (const [name, imageEnv, options, env] of table) {
    test(name, () => assert.deepEqual(build({image: image({Cmd: ['/x'], Env: imageEnv}), ...options}).process.env, env))
  }
  test('empty keys are rejected', () => {
    fails('invalid argument', () => build({env: ['=x']}), /invalid environment variable/)
    fails('invalid argument', () => build({envFile: 'A=1\n=2\n'}), /env file line 2/)
  })
})

describe('buildSpec: cwd, user, tty, root, hostname, annotations', () => {
  const table: Array<[string, Partial<SpecOptions>, (s: RuntimeSpec) => unknown, unknown]> = [
    ['cwd defaults to /', {}, (s) => s.process.cwd, '/'],
    ['image WorkingDir', {image: image({Cmd: ['/x'], WorkingDir: '/srv'})}, (s) => s.process.cwd, '/srv'],
    ['relative WorkingDir is made absolute', {image: image({Cmd: ['/x'], WorkingDir: 'app'})}, (s) => s.process.cwd, '/app'],
    ['--cwd overrides WorkingDir', {image: image({Cmd: ['/x'], WorkingDir: '/srv'}), cwd: '/tmp'}, (s) => s.process.cwd, '/tmp'],
    ['tty sets terminal', {tty: true}, (s) => s.process.terminal, true],
    ['no tty, no terminal key', {}, (s) => 'terminal' in s.process, false],
    ['read-only root', {readOnly: true}, (s) => s.root, {path: 'rootfs', readonly: true}],
    ['hostname', {hostname: 'web-1'}, (s) => s.hostname, 'web-1'],
    ['annotations', {annotations: {'org.example/a': '1', b: ''}}, (s) => s.annotations, {'org.example/a': '1', b: ''}],
    ['empty annotations are left out', {annotations: {}}, (s) => 'annotations' in s, false],
    ['allow new privileges', {allowNewPrivileges: true}, (s) => 'noNewPrivileges' in s.process, false],
  ]
  for (const [name, options, pick, want] of table) test(name, () => assert.deepEqual(pick(build(options)), want))
  test('key order follows specs-go', () => {
    assert.deepEqual(Object.keys(build({hostname: 'h', annotations: {a: 'b'}})), [
      'ociVersion',
      'process',
      'root',
      'hostname',
      'mounts',
      'annotations',
      'linux',
    ])
  })
  test('the resolved user goes into process.user', () => {
    const spec = build({}, {user: {uid: 1000, gid: 100, additionalGids: [10, 27], username: 'app', home: '/home/app'}})
    assert.deepEqual(spec.process.user, {uid: 1000, gid: 100, additionalGids: [10, 27]})
    assert.equal(
      spec.process.env.some((e) => e.startsWith('HOME=')),
      false,
      'HOME is left to runc',
    )
  })
  const bad: Array<[string, Partial<SpecOptions>]> = [
    ['relative cwd', {cwd: 'tmp'}],
    ['long hostname', {hostname: 'h'.repeat(65)}],
    ['hostname with a slash', {hostname: 'a/b'}],
    ['empty annotation key', {annotations: {'': 'x'}}],
  ]
  for (const [name, options] of bad) test(`rejects ${name}`, () => fails('invalid argument', () => build(options)))
  test('effectiveUser: flag over image User over none', () => {
    assert.equal(effectiveUser({}), undefined)
    assert.equal(effectiveUser({image: image({User: ''})}), undefined)
    assert.equal(effectiveUser({image: image({User: 'app'})}), 'app')
    assert.equal(effectiveUser({image: image({User: 'app'}), user: '0:0'}), '0:0')
    assert.equal(effectiveUser({image: image({User: 'app'}), user: ''}), 'app')
  })
})

describe('buildSpec: mounts', () => {
  test('a --mount is appended', () => {
    const spec = build({mounts: ['type=bind,src=/data,dst=/data,options=rbind:ro']})
    assert.deepEqual(spec.mounts.at(-1), {destination: '/data', type: 'bind', source: '/data', options: ['rbind', 'ro']})
    assert.equal(spec.mounts.length, 8)
  })
  test('a mount replaces the default at the same destination, cleaned', () => {
    const spec = build({mounts: ['type=tmpfs,dst=/dev/shm/,options=size=1g', {destination: '/run', type: 'bind', source: '/host/run', options: ['rbind']}]})
    assert.equal(spec.mounts.filter((m) => m.destination.startsWith('/dev/shm')).length, 1)
    assert.deepEqual(spec.mounts.at(-2), {destination: '/dev/shm/', type: 'tmpfs', options: ['size=1g']})
    assert.deepEqual(spec.mounts.at(-1), {destination: '/run', type: 'bind', source: '/host/run', options: ['rbind']})
    assert.equal(spec.mounts.length, 7)
  })
  test('mount objects are copied, not shared', () => {
    const m = {destination: '/x', type: 'bind', source: '/y', options: ['rbind']}
    const spec = build({mounts: [m]})
    spec.mounts.at(-1)!.options!.push('ro')
    assert.deepEqual(m.options, ['rbind'])
  })
  test('net-host binds the host hosts and resolv.conf read-only; an explicit mount wins', () => {
    const spec = build({netHost: true})
    assert.deepEqual(spec.mounts.slice(-2), [
      {destination: '/etc/hosts', type: 'bind', source: '/etc/hosts', options: ['rbind', 'ro']},
      {destination: '/etc/resolv.conf', type: 'bind', source: '/etc/resolv.conf', options: ['rbind', 'ro']},
    ])
    const mine = build({netHost: true, mounts: ['type=bind,src=/my/hosts,dst=/etc/hosts,options=ro']})
    assert.deepEqual(
      mine.mounts.filter((m) => m.destination === '/etc/hosts'),
      [{destination: '/etc/hosts', type: 'bind', source: '/my/hosts', options: ['rbind', 'ro']}],
    )
  })
  test('a bad --mount is an invalid argument', () => fails('invalid argument', () => build({mounts: ['type=bind,dst=/x']})))
  test('a mount object needs an absolute destination', () => fails('invalid argument', () => build({mounts: [{destination: 'x', type: 'tmpfs'}]})))
})

describe('buildSpec: namespaces and cgroups', () => {
  test('net-host drops only the network namespace', () => {
    assert.deepEqual(
      build({netHost: true}).linux.namespaces.map((n) => n.type),
      ['pid', 'ipc', 'uts', 'mount'],
    )
  })
  const paths: Array<[Partial<SpecOptions>, string]> = [
    [{}, '/berth/default/c1'],
    [{namespace: 'k8s.io', id: 'web-1'}, '/berth/k8s.io/web-1'],
    [{cgroupParent: '/'}, '/default/c1'],
    [{cgroupParent: '/custom/parent/'}, '/custom/parent/default/c1'],
    [{cgroupsPath: '/explicit/x'}, '/explicit/x'],
  ]
  for (const [options, want] of paths) {
    test(`cgroupsPath ${want}`, () => {
      const got = build(options).linux.cgroupsPath
      assert.equal(got, want)
      assert.ok(got.startsWith('/'))
    })
  }
  const bad: Array<[string, Partial<SpecOptions>]> = [
    ['relative cgroupsPath', {cgroupsPath: 'berth/x'}],
    ['cgroupsPath /', {cgroupsPath: '/'}],
    ['cgroupsPath with ..', {cgroupsPath: '/a/../../b'}],
    ['empty cgroupsPath', {cgroupsPath: ''}],
    ['relative parent', {cgroupParent: 'berth'}],
    ['id with a slash', {id: 'a/b'}],
    ['id ..', {id: '..'}],
    ['empty namespace', {namespace: ''}],
    ['bad id even with an explicit cgroupsPath', {id: 'a/b', cgroupsPath: '/x/y'}],
  ]
  for (const [name, options] of bad) test(`rejects ${name}`, () => fails('invalid argument', () => build(options)))
  test('cgroupsPathFor', () => {
    assert.equal(cgroupsPathFor('default', 'x'), '/berth/default/x')
    assert.equal(cgroupsPathFor('ns', 'x', '/p'), '/p/ns/x')
  })
})

describe('buildSpec: resources', () => {
  const table: Array<[string, Partial<SpecOptions>, unknown, unknown]> = [
    ['memory limit', {memoryLimit: 64 * 1024 * 1024}, {limit: 67108864}, undefined],
    ['memory limit 0 is none', {memoryLimit: 0}, undefined, undefined],
    ['cpus 1.5', {cpus: 1.5}, undefined, {quota: 150000, period: 100000}],
    ['cpus 0.5', {cpus: 0.5}, undefined, {quota: 50000, period: 100000}],
    ['cpus 0.01', {cpus: 0.01}, undefined, {quota: 1000, period: 100000}],
    ['cpus 0 is none', {cpus: 0}, undefined, undefined],
    ['cpu shares', {cpuShares: 512}, undefined, {shares: 512}],
    ['shares and cpus', {cpuShares: 2048, cpus: 2}, undefined, {shares: 2048, quota: 200000, period: 100000}],
  ]
  for (const [name, options, memory, cpu] of table) {
    test(name, () => {
      const r = build(options).linux.resources
      assert.deepEqual(r.memory, memory)
      assert.deepEqual(r.cpu, cpu)
    })
  }
  const bad: Array<[string, Partial<SpecOptions>]> = [
    ['negative memory', {memoryLimit: -1}],
    ['fractional memory', {memoryLimit: 1.5}],
    ['negative cpus', {cpus: -1}],
    ['NaN cpus', {cpus: NaN}],
    ['too few cpus', {cpus: 0.001}],
    ['negative shares', {cpuShares: -2}],
    ['fractional shares', {cpuShares: 1.5}],
  ]
  for (const [name, options] of bad) test(`rejects ${name}`, () => fails('invalid argument', () => build(options)))
})

describe('buildSpec: rlimits never exceed the caller hard limit', () => {
  const table: Array<[number, number]> = [
    [1048576, 1024],
    [1024, 1024],
    [512, 512],
    [Infinity, 1024],
  ]
  for (const [hard, want] of table) {
    test(`hard limit ${hard} → ${want}`, () => {
      assert.deepEqual(build({}, {host: {nofileHard: hard}}).process.rlimits, [{type: 'RLIMIT_NOFILE', hard: want, soft: want}])
    })
  }
})

describe('buildSpec: capabilities and privileged', () => {
  const caps = (options: Partial<SpecOptions>, host?: Partial<HostFacts>) => {
    const c = build(options, {host}).process.capabilities
    assert.deepEqual(c.effective, c.bounding)
    assert.deepEqual(c.permitted, c.bounding)
    return c.bounding
  }
  const table: Array<[string, Partial<SpecOptions>, string[]]> = [
    ['add with prefix', {capAdd: ['CAP_NET_ADMIN']}, [...DEFAULT_CAPABILITIES, 'CAP_NET_ADMIN']],
    ['add without prefix, any case', {capAdd: ['sys_ptrace']}, [...DEFAULT_CAPABILITIES, 'CAP_SYS_PTRACE']],
    ['add one already there is a no-op', {capAdd: ['CAP_CHOWN']}, [...DEFAULT_CAPABILITIES]],
    ['drop', {capDrop: ['CAP_NET_RAW', 'MKNOD']}, DEFAULT_CAPABILITIES.filter((c) => c !== 'CAP_NET_RAW' && c !== 'CAP_MKNOD')],
    ['drop ALL', {capDrop: ['ALL']}, []],
    ['drop ALL, add one', {capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE']}, ['CAP_NET_BIND_SERVICE']],
    ['add ALL: every capability held', {capAdd: ['all']}, ALL_BUT_SYS_RESOURCE],
    ['add ALL, drop one', {capAdd: ['ALL'], capDrop: ['CAP_SYS_ADMIN']}, ALL_BUT_SYS_RESOURCE.filter((c) => c !== 'CAP_SYS_ADMIN')],
    ['add wins over drop of the same', {capAdd: ['CAP_KILL'], capDrop: ['CAP_KILL']}, [...DEFAULT_CAPABILITIES]],
    ['privileged: every capability this process has', {privileged: true}, ALL_BUT_SYS_RESOURCE],
    ['privileged with a drop', {privileged: true, capDrop: ['CAP_SYS_ADMIN']}, ALL_BUT_SYS_RESOURCE.filter((c) => c !== 'CAP_SYS_ADMIN')],
  ]
  for (const [name, options, want] of table) test(name, () => assert.deepEqual(caps(options), want))
  test('defaults this process lacks are left out', () => {
    assert.deepEqual(caps({}, {capabilities: ['CAP_CHOWN', 'CAP_KILL']}), ['CAP_CHOWN', 'CAP_KILL'])
  })
  test('adding a capability this process lacks fails early', () => {
    fails('failed precondition', () => build({capAdd: ['CAP_SYS_RESOURCE']}), /CAP_SYS_RESOURCE/)
  })
  test('unknown capability names are invalid', () => {
    fails('invalid argument', () => build({capAdd: ['CAP_FLY']}), /unknown capability "CAP_FLY"/)
    fails('invalid argument', () => build({capDrop: ['']}))
  })
  test('privileged: no masked or read-only paths, /sys writable, all devices allowed with host devices', () => {
    const dev: LinuxDevice = {path: '/dev/loop0', type: 'b', major: 7, minor: 0, fileMode: 0o660, uid: 0, gid: 6}
    const spec = build({privileged: true}, {hostDevices: [dev]})
    assert.equal(spec.linux.maskedPaths, undefined)
    assert.equal(spec.linux.readonlyPaths, undefined)
    assert.deepEqual(spec.mounts.find((m) => m.destination === '/sys')!.options, ['nosuid', 'noexec', 'nodev', 'rw'])
    assert.deepEqual(spec.linux.resources.devices, [{allow: true, access: 'rwm'}])
    assert.deepEqual(spec.linux.devices, [dev])
    assert.equal(spec.process.noNewPrivileges, true)
  })
  test('privileged without host devices keeps the device rules', () => {
    const spec = build({privileged: true, privilegedWithoutHostDevices: true}, {hostDevices: [{path: '/dev/x', type: 'c', major: 1, minor: 1}]})
    assert.equal(spec.linux.resources.devices[0].allow, false)
    assert.equal(spec.linux.devices, undefined)
    assert.equal(spec.linux.maskedPaths, undefined)
  })
  test('privileged-without-host-devices needs privileged', () => {
    fails('invalid argument', () => build({privilegedWithoutHostDevices: true}), /without 'privileged'/)
  })
})
