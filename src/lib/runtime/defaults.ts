// containerd 1.7's default Linux spec pieces (oci.populateDefaultUnixSpec, defaultMounts,
// WithDefaultUnixDevices), as fresh copies: callers may mutate what these functions return.
import type {LinuxDeviceCgroup, LinuxNamespace, Mount} from './oci-spec.js'

/** containerd's defaultUnixEnv: the PATH a container gets when its image sets none. */
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

/** The relative root path containerd writes into a stored spec (the bundle's `rootfs`). */
export const DEFAULT_ROOT_PATH = 'rootfs'

/** The capability set of an unprivileged container (containerd 1.7 defaultUnixCaps; 2.0 dropped five of them). */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
])

/** Paths runc hides (bind-mounts /dev/null or an empty tmpfs over) unless privileged. */
export const DEFAULT_MASKED_PATHS: readonly string[] = Object.freeze([
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/proc/scsi',
])

/** Paths runc remounts read-only unless privileged. */
export const DEFAULT_READONLY_PATHS: readonly string[] = Object.freeze(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'])

/** containerd's RLIMIT_NOFILE for the init process (soft and hard), before clamping to the caller's hard limit. */
export const DEFAULT_NOFILE = 1024

/** The standard mounts: /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys (read-only), /run. */
export function defaultMounts(): Mount[] {
  return [
    {destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev']},
    {destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
    {destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']},
    {destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']},
    {destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev']},
    {destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro']},
    {destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k']},
  ]
}

/** The new namespaces of a container: pid, ipc, uts, mount and, unless the host network is used, network. */
export function defaultNamespaces(netHost = false): LinuxNamespace[] {
  const all: LinuxNamespace[] = [{type: 'pid'}, {type: 'ipc'}, {type: 'uts'}, {type: 'mount'}, {type: 'network'}]
  return netHost ? all.filter((ns) => ns.type !== 'network') : all
}

/**
 * The device cgroup rules: deny everything, then allow the standard character devices
 * (null, random, full, tty, zero, urandom, console, the pts range 136:*, ptmx).
 */
export function defaultDeviceRules(): LinuxDeviceCgroup[] {
  const allow = (major: number, minor?: number): LinuxDeviceCgroup =>
    minor === undefined ? {allow: true, type: 'c', major, access: 'rwm'} : {allow: true, type: 'c', major, minor, access: 'rwm'}
  return [
    {allow: false, access: 'rwm'},
    allow(1, 3), // /dev/null
    allow(1, 8), // /dev/random
    allow(1, 7), // /dev/full
    allow(5, 0), // /dev/tty
    allow(1, 5), // /dev/zero
    allow(1, 9), // /dev/urandom
    allow(5, 1), // /dev/console
    allow(136), // /dev/pts/*
    allow(5, 2), // /dev/ptmx
  ]
}
