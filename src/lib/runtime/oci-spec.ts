// The subset of the OCI runtime spec 1.0.2 (`config.json`) that Berth generates and runc 1.1.5 reads.
// Field names and their order follow runtime-spec's specs-go, so the JSON reads like containerd's;
// optional fields are left out rather than written empty, as Go's `omitempty` does.

/** The runtime-spec version written into every spec (runc 1.1.5 implements 1.0.2). */
export const OCI_VERSION = '1.0.2'

/** A container's runtime spec (`config.json`). */
export interface RuntimeSpec {
  ociVersion: string
  process: Process
  root: Root
  hostname?: string
  mounts: Mount[]
  annotations?: Record<string, string>
  /** Only in a spec the user gave (`--config`): Berth writes none of its own to the file. */
  hooks?: Record<string, unknown[] | undefined>
  linux: Linux
}

/** The container's init process. */
export interface Process {
  terminal?: boolean
  user: User
  args: string[]
  env: string[]
  cwd: string
  capabilities: LinuxCapabilities
  rlimits: PosixRlimit[]
  noNewPrivileges?: boolean
  apparmorProfile?: string
}

/** Numeric identity of the process inside the container. */
export interface User {
  uid: number
  gid: number
  additionalGids?: number[]
}

/** Capability sets by name (`CAP_…`). */
export interface LinuxCapabilities {
  bounding?: string[]
  effective?: string[]
  inheritable?: string[]
  permitted?: string[]
  ambient?: string[]
}

/** One rlimit; `type` is e.g. `RLIMIT_NOFILE`. */
export interface PosixRlimit {
  type: string
  hard: number
  soft: number
}

/** The root file system; `path` is absolute once rendered for a start (see template.ts). */
export interface Root {
  path: string
  readonly?: boolean
}

/** A mount set up inside the container, in order. */
export interface Mount {
  destination: string
  type?: string
  source?: string
  options?: string[]
}

/** The Linux section. `cgroupsPath` is absent only when asked for (`--cgroup ""`). */
export interface Linux {
  uidMappings?: LinuxIDMapping[]
  gidMappings?: LinuxIDMapping[]
  resources: LinuxResources
  cgroupsPath?: string
  namespaces: LinuxNamespace[]
  devices?: LinuxDevice[]
  seccomp?: LinuxSeccomp
  rootfsPropagation?: string
  maskedPaths?: string[]
  readonlyPaths?: string[]
  intelRdt?: {closID?: string}
}

/** A user namespace mapping: `size` ids from `containerID` on map to `hostID` on. */
export interface LinuxIDMapping {
  containerID: number
  hostID: number
  size: number
}

/** A seccomp filter (runc's libseccomp names: `SCMP_ACT_*`, `SCMP_ARCH_*`, `SCMP_CMP_*`). */
export interface LinuxSeccomp {
  defaultAction: string
  defaultErrnoRet?: number
  architectures?: string[]
  flags?: string[]
  listenerPath?: string
  listenerMetadata?: string
  syscalls?: LinuxSyscall[]
}

/** One seccomp rule: `action` for `names` when every condition in `args` holds. */
export interface LinuxSyscall {
  names: string[]
  action: string
  errnoRet?: number
  args?: LinuxSeccompArg[]
}

/** A condition on syscall argument `index`: `op` compares it with `value` (MASKED_EQ: (arg & value) == valueTwo). */
export interface LinuxSeccompArg {
  index: number
  value: number
  valueTwo?: number
  op: string
}

/** cgroup settings. */
export interface LinuxResources {
  devices: LinuxDeviceCgroup[]
  memory?: {limit?: number}
  cpu?: {shares?: number; quota?: number; period?: number; cpus?: string; mems?: string}
}

/** A device cgroup rule: allow or deny `access` (subset of `rwm`) to devices of a type and number. */
export interface LinuxDeviceCgroup {
  allow: boolean
  type?: string
  major?: number
  minor?: number
  access?: string
}

/** Linux namespace kinds as runtime-spec names them. */
export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup'

/** A Linux namespace: a new one, or the one at `path`. */
export interface LinuxNamespace {
  type: NamespaceType
  path?: string
}

/** A device node runc creates in the container's /dev. */
export interface LinuxDevice {
  path: string
  type: string
  major: number
  minor: number
  fileMode?: number
  uid?: number
  gid?: number
}
