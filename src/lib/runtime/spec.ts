// Build a container's OCI runtime spec from its image config and ctr-style options, the way
// `ctr run`/`ctr containers create` compose containerd's spec options (containerd 1.7).
//
// buildSpec is pure: the user is resolved and the host facts, `--device` nodes and a seccomp profile
// file are read beforehand (generateSpec does that). The result has an absolute linux.cgroupsPath
// unless `--cgroup ""` asked for none, never asks for an rlimit above the caller's hard limit or a
// capability the caller lacks, and carries the placeholder root path DEFAULT_ROOT_PATH until
// template.ts renders it for a start (or, with `--rootfs`, the host directory given).
import {readFileSync} from 'node:fs'
import {posix} from 'node:path'
import {FailedPrecondition, InvalidArgument, NotFound} from '../errors/index.js'
import type {ImageConfig} from '../oci/index.js'
import {validateIdentifier} from '../oci/identifiers.js'
import {resolveCapabilities} from './capabilities.js'
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NOFILE,
  DEFAULT_PATH_ENV,
  DEFAULT_READONLY_PATHS,
  DEFAULT_ROOT_PATH,
  defaultDeviceRules,
  defaultMounts,
  defaultNamespaces,
} from './defaults.js'
import {envValue, mergeEnv, parseEnvFile} from './env.js'
import {ROOTFS_PROPAGATIONS} from './flag-values.js'
import {devicesFromPath, readHostDevices, readHostFacts, readHostFeatures, type HostFacts} from './host.js'
import {parseMountFlag} from './mount-flag.js'
import {
  OCI_VERSION,
  type Linux,
  type LinuxDevice,
  type LinuxIDMapping,
  type LinuxNamespace,
  type LinuxSeccomp,
  type Mount,
  type Process,
  type RuntimeSpec,
} from './oci-spec.js'
import {defaultSeccompProfile, parseSeccompProfile} from './seccomp.js'
import {resolveUser, type ResolvedUser, type RootFs} from './user.js'

/** Where containers' cgroups live unless told otherwise: `/berth/<namespace>/<id>`. */
export const DEFAULT_CGROUP_PARENT = '/berth'

/** Where the `--init` binary is bind-mounted inside the container. */
export const DEFAULT_INIT_PATH = '/.berth-init'

/** The CFS period `--cpus` is expressed in (microseconds), as ctr uses. */
export const CPU_PERIOD = 100_000

