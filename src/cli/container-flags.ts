// ctr's ContainerFlags, RuntimeFlags, snapshotter flags and run's Linux flags (containerd 1.7 and
// 2.x; `containers create` and `run` share them) and their translation into createContainer's
// options. The lib checks values and combinations; here only the shape of the command line is
// checked: which positionals there are, and which flags cannot go with `--config` or `--rootfs`.
import {Args, Flags} from '@oclif/core'
import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {type BerthConfig, resolveSnapshotter} from '../lib/config/index.js'
import {InvalidArgument} from '../lib/errors/index.js'
import {parseLabelArgs, type Labels} from '../lib/oci/labels.js'
import {parseReference} from '../lib/oci/index.js'
import {
  type CreateContainerOptions,
  DEFAULT_RUNTIME,
  parseIdMapping,
  parseNamespaceFlag,
  parseRlimitNofile,
  type SpecOptions,
  validateCreateArgs,
} from '../lib/runtime/index.js'
import type {PositionalCount} from './command-args.js'
import {snapshotterFlag} from './flags.js'

const many = (summary: string, helpValue?: string) => Flags.string({summary, multiple: true, multipleNonGreedy: true, ...(helpValue ? {helpValue} : {})})

export const containerFlags = {
  // Where the container comes from.
  config: Flags.string({
    char: 'c',
    summary: 'OCI runtime spec file to use as is (then only the container ID is given; its root.path is the rootfs)',
    helpValue: 'FILE',
  }),
  rootfs: Flags.boolean({summary: 'the first argument is a host directory to use as the root file system (no image, no snapshot)'}),
  snapshotter: snapshotterFlag,
  'snapshotter-label': many("label of the container's new snapshot, k=v (repeatable)"),
  platform: Flags.string({summary: 'run the image for this platform (default: the host)'}),
  'sync-fs': Flags.boolean({summary: 'flush each layer unpacked for this container to disk before recording it'}),
  // Runtime (ctr's RuntimeFlags).
  runtime: Flags.string({
    summary:
      `runtime name (${DEFAULT_RUNTIME}, io.containerd.runc.v1, io.containerd.runtime.v1.linux: runc) or absolute path of a runc-compatible ` +
      `binary [default: ${DEFAULT_RUNTIME}]`,
  }),
  'runtime-config-path': Flags.string({summary: 'runtime config file (for shim runtimes; runc reads none, so refused with runc)'}),
  'runc-binary': Flags.string({summary: 'runc-compatible binary to use (io.containerd.runc.v2 only)'}),
  'runc-root': Flags.string({summary: "runc's state root for this container (<root>/<namespace>)"}),
  'runc-systemd-cgroup': Flags.boolean({summary: "runc's systemd cgroup driver (needs --cgroup and a host running systemd)"}),
  'no-pivot': Flags.boolean({summary: 'start without pivot_root (recorded on the container: every start)'}),
  // Process.
  cwd: Flags.string({summary: 'working directory of the process'}),
  env: many('KEY=VALUE environment variable (repeatable; a bare KEY unsets it)'),
  'env-file': Flags.string({summary: 'file of KEY=VALUE lines'}),
  user: Flags.string({char: 'u', summary: 'user (uid, uid:gid, name or name:group) resolved in the image'}),
  tty: Flags.boolean({char: 't', summary: 'allocate a terminal'}),
  'rlimit-nofile': Flags.string({summary: "RLIMIT_NOFILE, soft[:hard] (not above this process's hard limit)"}),
  init: Flags.boolean({summary: 'run tini as PID 1 in front of the process (reaps zombies, forwards signals)'}),
  // Metadata.
  label: many('container label k=v (repeatable; also an OCI annotation, as in ctr)'),
  annotation: many('OCI annotation k=v (repeatable)'),
  hostname: Flags.string({summary: 'hostname of the container'}),
  // File system.
  mount: many('mount, as ctr: type=bind,src=/host,dst=/ctr,options=rbind:ro (repeatable)'),
  'read-only': Flags.boolean({summary: 'mount the root file system read-only'}),
  'rootfs-propagation': Flags.string({summary: 'propagation of the root mount (private, rprivate, slave, rslave, shared, rshared, ...)'}),
  device: many('host device node (or directory of nodes) to add, allowed rwm (repeatable; CDI names are refused)'),
  // Namespaces.
  'net-host': Flags.boolean({summary: "share the host's network namespace"}),
  'with-ns': many('join an existing namespace, nstype:path (repeatable; e.g. network:/run/netns/x)'),
  uidmap: many('user namespace uid mapping container-id:host-id:size (repeatable; with --gidmap)'),
  gidmap: many('user namespace gid mapping container-id:host-id:size (repeatable; with --uidmap)'),
  'remap-labels': Flags.boolean({summary: 'remap through snapshotter labels (refused: no snapshotter here reads them)'}),
  sandbox: Flags.string({summary: 'create the container in a sandbox (refused: Berth has no sandbox API)'}),
  // Privileges and confinement.
  privileged: Flags.boolean({summary: 'all capabilities, all devices, no masked paths'}),
  'privileged-without-host-devices': Flags.boolean({summary: "with --privileged: do not give the host's devices"}),
  'cap-add': many('add a capability (CAP_ prefix optional; ALL)'),
  'cap-drop': many('drop a capability (CAP_ prefix optional; ALL)'),
  'allow-new-privs': Flags.boolean({summary: 'do not set no_new_privileges'}),
  seccomp: Flags.boolean({summary: "a seccomp filter: Berth's default profile, or --seccomp-profile"}),
  'seccomp-profile': Flags.string({summary: 'seccomp profile file (needs --seccomp)'}),
  'apparmor-profile': Flags.string({summary: 'AppArmor profile loaded on the host (refused where AppArmor is off)'}),
  'apparmor-default-profile': Flags.string({summary: 'generate and load a default AppArmor profile (refused: not supported)'}),
  // Resources.
  cgroup: Flags.string({summary: 'cgroups path (absolute; "" leaves it to runc) [default: /berth[-<state>]/<namespace>/<id>]'}),
  'memory-limit': Flags.integer({summary: 'memory limit in bytes (0: none)', min: 0}),
  cpus: Flags.string({summary: 'CPUs (a float; quota = cpus × 100000 per 100000 µs)'}),
  'cpu-quota': Flags.integer({summary: 'CFS quota in µs per period (-1: none) [default: -1]'}),
  'cpu-period': Flags.integer({summary: "CFS period in µs (0: the kernel's) [default: 0]", min: 0}),
  'cpu-shares': Flags.integer({summary: "CPU shares (relative weight) [default: the kernel's, 1024]", min: 2}),
  'cpuset-cpus': Flags.string({summary: 'CPUs the container may run on (e.g. 0-2,4)'}),
  'cpuset-mems': Flags.string({summary: 'memory nodes the container may use (e.g. 0)'}),
  gpus: many('GPU to add (refused: no GPU support)'),
  'blockio-config-file': Flags.string({summary: 'block I/O class definitions (refused: not supported)'}),
  'blockio-class': Flags.string({summary: 'block I/O class (refused: not supported)'}),
  'rdt-class': Flags.string({summary: 'Intel RDT class (refused where no resctrl file system is mounted)'}),
  // A task option in ctr: meaningless for create, refused there.
  'pid-file': Flags.string({summary: 'file to write the process id to (run only)'}),
}

