// Seccomp for `--seccomp` / `--seccomp-profile`: Berth's own default profile, built for the
// container's capabilities, and the reading of a profile file (the OCI `linux.seccomp` object).
//
// The default profile withholds what containerd's (Docker's) default withholds from a container of
// the same capabilities, written as a deny list over an allowing default rather than as their
// allow list: kernel keyrings, module and kexec loading, obsolete syscalls, io_uring, and each
// syscall whose capability the container lacks (mount without CAP_SYS_ADMIN, reboot without
// CAP_SYS_BOOT, ...); clone/unshare may not make namespaces without CAP_SYS_ADMIN, and clone3 says
// ENOSYS so that libc falls back to clone. A denied syscall fails with EPERM. Invariant: the rules
// depend only on the capability set and the architecture, so equal inputs give equal profiles.
import {InvalidArgument} from '../errors/index.js'
import type {LinuxSeccomp, LinuxSyscall} from './oci-spec.js'

const EPERM = 1
const ENOSYS = 38

/** Denied whatever the capabilities: not namespaced, obsolete, or an attack surface (io_uring). */
const ALWAYS_DENIED: readonly string[] = [
  'add_key',
  'keyctl',
  'request_key',
  'kexec_load',
  'kexec_file_load',
  'create_module',
  'get_kernel_syms',
  'query_module',
  'nfsservctl',
  'uselib',
  'ustat',
  'sysfs',
  '_sysctl',
  'vm86',
  'vm86old',
  'pivot_root',
  'io_uring_setup',
  'io_uring_enter',
  'io_uring_register',
]

/** Syscalls denied unless the container holds one of the capabilities listed with them. */
const NEEDS_CAPABILITY: ReadonlyArray<readonly [readonly string[], readonly string[]]> = [
  [
    ['CAP_SYS_ADMIN'],
    [
      'fanotify_init',
      'fsconfig',
      'fsmount',
      'fsopen',
      'fspick',
      'lookup_dcookie',
      'mount',
      'mount_setattr',
      'move_mount',
      'name_to_handle_at',
      'open_tree',
      'quotactl',
      'quotactl_fd',
      'setdomainname',
      'sethostname',
      'setns',
      'umount',
      'umount2',
      'unshare',
    ],
  ],
  [['CAP_SYS_ADMIN', 'CAP_BPF'], ['bpf']],
  [['CAP_SYS_ADMIN', 'CAP_PERFMON'], ['perf_event_open']],
  [['CAP_SYS_ADMIN', 'CAP_SYSLOG'], ['syslog']],
  [['CAP_SYS_BOOT'], ['reboot']],
  [['CAP_SYS_CHROOT'], ['chroot']],
  [['CAP_SYS_MODULE'], ['delete_module', 'init_module', 'finit_module']],
  [['CAP_SYS_PACCT'], ['acct']],
  [['CAP_SYS_PTRACE'], ['kcmp', 'pidfd_getfd', 'process_madvise', 'userfaultfd']],
  [['CAP_SYS_RAWIO'], ['iopl', 'ioperm']],
  [['CAP_SYS_TIME'], ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64']],
  [['CAP_SYS_TTY_CONFIG'], ['vhangup']],
  [['CAP_SYS_NICE'], ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node', 'move_pages', 'migrate_pages']],
  [['CAP_DAC_READ_SEARCH'], ['open_by_handle_at']],
]

/** The clone flags that make namespaces (NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET). */
const CLONE_NAMESPACE_FLAGS: readonly number[] = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000]

/** AF_VSOCK: a channel to the hypervisor, outside every namespace. */
const AF_VSOCK = 40

/** The seccomp architectures a process of Node's `arch` may issue syscalls in (native first). */
export function seccompArchitectures(arch: string = process.arch): string[] {
  switch (arch) {
    case 'x64':
      return ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']
    case 'ia32':
      return ['SCMP_ARCH_X86']
    case 'arm64':
      return ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']
    case 'arm':
      return ['SCMP_ARCH_ARM']
    case 'ppc64':
      return ['SCMP_ARCH_PPC64LE']
    case 's390x':
      return ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390']
    case 'riscv64':
      return ['SCMP_ARCH_RISCV64']
    default:
      return []
  }
}

/**
 * Berth's default seccomp profile for a container holding `capabilities` (its bounding set).
 * runc skips syscall names an architecture does not have.
 */
export function defaultSeccompProfile(capabilities: readonly string[], arch: string = process.arch): LinuxSeccomp {
  const held = new Set(capabilities)
  const deny = (names: readonly string[], errnoRet = EPERM): LinuxSyscall => ({names: [...names], action: 'SCMP_ACT_ERRNO', errnoRet})
  const denied = [...ALWAYS_DENIED]
  for (const [caps, names] of NEEDS_CAPABILITY) if (!caps.some((c) => held.has(c))) denied.push(...names)
  const syscalls: LinuxSyscall[] = [deny(denied)]
  if (!held.has('CAP_SYS_ADMIN')) {
    // s390 passes clone's flags second; everywhere else first.
    const flagsArg = arch === 's390x' ? 1 : 0
    for (const flag of CLONE_NAMESPACE_FLAGS)
      syscalls.push({...deny(['clone']), args: [{index: flagsArg, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ'}]})
    syscalls.push(deny(['clone3'], ENOSYS))
  }
  syscalls.push({...deny(['socket']), args: [{index: 0, value: AF_VSOCK, op: 'SCMP_CMP_EQ'}]})
  const architectures = seccompArchitectures(arch)
  return {defaultAction: 'SCMP_ACT_ALLOW', ...(architectures.length > 0 ? {architectures} : {}), syscalls}
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * A seccomp profile file's text as the spec's `linux.seccomp` (containerd's seccomp.WithProfile reads
 * the file straight into it): an object with a string `defaultAction`; other fields are kept as given.
 * @throws InvalidArgument naming the file (bad JSON, not a profile).
 */
export function parseSeccompProfile(text: string, path: string): LinuxSeccomp {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new InvalidArgument(`decoding seccomp profile failed ${JSON.stringify(path)}: ${(err as Error).message}`, {cause: err})
  }
  if (!isObject(doc) || typeof doc['defaultAction'] !== 'string' || doc['defaultAction'] === '') {
    throw new InvalidArgument(`decoding seccomp profile failed ${JSON.stringify(path)}: not a seccomp profile (no "defaultAction")`)
  }
  if (doc['syscalls'] !== undefined && doc['syscalls'] !== null && !Array.isArray(doc['syscalls'])) {
    throw new InvalidArgument(`decoding seccomp profile failed ${JSON.stringify(path)}: "syscalls" must be a list`)
  }
  return doc as unknown as LinuxSeccomp
}