/** ctr's container and run options that shape the spec. Only `namespace` and `id` are required. */
export interface SpecOptions {
  /** The Berth namespace and container id: they name the cgroup. */
  namespace: string
  id: string
  /** The image config (its `config` part is used); absent for a container without an image. */
  image?: Pick<ImageConfig, 'config'> | null
  /** `[COMMAND] [ARG...]`: replaces the image's Entrypoint and Cmd, as `ctr run` does (oci.WithProcessArgs). */
  args?: readonly string[]
  /** With args: keep the image Entrypoint and replace only Cmd (oci.WithImageConfigArgs, docker's behaviour). */
  keepEntrypoint?: boolean
  /** `--env KEY=VAL` (later wins; a bare `KEY` unsets), applied over the env file and the image's Env. */
  env?: readonly string[]
  /** The contents of `--env-file` (see parseEnvFile), applied before `env`. */
  envFile?: string
  /** `--cwd`: absolute; overrides the image WorkingDir. */
  cwd?: string
  /** `--user`: overrides the image User; resolved through the rootfs (see user.ts). */
  user?: string
  /** `--mount` values (ctr syntax) or ready mounts; each replaces any earlier mount at its destination. */
  mounts?: ReadonlyArray<string | Mount>
  /** `--read-only`: root.readonly. */
  readOnly?: boolean
  /** `--net-host`: no network namespace, host /etc/hosts and /etc/resolv.conf (read-only), HOSTNAME env. */
  netHost?: boolean
  /** `--hostname`. */
  hostname?: string
  /** `--tty`: process.terminal, and TERM=xterm unless TERM is set. */
  tty?: boolean
  /** `--memory-limit` in bytes; 0 means none. */
  memoryLimit?: number
  /** `--cpus`: quota = cpus × 100000 per 100000 µs period; 0 means none. */
  cpus?: number
  /** `--cpu-quota` (µs per period, -1 unlimited; default -1) and `--cpu-period` (µs; default 0): when
   * either differs from its default both are written, as ctr's WithCPUCFS does. Not with `cpus`. */
  cpuQuota?: number
  cpuPeriod?: number
  /** `--cpu-shares`; 0 means none. */
  cpuShares?: number
  /** `--cpuset-cpus` / `--cpuset-mems`: lists such as `0-2,4`. */
  cpusetCpus?: string
  cpusetMems?: string
  /** `--with-ns`: join the namespace at `path` instead of making a new one of `type`. */
  joinNamespaces?: ReadonlyArray<{type: LinuxNamespace['type']; path: string}>
  /** `--device`: host device nodes (or directories of them) to create in the container, each allowed rwm. */
  devicePaths?: readonly string[]
  /** `--seccomp`: a seccomp filter; `seccompProfile` (a file) or Berth's default profile (seccomp.ts). */
  seccomp?: boolean
  seccompProfile?: string
  /** `--apparmor-profile`: an AppArmor profile loaded on this host (needs AppArmor). */
  apparmorProfile?: string
  /** `--rootfs-propagation`: linux.rootfsPropagation (private, rslave, shared, ...). */
  rootfsPropagation?: string
  /** `--rlimit-nofile`: RLIMIT_NOFILE instead of the default (never above this process's hard limit). */
  rlimitNofile?: {soft: number; hard: number}
  /** `--uidmap` / `--gidmap`: a user namespace with these mappings (both or neither). */
  uidMappings?: readonly LinuxIDMapping[]
  gidMappings?: readonly LinuxIDMapping[]
  /** `--rdt-class`: linux.intelRdt.closID (needs a resctrl file system on the host). */
  rdtClass?: string
  /** `--rootfs`: the host directory that is the root file system (absolute), instead of the placeholder. */
  rootPath?: string
  /** `--privileged`: every capability this process has, no masked or read-only paths, /sys read-write,
   * and (unless privilegedWithoutHostDevices) all devices allowed with the host's /dev nodes created. */
  privileged?: boolean
  /** `--privileged-without-host-devices`: requires privileged. */
  privilegedWithoutHostDevices?: boolean
  /** `--cap-add` / `--cap-drop`: names with or without `CAP_`, or `ALL` (see resolveCapabilities). */
  capAdd?: readonly string[]
  capDrop?: readonly string[]
  /** `--allow-new-privs`: clear noNewPrivileges (set by default, as containerd does). */
  allowNewPrivileges?: boolean
  /** `--annotation` key/values: spec.annotations. Container labels do not go into the spec. */
  annotations?: Readonly<Record<string, string>>
  /** `--init`: run this host binary (tini or catatonit, static) as PID 1: args become [path, '--', ...args]. */
  init?: {hostPath: string; containerPath?: string}
  /** Parent of the per-namespace cgroups (absolute); default DEFAULT_CGROUP_PARENT. */
  cgroupParent?: string
  /** `--cgroup`: an explicit absolute cgroups path instead of `<cgroupParent>/<namespace>/<id>`;
   * `null` (`--cgroup ""`) leaves it out, so runc picks its own under its caller's cgroup. */
  cgroupsPath?: string | null
  /** The container rootfs (mounted, or the image's layers unmounted), read by generateSpec for /etc/passwd and /etc/group only. */
  rootfs?: RootFs
}

/** What buildSpec needs besides the options: the resolved user and facts about this process. */
export interface SpecContext {
  user: ResolvedUser
  host: HostFacts
  /** Device nodes to create for a privileged container (readHostDevices()). */
  hostDevices?: readonly LinuxDevice[]
  /** The `--device` nodes (devicesFromPath() of each devicePaths entry). */
  devices?: readonly LinuxDevice[]
  /** The parsed `seccompProfile` file. */
  seccompProfile?: LinuxSeccomp
}

const invalid = (message: string) => new InvalidArgument(message)

const cleanPath = (p: string): string => {
  const n = posix.normalize(p)
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n
}

const isCleanAbsolute = (p: string): boolean => p.startsWith('/') && !p.split('/').includes('..')

/**
 * The cgroups path of a container: `<parent>/<namespace>/<id>`, always absolute (runc otherwise nests
 * the cgroup under its caller's).
 * @throws InvalidArgument for an invalid namespace or id, or a parent that is not a clean absolute path.
 */
export function cgroupsPathFor(namespace: string, id: string, parent = DEFAULT_CGROUP_PARENT): string {
  validateIdentifier(namespace)
  validateIdentifier(id)
  if (!isCleanAbsolute(parent)) throw invalid(`cgroup parent ${JSON.stringify(parent)} must be an absolute path`)
  return posix.join(parent, namespace, id)
}

