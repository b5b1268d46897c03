// Berth's default seccomp profile (a deny list by capability) and the reading of profile files.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {CAPABILITIES, DEFAULT_CAPABILITIES, defaultSeccompProfile, parseSeccompProfile, seccompArchitectures} from '../../../../src/lib/runtime/index.js'

const denied = (caps: readonly string[]) =>
  new Set(
    defaultSeccompProfile(caps, 'x64')
      .syscalls!.filter((r) => !r.args)
      .flatMap((r) => r.names),
  )

describe('defaultSeccompProfile', () => {
  test('allows by default, on every architecture an x86-64 process can call in', () => {
    const p = defaultSeccompProfile(DEFAULT_CAPABILITIES, 'x64')
    assert.equal(p.defaultAction, 'SCMP_ACT_ALLOW')
    assert.deepEqual(p.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'])
    assert.deepEqual(seccompArchitectures('arm64'), ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'])
    assert.equal(defaultSeccompProfile([], 'mips').architectures, undefined)
    for (const r of p.syscalls!) assert.equal(r.action, 'SCMP_ACT_ERRNO')
  })
  test('a default container: keyrings, modules, mount, unshare, reboot, ptrace helpers and io_uring denied with EPERM', () => {
    const d = denied(DEFAULT_CAPABILITIES)
    for (const name of [
      'keyctl',
      'add_key',
      'init_module',
      'kexec_load',
      'mount',
      'umount2',
      'unshare',
      'setns',
      'reboot',
      'kcmp',
      'io_uring_setup',
      'bpf',
      'perf_event_open',
      'syslog',
      'acct',
      'settimeofday',
      'pivot_root',
      'open_by_handle_at',
    ]) {
      assert.ok(d.has(name), name)
    }
    // Held by default (CAP_SYS_CHROOT), or harmless for everyone.
    for (const name of ['chroot', 'read', 'clone', 'ptrace', 'process_vm_readv', 'getpid']) assert.ok(!d.has(name), name)
    const eperm = defaultSeccompProfile(DEFAULT_CAPABILITIES, 'x64').syscalls![0]
    assert.equal(eperm.errnoRet, 1)
  })
  test('namespace-making clone flags are denied one rule per flag; clone3 says ENOSYS so libc falls back', () => {
    const rules = defaultSeccompProfile(DEFAULT_CAPABILITIES, 'x64').syscalls!
    const clone = rules.filter((r) => r.names.includes('clone'))
    assert.equal(clone.length, 7)
    for (const r of clone) {
      const [arg] = r.args!
      assert.equal(arg.op, 'SCMP_CMP_MASKED_EQ')
      assert.equal(arg.value, arg.valueTwo)
      assert.equal(arg.index, 0)
    }
    assert.equal(
      clone.reduce((mask, r) => mask | r.args![0].value, 0),
      0x7e020000,
    )
    assert.deepEqual(
      rules.find((r) => r.names.includes('clone3')),
      {names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38},
    )
    assert.equal(defaultSeccompProfile(DEFAULT_CAPABILITIES, 's390x').syscalls!.find((r) => r.names.includes('clone'))!.args![0].index, 1)
  })
  test('capabilities lift their syscalls: CAP_SYS_ADMIN (mount, unshare, clone flags), CAP_SYS_BOOT, CAP_SYSLOG', () => {
    const admin = denied([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'])
    for (const name of ['mount', 'unshare', 'setns', 'bpf', 'syslog', 'perf_event_open']) assert.ok(!admin.has(name), name)
    assert.ok(admin.has('reboot') && admin.has('keyctl'))
    const rules = defaultSeccompProfile([...DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'], 'x64').syscalls!
    assert.equal(
      rules.some((r) => r.names.includes('clone') || r.names.includes('clone3')),
      false,
    )
    assert.ok(!denied(['CAP_SYS_BOOT']).has('reboot'))
    assert.ok(!denied(['CAP_SYSLOG']).has('syslog') && denied(['CAP_SYSLOG']).has('mount'))
  })
  test('privileged (every capability): only the always-denied remain', () => {
    assert.deepEqual([...denied(CAPABILITIES)].sort(), [
      '_sysctl',
      'add_key',
      'create_module',
      'get_kernel_syms',
      'io_uring_enter',
      'io_uring_register',
      'io_uring_setup',
      'kexec_file_load',
      'kexec_load',
      'keyctl',
      'nfsservctl',
      'pivot_root',
      'query_module',
      'request_key',
      'sysfs',
      'uselib',
      'ustat',
      'vm86',
      'vm86old',
    ])
  })
  test('AF_VSOCK sockets are denied', () => {
    const vsock = defaultSeccompProfile(CAPABILITIES, 'x64').syscalls!.find((r) => r.names.includes('socket'))
    assert.deepEqual(vsock!.args, [{index: 0, value: 40, op: 'SCMP_CMP_EQ'}])
  })
  test('same capabilities, same profile', () => {
    assert.deepEqual(defaultSeccompProfile(DEFAULT_CAPABILITIES, 'x64'), defaultSeccompProfile([...DEFAULT_CAPABILITIES].reverse(), 'x64'))
  })
})

describe('parseSeccompProfile', () => {
  test('a profile is kept as written', () => {
    const text = '{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}'
    assert.deepEqual(parseSeccompProfile(text, '/p.json'), JSON.parse(text))
  })
  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', '{', /^decoding seccomp profile failed "\/p.json": /],
    ['no defaultAction', '{"syscalls":[]}', /no "defaultAction"/],
    ['a list', '[]', /no "defaultAction"/],
    ['syscalls not a list', '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":{}}', /"syscalls" must be a list/],
  ]
  for (const [name, text, message] of bad) {
    test(`rejects ${name}`, () =>
      assert.throws(
        () => parseSeccompProfile(text, '/p.json'),
        (e: Error) => errorKind(e) === 'invalid argument' && message.test(e.message),
      ))
  }
})