/** What the flags hold after parsing (every flag optional; booleans default to false). */
export interface ContainerFlagValues {
  config?: string
  rootfs?: boolean
  snapshotter?: string
  'snapshotter-label'?: string[]
  platform?: string
  'sync-fs'?: boolean
  runtime?: string
  'runtime-config-path'?: string
  'runc-binary'?: string
  'runc-root'?: string
  'runc-systemd-cgroup'?: boolean
  'no-pivot'?: boolean
  cwd?: string
  env?: string[]
  'env-file'?: string
  user?: string
  tty?: boolean
  'rlimit-nofile'?: string
  init?: boolean
  label?: string[]
  annotation?: string[]
  hostname?: string
  mount?: string[]
  'read-only'?: boolean
  'rootfs-propagation'?: string
  device?: string[]
  'net-host'?: boolean
  'with-ns'?: string[]
  uidmap?: string[]
  gidmap?: string[]
  'remap-labels'?: boolean
  sandbox?: string
  privileged?: boolean
  'privileged-without-host-devices'?: boolean
  'cap-add'?: string[]
  'cap-drop'?: string[]
  'allow-new-privs'?: boolean
  seccomp?: boolean
  'seccomp-profile'?: string
  'apparmor-profile'?: string
  'apparmor-default-profile'?: string
  cgroup?: string
  'memory-limit'?: number
  cpus?: string
  'cpu-quota'?: number
  'cpu-period'?: number
  'cpu-shares'?: number
  'cpuset-cpus'?: string
  'cpuset-mems'?: string
  gpus?: string[]
  'blockio-config-file'?: string
  'blockio-class'?: string
  'rdt-class'?: string
  'pid-file'?: string
}

/** `run`'s and `containers create`'s positionals: ID alone after `--config`, else IMAGE|ROOTFS and ID. */
export const containerPositionals: PositionalCount = (seen) => (seen.has('--config') ? 1 : 2)