/** The user string that decides process.user: the `user` option, else the image's User, else none (root). */
export function effectiveUser(options: Pick<SpecOptions, 'user' | 'image'>): string | undefined {
  if (options.user !== undefined && options.user !== '') return options.user
  const fromImage = options.image?.config?.User
  return fromImage === undefined || fromImage === '' ? undefined : fromImage
}

/** The process args: command override or Entrypoint+Cmd, wrapped by the init binary when asked. */
function processArgs(options: SpecOptions): string[] {
  const config = options.image?.config
  const entrypoint = config?.Entrypoint ?? []
  const override = options.args ?? []
  let args: string[]
  if (override.length > 0) args = options.keepEntrypoint ? [...entrypoint, ...override] : [...override]
  else args = [...entrypoint, ...(config?.Cmd ?? [])]
  if (args.length === 0 || args[0] === '') throw invalid('no command specified: the image has no Entrypoint or Cmd and no command was given')
  if (options.init) args = [options.init.containerPath ?? DEFAULT_INIT_PATH, '--', ...args]
  return args
}

/** The environment: image Env (or the default PATH) under the env file and --env, PATH always defined. */
function processEnv(options: SpecOptions, host: HostFacts): string[] {
  const imageEnv = options.image?.config?.Env ?? []
  let base = imageEnv.length > 0 ? [...imageEnv] : [DEFAULT_PATH_ENV]
  if (envValue(base, 'PATH') === undefined) base = [DEFAULT_PATH_ENV, ...base]
  const overrides = [...(options.envFile === undefined ? [] : parseEnvFile(options.envFile)), ...(options.env ?? [])]
  let env = mergeEnv(base, overrides)
  if (options.tty && envValue(env, 'TERM') === undefined) env = [...env, 'TERM=xterm']
  if (options.netHost) env = mergeEnv(env, [`HOSTNAME=${host.hostname}`])
  return env
}

function processCwd(options: SpecOptions): string {
  if (options.cwd !== undefined && options.cwd !== '') {
    if (!options.cwd.startsWith('/')) throw invalid(`cwd ${JSON.stringify(options.cwd)} must be an absolute path`)
    return options.cwd
  }
  const workingDir = options.image?.config?.WorkingDir
  return workingDir ? posix.resolve('/', workingDir) : '/'
}

/** Add a mount, replacing any mount with the same (cleaned) destination, as ctr's withMounts does. */
function putMount(mounts: Mount[], mount: Mount): Mount[] {
  const dest = cleanPath(mount.destination)
  return [...mounts.filter((m) => cleanPath(m.destination) !== dest), mount]
}

function specMounts(options: SpecOptions): Mount[] {
  let mounts = defaultMounts()
  if (options.netHost) {
    for (const file of ['/etc/hosts', '/etc/resolv.conf']) mounts = putMount(mounts, {destination: file, type: 'bind', source: file, options: ['rbind', 'ro']})
  }
  for (const m of options.mounts ?? []) {
    if (typeof m !== 'string' && !m.destination.startsWith('/')) throw invalid(`mount destination ${JSON.stringify(m.destination)} must be an absolute path`)
    mounts = putMount(mounts, typeof m === 'string' ? parseMountFlag(m) : {...m, ...(m.options ? {options: [...m.options]} : {})})
  }
  if (options.privileged) {
    mounts = mounts.map((m) => (m.type === 'sysfs' && m.options ? {...m, options: m.options.map((o) => (o === 'ro' ? 'rw' : o))} : m))
  }
  if (options.init) {
    const {hostPath, containerPath = DEFAULT_INIT_PATH} = options.init
    if (!hostPath.startsWith('/')) throw invalid(`init binary ${JSON.stringify(hostPath)} must be an absolute path`)
    if (!isCleanAbsolute(containerPath) || cleanPath(containerPath) === '/')
      throw invalid(`init path ${JSON.stringify(containerPath)} must be an absolute file path`)
    mounts = putMount(mounts, {destination: containerPath, type: 'bind', source: hostPath, options: ['rbind', 'ro']})
  }
  return mounts
}

const nonNegativeInteger = (name: string, v: number): number => {
  if (!Number.isSafeInteger(v) || v < 0) throw invalid(`${name} must be a non-negative integer, got ${v}`)
  return v
}

