// Build a container's OCI runtime spec from its image config and ctr-style options, the way
// `ctr run`/`ctr containers create` compose containerd's spec options (containerd 1.7).
//
// buildSpec is pure: the user is resolved and the host facts are read beforehand (generateSpec does
// both). The result always has an absolute linux.cgroupsPath, never asks for an rlimit above the
// caller's hard limit or a capability the caller lacks, and carries the placeholder root path
// DEFAULT_ROOT_PATH until template.ts renders it for a start.
import {posix} from 'node:path'
import {InvalidArgument} from '../errors/index.js'
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
import {readHostDevices, readHostFacts, type HostFacts} from './host.js'
import {parseMountFlag} from './mount-flag.js'
import {OCI_VERSION, type Linux, type LinuxDevice, type Mount, type Process, type RuntimeSpec} from './oci-spec.js'
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
  /** `--cpu-shares`; 0 means none. */
  cpuShares?: number
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
  /** `--cgroup`: an explicit absolute cgroups path instead of `<cgroupParent>/<namespace>/<id>`. */
  cgroupsPath?: string
  /** The container rootfs (mounted, or the image's layers unmounted), read by generateSpec for /etc/passwd and /etc/group only. */
  rootfs?: RootFs
}

/** What buildSpec needs besides the options: the resolved user and facts about this process. */
export interface SpecContext {
  user: ResolvedUser
  host: HostFacts
  /** Device nodes to create for a privileged container (readHostDevices()). */
  hostDevices?: readonly LinuxDevice[]
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
    if (!isCleanAbsolute(containerPath) || cleanPath(containerPath) === '/') throw invalid(`init path ${JSON.stringify(containerPath)} must be an absolute file path`)
    mounts = putMount(mounts, {destination: containerPath, type: 'bind', source: hostPath, options: ['rbind', 'ro']})
  }
  return mounts
}

const nonNegativeInteger = (name: string, v: number): number => {
  if (!Number.isSafeInteger(v) || v < 0) throw invalid(`${name} must be a non-negative integer, got ${v}`)
  return v
}

function specLinux(options: SpecOptions, context: SpecContext): Linux {
  const namespaced = cgroupsPathFor(options.namespace, options.id, options.cgroupParent ?? DEFAULT_CGROUP_PARENT) // validates namespace and id
  const cgroupsPath = options.cgroupsPath ?? namespaced
  if (!isCleanAbsolute(cgroupsPath) || cleanPath(cgroupsPath) === '/') throw invalid(`cgroups path ${JSON.stringify(cgroupsPath)} must be an absolute path below /`)
  const allDevices = options.privileged && !options.privilegedWithoutHostDevices
  const linux: Linux = {
    resources: {devices: allDevices ? [{allow: true, access: 'rwm'}] : defaultDeviceRules()},
    cgroupsPath,
    namespaces: defaultNamespaces(options.netHost),
  }
  const memory = nonNegativeInteger('memory limit', options.memoryLimit ?? 0)
  if (memory > 0) linux.resources.memory = {limit: memory}
  const shares = nonNegativeInteger('cpu shares', options.cpuShares ?? 0)
  const cpus = options.cpus ?? 0
  if (!Number.isFinite(cpus) || cpus < 0) throw invalid(`cpus must be a non-negative number, got ${cpus}`)
  const quota = Math.trunc(cpus * CPU_PERIOD)
  if (cpus > 0 && quota < 1000) throw invalid(`cpus must be at least 0.01, got ${cpus}`)
  if (shares > 0 || quota > 0) {
    linux.resources.cpu = {}
    if (shares > 0) linux.resources.cpu.shares = shares
    if (quota > 0) Object.assign(linux.resources.cpu, {quota, period: CPU_PERIOD})
  }
  if (allDevices && context.hostDevices && context.hostDevices.length > 0) linux.devices = context.hostDevices.map((d) => ({...d}))
  if (!options.privileged) {
    linux.maskedPaths = [...DEFAULT_MASKED_PATHS]
    linux.readonlyPaths = [...DEFAULT_READONLY_PATHS]
  }
  return linux
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
  const process: Process = {
    ...(options.tty ? {terminal: true} : {}),
    user: {uid: user.uid, gid: user.gid, ...(user.additionalGids.length > 0 ? {additionalGids: [...user.additionalGids]} : {})},
    args: processArgs(options),
    env: processEnv(options, host),
    cwd: processCwd(options),
    capabilities: {bounding: caps, effective: [...caps], permitted: [...caps]},
    rlimits: [{type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile}],
    ...(options.allowNewPrivileges ? {} : {noNewPrivileges: true}),
  }
  const linux = specLinux(options, context)
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
    root: {path: DEFAULT_ROOT_PATH, ...(options.readOnly ? {readonly: true} : {})},
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
  const facts = host ?? readHostFacts()
  const hostDevices = options.privileged && !options.privilegedWithoutHostDevices ? readHostDevices() : undefined
  return buildSpec(options, {user, host: facts, ...(hostDevices ? {hostDevices} : {})})
}