/** Where Debian's tini package installs its static binary (usable inside any image). */
export const TINI_STATIC = '/usr/bin/tini-static'

/** Flags that shape the spec or need an image: none may go with `--config`, whose spec is used as is. */
const SPEC_FLAGS: ReadonlyArray<keyof ContainerFlagValues> = [
  'rootfs',
  'snapshotter-label',
  'platform',
  'sync-fs',
  'cwd',
  'env',
  'env-file',
  'user',
  'rlimit-nofile',
  'init',
  'annotation',
  'hostname',
  'mount',
  'read-only',
  'rootfs-propagation',
  'device',
  'net-host',
  'with-ns',
  'uidmap',
  'gidmap',
  'privileged',
  'privileged-without-host-devices',
  'cap-add',
  'cap-drop',
  'allow-new-privs',
  'seccomp',
  'seccomp-profile',
  'apparmor-profile',
  'cgroup',
  'memory-limit',
  'cpus',
  'cpu-quota',
  'cpu-period',
  'cpu-shares',
  'cpuset-cpus',
  'cpuset-mems',
  'rdt-class',
]

/** Flags about an image, which `--rootfs` has none of. */
const IMAGE_FLAGS: ReadonlyArray<keyof ContainerFlagValues> = ['snapshotter-label', 'platform', 'sync-fs']

const given = (v: unknown): boolean => v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0)

/**
 * ctr's AnnotationArgs: `k=v` only. @throws InvalidArgument `invalid key=value format annotation: <s>`.
 */
export function parseAnnotationArgs(args: readonly string[]): Labels {
  const out: Labels = {}
  for (const a of args) {
    const eq = a.indexOf('=')
    if (eq < 0) throw new InvalidArgument(`invalid key=value format annotation: ${a}`)
    out[a.slice(0, eq)] = a.slice(eq + 1)
  }
  return out
}

/** The spec options the flags ask for; `args` is the command after the container id. */
export function specOptionsFrom(flags: ContainerFlagValues, args: readonly string[]): NonNullable<CreateContainerOptions['spec']> {
  let cpus: number | undefined
  if (flags.cpus !== undefined) {
    cpus = Number(flags.cpus)
    if (flags.cpus.trim() === '' || !Number.isFinite(cpus) || cpus < 0)
      throw new InvalidArgument(`invalid --cpus ${JSON.stringify(flags.cpus)}`, {suffixKind: true})
  }
  let envFile: string | undefined
  if (flags['env-file'] !== undefined) {
    try {
      envFile = readFileSync(flags['env-file'], 'utf8')
    } catch (err) {
      throw new InvalidArgument(`cannot read --env-file ${JSON.stringify(flags['env-file'])}: ${(err as Error).message}`, {suffixKind: true})
    }
  }
  const opt = <K extends keyof SpecOptions>(key: K, value: SpecOptions[K] | undefined): Partial<SpecOptions> => (value === undefined ? {} : {[key]: value})
  return {
    ...(args.length > 0 ? {args} : {}),
    env: flags.env ?? [],
    ...opt('envFile', envFile),
    ...opt('cwd', flags.cwd),
    ...opt('user', flags.user),
    mounts: flags.mount ?? [],
    readOnly: flags['read-only'] ?? false,
    netHost: flags['net-host'] ?? false,
    ...opt('hostname', flags.hostname),
    tty: flags.tty ?? false,
    ...opt('memoryLimit', flags['memory-limit']),
    ...opt('cpus', cpus),
    ...opt('cpuQuota', flags['cpu-quota']),
    ...opt('cpuPeriod', flags['cpu-period']),
    ...opt('cpuShares', flags['cpu-shares']),
    ...opt('cpusetCpus', flags['cpuset-cpus']),
    ...opt('cpusetMems', flags['cpuset-mems']),
    privileged: flags.privileged ?? false,
    privilegedWithoutHostDevices: flags['privileged-without-host-devices'] ?? false,
    capAdd: flags['cap-add'] ?? [],
    capDrop: flags['cap-drop'] ?? [],
    allowNewPrivileges: flags['allow-new-privs'] ?? false,
    annotations: parseAnnotationArgs(flags.annotation ?? []),
    ...(flags.init ? {init: {hostPath: TINI_STATIC}} : {}),
    ...(flags['with-ns'] && flags['with-ns'].length > 0 ? {joinNamespaces: flags['with-ns'].map(parseNamespaceFlag)} : {}),
    ...(flags.device && flags.device.length > 0 ? {devicePaths: flags.device} : {}),
    ...(flags.seccomp ? {seccomp: true} : {}),
    ...opt('seccompProfile', flags['seccomp-profile']),
    ...opt('apparmorProfile', flags['apparmor-profile']),
    ...opt('rootfsPropagation', flags['rootfs-propagation']),
    ...opt('rlimitNofile', flags['rlimit-nofile'] === undefined ? undefined : parseRlimitNofile(flags['rlimit-nofile'])),
    ...(flags.uidmap && flags.uidmap.length > 0 ? {uidMappings: flags.uidmap.map(parseIdMapping)} : {}),
    ...(flags.gidmap && flags.gidmap.length > 0 ? {gidMappings: flags.gidmap.map(parseIdMapping)} : {}),
    ...opt('rdtClass', flags['rdt-class']),
    // ctr: `--cgroup ""` disables the cgroups path.
    ...(flags.cgroup === undefined ? {} : {cgroupsPath: flags.cgroup === '' ? null : flags.cgroup}),
  }
}