/** A cpuset list as the kernel reads it: `0-2,4` (no spaces, ranges ascending). */
const CPUSET_LIST = /^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$/

/** linux.resources.cpu from --cpus, --cpu-quota/--cpu-period, --cpu-shares, --cpuset-*; undefined when none. */
function specCpu(options: SpecOptions): NonNullable<Linux['resources']['cpu']> | undefined {
  const cpu: NonNullable<Linux['resources']['cpu']> = {}
  const shares = nonNegativeInteger('cpu shares', options.cpuShares ?? 0)
  if (shares > 0) cpu.shares = shares
  const cpus = options.cpus ?? 0
  if (!Number.isFinite(cpus) || cpus < 0) throw invalid(`cpus must be a non-negative number, got ${cpus}`)
  const quota = Math.trunc(cpus * CPU_PERIOD)
  if (cpus > 0 && quota < 1000) throw invalid(`cpus must be at least 0.01, got ${cpus}`)
  if (quota > 0) Object.assign(cpu, {quota, period: CPU_PERIOD})
  const cfsQuota = options.cpuQuota ?? -1
  const cfsPeriod = options.cpuPeriod ?? 0
  if (cfsQuota !== -1 || cfsPeriod !== 0) {
    if (cpus > 0) throw invalid('cpus and quota/period should be used separately')
    // The kernel's bounds (kernel/sched/core.c): a quota of at least 1 ms, a period of 1 ms to 1 s.
    if (!Number.isSafeInteger(cfsQuota) || (cfsQuota !== -1 && cfsQuota < 1000))
      throw invalid(`cpu quota must be -1 (unlimited) or at least 1000 µs, got ${cfsQuota}`)
    if (!Number.isSafeInteger(cfsPeriod) || (cfsPeriod !== 0 && (cfsPeriod < 1000 || cfsPeriod > 1_000_000)))
      throw invalid(`cpu period must be between 1000 and 1000000 µs, got ${cfsPeriod}`)
    Object.assign(cpu, {quota: cfsQuota, period: cfsPeriod})
  }
  for (const [name, value] of [
    ['cpuset-cpus', options.cpusetCpus],
    ['cpuset-mems', options.cpusetMems],
  ] as const) {
    if (value === undefined || value === '') continue
    if (!CPUSET_LIST.test(value)) throw invalid(`--${name} ${JSON.stringify(value)}: expected a list such as 0-2,4`)
    if (name === 'cpuset-cpus') cpu.cpus = value
    else cpu.mems = value
  }
  return Object.keys(cpu).length > 0 ? cpu : undefined
}

/** The mappings of a user namespace: both lists or neither, each range inside 32 bits. */
function checkMappings(uid: readonly LinuxIDMapping[], gid: readonly LinuxIDMapping[]): void {
  if (uid.length > 0 !== gid.length > 0) throw invalid('--uidmap and --gidmap must be given together')
  for (const m of [...uid, ...gid]) {
    for (const v of [m.containerID, m.hostID, m.size])
      if (!Number.isSafeInteger(v) || v < 0 || v > 0xffffffff) throw invalid(`invalid user namespace mapping ${JSON.stringify(m)}`)
    if (m.size === 0 || m.containerID + m.size > 2 ** 32 || m.hostID + m.size > 2 ** 32) throw invalid(`invalid user namespace mapping ${JSON.stringify(m)}`)
  }
}

function specLinux(options: SpecOptions, context: SpecContext, capabilities: readonly string[]): Linux {
  const namespaced = cgroupsPathFor(options.namespace, options.id, options.cgroupParent ?? DEFAULT_CGROUP_PARENT) // validates namespace and id
  const cgroupsPath = options.cgroupsPath === null ? undefined : (options.cgroupsPath ?? namespaced)
  if (cgroupsPath !== undefined && (!isCleanAbsolute(cgroupsPath) || cleanPath(cgroupsPath) === '/'))
    throw invalid(`cgroups path ${JSON.stringify(cgroupsPath)} must be an absolute path below /`)
  const allDevices = options.privileged && !options.privilegedWithoutHostDevices
  const uidMappings = options.uidMappings ?? []
  const gidMappings = options.gidMappings ?? []
  checkMappings(uidMappings, gidMappings)
  let namespaces = defaultNamespaces(options.netHost)
  if (uidMappings.length > 0) namespaces.push({type: 'user'})
  // containerd's WithLinuxNamespace: a joined namespace replaces the new one of its type.
  for (const ns of options.joinNamespaces ?? []) {
    if (!ns.path.startsWith('/')) throw invalid(`namespace path ${JSON.stringify(ns.path)} must be absolute`)
    const at = namespaces.findIndex((n) => n.type === ns.type)
    if (at >= 0) namespaces = namespaces.map((n, i) => (i === at ? {type: ns.type, path: ns.path} : n))
    else namespaces.push({type: ns.type, path: ns.path})
  }
  const linux: Linux = {
    ...(uidMappings.length > 0 ? {uidMappings: uidMappings.map((m) => ({...m})), gidMappings: gidMappings.map((m) => ({...m}))} : {}),
    resources: {devices: allDevices ? [{allow: true, access: 'rwm'}] : defaultDeviceRules()},
    ...(cgroupsPath !== undefined ? {cgroupsPath} : {}),
    namespaces,
  }
  const memory = nonNegativeInteger('memory limit', options.memoryLimit ?? 0)
  if (memory > 0) linux.resources.memory = {limit: memory}
  const cpu = specCpu(options)
  if (cpu) linux.resources.cpu = cpu
  const devices: LinuxDevice[] = allDevices && context.hostDevices ? context.hostDevices.map((d) => ({...d})) : []
  for (const d of context.devices ?? []) {
    devices.push({...d})
    linux.resources.devices.push({allow: true, type: d.type, major: d.major, minor: d.minor, access: 'rwm'})
  }
  if (devices.length > 0) linux.devices = devices
  if (options.seccomp) linux.seccomp = context.seccompProfile ?? defaultSeccompProfile(capabilities)
  else if (options.seccompProfile !== undefined) throw invalid('seccomp must be set to true, if using a custom seccomp-profile')
  if (options.rootfsPropagation !== undefined && options.rootfsPropagation !== '') {
    if (!ROOTFS_PROPAGATIONS.includes(options.rootfsPropagation))
      throw invalid(`--rootfs-propagation ${JSON.stringify(options.rootfsPropagation)}: expected one of ${ROOTFS_PROPAGATIONS.join(', ')}`)
    linux.rootfsPropagation = options.rootfsPropagation
  }
  if (!options.privileged) {
    linux.maskedPaths = [...DEFAULT_MASKED_PATHS]
    linux.readonlyPaths = [...DEFAULT_READONLY_PATHS]
  }
  if (options.rdtClass !== undefined && options.rdtClass !== '') {
    if (!context.host.resctrl)
      throw new FailedPrecondition('--rdt-class: Intel RDT is not available on this host (no resctrl file system is mounted at /sys/fs/resctrl)')
    linux.intelRdt = {closID: options.rdtClass}
  }
  return linux
}

/** root.path: the `--rootfs` directory (absolute), else the placeholder a start replaces. */
function rootPath(options: SpecOptions): string {
  if (options.rootPath === undefined) return DEFAULT_ROOT_PATH
  if (!isCleanAbsolute(options.rootPath) || cleanPath(options.rootPath) === '/')
    throw invalid(`rootfs ${JSON.stringify(options.rootPath)} must be an absolute path below /`)
  return cleanPath(options.rootPath)
}

/**
 * The runtime spec for a container (pure: no I/O). Process: args, env, cwd, the resolved user,
 * capabilities, RLIMIT_NOFILE min(1024, caller's hard limit), noNewPrivileges unless allowNewPrivileges.
 * Root: DEFAULT_ROOT_PATH (rendered per start), readonly with readOnly. Mounts: containerd's defaults,
 * host network files, the options' mounts, the init binary. Linux: device rules, resources, absolute
 * cgroupsPath, pid/ipc/uts/mount(/network) namespaces, masked and read-only paths unless privileged.
 * @throws InvalidArgument for invalid options or an empty command; FailedPrecondition for an added
 * capability this process lacks.
 */