/**
 * What `containers create` and `run` hand to createContainer: IMAGE|ROOTFS and ID from the
 * positionals (ID alone with `--config`), the command from `argv` after them, everything else from
 * the flags. @throws InvalidArgument (missing positionals, flags that do not go together, bad values).
 */
export function createOptionsFrom(
  command: 'run' | 'create',
  namespace: string,
  config: Pick<BerthConfig, 'defaultSnapshotter'>,
  argv: readonly string[],
  flags: ContainerFlagValues & {'dump-config'?: string},
): CreateContainerOptions {
  const specFile = flags.config
  if (specFile !== undefined) {
    validateCreateArgs(undefined, argv[0], {specFile: true, extra: argv.length - 1})
    const clash = SPEC_FLAGS.filter((f) => given(flags[f]))
    if (clash.length > 0) throw new InvalidArgument(`--${clash[0]} cannot be used with --config: the spec file is used as is`)
  } else validateCreateArgs(argv[0], argv[1])
  if (flags.rootfs) {
    const clash = IMAGE_FLAGS.filter((f) => given(flags[f]))
    if (clash.length > 0) throw new InvalidArgument(`--${clash[0]} cannot be used with --rootfs: there is no image`)
  }
  if (command === 'create' && flags['pid-file'] !== undefined) {
    throw new InvalidArgument('--pid-file: containers create starts no task; give it to ctr tasks start or ctr run')
  }
  const id = specFile !== undefined ? argv[0] : argv[1]
  const source =
    specFile !== undefined ? {specFile: resolve(specFile)} : flags.rootfs ? {rootfs: resolve(argv[0])} : {image: parseReference(argv[0]).toString()}
  return {
    namespace,
    id,
    ...source,
    snapshotter: resolveSnapshotter(config, flags.snapshotter),
    ...(flags['snapshotter-label'] && flags['snapshotter-label'].length > 0 ? {snapshotterLabels: parseLabelArgs(flags['snapshotter-label'])} : {}),
    ...(flags['sync-fs'] ? {syncFs: true} : {}),
    runtime: {
      ...(flags.runtime ? {name: flags.runtime} : {}),
      ...(flags['runtime-config-path'] ? {runtimeConfigPath: flags['runtime-config-path']} : {}),
      ...(flags['runc-binary'] ? {runcBinary: flags['runc-binary']} : {}),
      ...(flags['runc-root'] ? {runcRoot: resolve(flags['runc-root'])} : {}),
      ...(flags['runc-systemd-cgroup'] ? {runcSystemdCgroup: true} : {}),
      ...(flags['no-pivot'] ? {noPivot: true} : {}),
    },
    labels: parseLabelArgs(flags.label ?? []),
    ...(flags.platform !== undefined ? {platform: flags.platform} : {}),
    spec: specFile !== undefined ? {tty: flags.tty ?? false} : specOptionsFrom(flags, argv.slice(2)),
    unsupported: {
      ...(flags.gpus && flags.gpus.length > 0 ? {gpus: flags.gpus.map(Number)} : {}),
      ...(flags.sandbox ? {sandbox: flags.sandbox} : {}),
      ...(flags['blockio-config-file'] ? {blockioConfigFile: flags['blockio-config-file']} : {}),
      ...(flags['blockio-class'] ? {blockioClass: flags['blockio-class']} : {}),
      ...(flags['apparmor-default-profile'] ? {apparmorDefaultProfile: flags['apparmor-default-profile']} : {}),
      ...(flags['remap-labels'] ? {remapLabels: true} : {}),
    },
    ...(flags['dump-config'] !== undefined ? {dumpConfig: flags['dump-config'] === '' ? '' : resolve(flags['dump-config'])} : {}),
  }
}

/** The positionals `run` and `containers create` share, before the command and its args. */
export const containerArgs = {
  image: Args.string({description: 'image reference (a host directory with --rootfs; the ID with --config)'}),
  id: Args.string({description: 'container id'}),
}