export function buildSpec(options: SpecOptions, context: SpecContext): RuntimeSpec {
  if (options.privilegedWithoutHostDevices && !options.privileged) throw invalid("can't use 'privileged-without-host-devices' without 'privileged' specified")
  const {user, host} = context
  const caps = resolveCapabilities({
    privileged: options.privileged,
    capAdd: options.capAdd,
    capDrop: options.capDrop,
    available: host.capabilities,
    defaults: DEFAULT_CAPABILITIES,
  })
  const nofile = Math.min(DEFAULT_NOFILE, host.nofileHard)
  let rlimit = {type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile}
  if (options.rlimitNofile) {
    const {soft, hard} = options.rlimitNofile
    for (const v of [soft, hard]) if (!Number.isSafeInteger(v) || v < 0) throw invalid(`rlimit-nofile: invalid limit ${v}`)
    if (soft > hard) throw invalid(`rlimit-nofile: the soft limit ${soft} is above the hard limit ${hard}`)
    // runc would fail with "operation not permitted": raising a hard limit needs CAP_SYS_RESOURCE.
    if (hard > host.nofileHard)
      throw new FailedPrecondition(
        `rlimit-nofile: the hard limit ${hard} is above this process's own (${host.nofileHard}), which only CAP_SYS_RESOURCE may raise`,
      )
    rlimit = {type: 'RLIMIT_NOFILE', hard, soft}
  }
  if (options.apparmorProfile !== undefined && options.apparmorProfile !== '' && !host.apparmor) {
    throw new FailedPrecondition('--apparmor-profile: AppArmor is not enabled on this host (/sys/module/apparmor/parameters/enabled)')
  }
  const process: Process = {
    ...(options.tty ? {terminal: true} : {}),
    user: {uid: user.uid, gid: user.gid, ...(user.additionalGids.length > 0 ? {additionalGids: [...user.additionalGids]} : {})},
    args: processArgs(options),
    env: processEnv(options, host),
    cwd: processCwd(options),
    capabilities: {bounding: caps, effective: [...caps], permitted: [...caps]},
    rlimits: [rlimit],
    ...(options.allowNewPrivileges ? {} : {noNewPrivileges: true}),
    ...(options.apparmorProfile ? {apparmorProfile: options.apparmorProfile} : {}),
  }
  const linux = specLinux(options, context, caps)
  const mounts = specMounts(options)
  let hostname: string | undefined
  if (options.hostname !== undefined && options.hostname !== '') {
    if (options.hostname.length > 64 || /[\s/\0]/.test(options.hostname)) throw invalid(`invalid hostname ${JSON.stringify(options.hostname)}`)
    hostname = options.hostname
  }
  const annotations = Object.entries(options.annotations ?? {})
  for (const [k] of annotations) if (k === '') throw invalid('annotation keys must not be empty')
  // Field order as specs-go writes it: ociVersion, process, root, hostname, mounts, annotations, linux.
  return {
    ociVersion: OCI_VERSION,
    process,
    root: {path: rootPath(options), ...(options.readOnly ? {readonly: true} : {})},
    ...(hostname !== undefined ? {hostname} : {}),
    mounts,
    ...(annotations.length > 0 ? {annotations: Object.fromEntries(annotations)} : {}),
    linux,
  }
}

/**
 * The runtime spec for a container, doing the I/O buildSpec leaves out: resolve the effective user
 * through `options.rootfs` (read-only, confined to the rootfs), read this process's limits and
 * capabilities (unless `host` is given) and, for a privileged container with host devices, /dev.
 * @throws as buildSpec and resolveUser (NotFound for an unknown user or group name).
 */
export function generateSpec(options: SpecOptions, host?: HostFacts): RuntimeSpec {
  const user = resolveUser(options.rootfs, effectiveUser(options))
  let facts = host ?? readHostFacts()
  if (host === undefined && (options.apparmorProfile || options.rdtClass)) facts = {...facts, ...readHostFeatures()}
  const hostDevices = options.privileged && !options.privilegedWithoutHostDevices ? readHostDevices() : undefined
  const devices = (options.devicePaths ?? []).flatMap((p) => devicesFromPath(p))
  let seccompProfile: LinuxSeccomp | undefined
  if (options.seccomp && options.seccompProfile !== undefined && options.seccompProfile !== '') seccompProfile = readSeccompProfile(options.seccompProfile)
  return buildSpec(options, {
    user,
    host: facts,
    ...(hostDevices ? {hostDevices} : {}),
    ...(devices.length > 0 ? {devices} : {}),
    ...(seccompProfile ? {seccompProfile} : {}),
  })
}

/** Read and parse a seccomp profile file. @throws NotFound, InvalidArgument. */
function readSeccompProfile(path: string): LinuxSeccomp {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    const message = `cannot load seccomp profile ${JSON.stringify(path)}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`
    throw e.code === 'ENOENT' ? new NotFound(message, {cause: err}) : new InvalidArgument(message, {cause: err})
  }
  return parseSeccompProfile(text, path)
}
