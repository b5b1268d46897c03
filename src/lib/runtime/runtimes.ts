// Which OCI runtime runs a container. A container records ctr's `--runtime` name and, for runc,
// containerd's runc options (`--runc-binary`, `--runc-root`, `--runc-systemd-cgroup`, `--no-pivot`);
// each start resolves them the way containerd 1.6/1.7 resolves a runtime name:
//  - io.containerd.runc.v2, io.containerd.runc.v1 and io.containerd.runtime.v1.linux all run runc
//    (containerd's shims for them are runc drivers; Berth has no shims and drives runc itself);
//  - an absolute path is a runc-compatible binary used in runc's place (containerd takes a shim
//    binary there; Berth has no shims, so the path names the OCI runtime);
//  - any other name is looked up as containerd would (`io.containerd.kata.v2` is the binary
//    containerd-shim-kata-v2) and fails with containerd's own words: Berth cannot drive a shim.
// Creating a container records any name, as containerd does; starting its task is what fails.
import {accessSync, constants as fsConstants, existsSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {FailedPrecondition, InvalidArgument} from '../errors/index.js'
import {Runc} from './runc.js'
import type {TaskRuntime} from './task-runtime.js'

/** The runtime ctr records by default (containerd's runc shim v2). */
export const DEFAULT_RUNTIME = 'io.containerd.runc.v2'

/** The runtime names containerd 1.6/1.7 run with runc (the last two deprecated, gone in 2.0). */
export const RUNC_RUNTIMES: readonly string[] = [DEFAULT_RUNTIME, 'io.containerd.runc.v1', 'io.containerd.runtime.v1.linux']

/** runc options as recorded on a container (containerd's runc `Options` message, proto field names). */
export interface RuncOptions {
  binary_name?: string
  root?: string
  systemd_cgroup?: boolean
  no_pivot_root?: boolean
}

/** ctr's RuntimeFlags (and `--no-pivot`) as given; empty strings count as not given, as in ctr. */
export interface RuntimeRequest {
  readonly name?: string
  readonly runtimeConfigPath?: string
  readonly runcBinary?: string
  readonly runcRoot?: string
  readonly runcSystemdCgroup?: boolean
  readonly noPivot?: boolean
  /** `--cgroup`, which `--runc-systemd-cgroup` needs. */
  readonly cgroup?: string | null
  /** Whether systemd runs this host (readHostFeatures().systemd), for `--runc-systemd-cgroup`. */
  readonly systemd?: boolean
}

/** Whether containers of runtime `name` run under a runc-compatible binary (a runc name or a path). */
export function isRuncRuntime(name: string): boolean {
  return RUNC_RUNTIMES.includes(name) || name.startsWith('/')
}

/**
 * What a container records for its runtime: the name and the runtime options, checked the way
 * ctr's RuntimeOptions checks them (its error texts).
 * @throws InvalidArgument for combinations ctr refuses or runc cannot use; FailedPrecondition for
 * `--runc-systemd-cgroup` on a host without systemd.
 */
export function runtimeRecord(req: RuntimeRequest): {name: string; options?: Record<string, unknown>} {
  const name = req.name || DEFAULT_RUNTIME
  if ((req.runcBinary || req.runcSystemdCgroup) && name !== DEFAULT_RUNTIME) {
    throw new InvalidArgument(`specifying runc-binary and runc-systemd-cgroup is only supported for "${DEFAULT_RUNTIME}" runtime`)
  }
  if (req.runcSystemdCgroup) {
    if (!req.cgroup) throw new InvalidArgument('option --runc-systemd-cgroup requires --cgroup to be set, e.g. "machine.slice:foo:deadbeef"')
    if (!req.systemd)
      throw new FailedPrecondition(
        "--runc-systemd-cgroup: this host does not run systemd (no /run/systemd/system), so runc's systemd cgroup driver cannot work; leave it out " +
          'to use the cgroupfs driver',
      )
  }
  if (!isRuncRuntime(name)) {
    if (req.runcRoot) throw new InvalidArgument(`--runc-root is an option of runc runtimes, not of ${JSON.stringify(name)}`)
    return req.runtimeConfigPath ? {name, options: {config_path: req.runtimeConfigPath}} : {name}
  }
  if (req.runtimeConfigPath) {
    throw new InvalidArgument(
      `--runtime-config-path: runtime ${JSON.stringify(name)} is runc, which reads no runtime config file (the option is for shims such as kata's)`,
    )
  }
  if (req.runcRoot && !req.runcRoot.startsWith('/')) throw new InvalidArgument(`--runc-root ${JSON.stringify(req.runcRoot)} must be an absolute path`)
  const options: RuncOptions = {
    ...(req.noPivot ? {no_pivot_root: true} : {}),
    ...(req.runcBinary ? {binary_name: req.runcBinary} : {}),
    ...(req.runcRoot ? {root: req.runcRoot} : {}),
    ...(req.runcSystemdCgroup ? {systemd_cgroup: true} : {}),
  }
  return Object.keys(options).length > 0 ? {name, options: {...options}} : {name}
}

/** A program's absolute path through $PATH (conmon insists on an absolute runtime path), or `name` itself when it has a slash or is not found. */
export function findProgram(name: string): string {
  if (name.includes('/')) return name
  return locateProgram(name) ?? name
}

/**
 * A program's absolute path: `name` itself when it has a slash and exists, else the first executable in $PATH or the
 * sbin/bin dirs; undefined when there is none.
 */
export function locateProgram(name: string): string | undefined {
  if (name.includes('/')) return existsSync(name) ? name : undefined
  return lookPath(name) ?? ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p))
}

/** An executable `name` in $PATH, or undefined. */
function lookPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, fsConstants.X_OK)
      if (statSync(candidate).isFile()) return candidate
    } catch {
      // not here
    }
  }
  return undefined
}

/** containerd's shim binary name for a runtime name: `io.containerd.kata.v2` -> `containerd-shim-kata-v2`; '' if invalid. */
export function shimBinaryName(runtime: string): string {
  const parts = runtime.split('.')
  if (parts.length < 2 || parts[0] === '') return ''
  return `containerd-shim-${parts[parts.length - 2]}-${parts[parts.length - 1]}`
}

/** What starting a task of a container needs to know about its runtime. */
export interface ResolvedRuntime {
  /** The runc-compatible binary (absolute when found). */
  readonly binary: string
  /** runc's state root for namespace `ns`: `<root>/<ns>` with `--runc-root`, else Berth's. */
  readonly root: string | undefined
  readonly noPivot: boolean
  readonly systemdCgroup: boolean
}

/** A start's error as containerd's task service reports a runtime it cannot resolve (class unknown). */
const shimError = (why: string) => new FailedPrecondition(`failed to start shim: failed to resolve runtime path: ${why}: unknown`)

/**
 * Resolve a container's recorded runtime for a start; `defaultRunc` is the configured runc.
 * @throws FailedPrecondition with containerd's texts for a name it would not resolve, an absent
 * binary, or a shim runtime.
 */
export function resolveRuntime(runtime: {name: string; options?: unknown}, defaultRunc: string): ResolvedRuntime {
  const name = runtime.name
  const options = (typeof runtime.options === 'object' && runtime.options !== null ? runtime.options : {}) as RuncOptions
  const rest = {root: options.root, noPivot: options.no_pivot_root === true, systemdCgroup: options.systemd_cgroup === true}
  if (RUNC_RUNTIMES.includes(name)) return {binary: options.binary_name ? findProgram(options.binary_name) : defaultRunc, ...rest}
  if (name.startsWith('/')) {
    let isFile: boolean
    try {
      isFile = statSync(name).isFile()
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      throw shimError(`invalid custom binary path: stat ${name}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`)
    }
    try {
      if (!isFile) throw new Error('not a file')
      accessSync(name, fsConstants.X_OK)
    } catch {
      throw new FailedPrecondition(`runtime ${JSON.stringify(name)}: not an executable file`)
    }
    return {binary: name, ...rest}
  }
  const invalid = `invalid runtime name ${name}, correct runtime name should be either format like \`io.containerd.runc.v1\` or a full path to the binary`
  if (name.includes('/')) throw shimError(invalid)
  const shim = shimBinaryName(name)
  if (shim === '') throw shimError(invalid)
  const found = lookPath(shim)
  if (found === undefined) throw shimError(`runtime ${JSON.stringify(name)} binary not installed ${JSON.stringify(shim)}: file does not exist`)
  throw new FailedPrecondition(
    `runtime ${JSON.stringify(name)} is a containerd shim (${found}): Berth has no shims and runs runc-compatible runtimes only ` +
      `(${RUNC_RUNTIMES.join(', ')}, or the absolute path of a runc-compatible binary)`,
  )
}

/**
 * The runc that runs container `id`'s task: its recorded runtime resolved (see resolveRuntime),
 * or the namespace's default runc when the container is gone.
 * @throws FailedPrecondition when the recorded runtime does not resolve.
 */
export function containerRunc(rt: TaskRuntime, id: string): Runc {
  const rec = rt.store.containers.find(rt.ns, id)
  if (!rec) return rt.runc
  const r = resolveRuntime(rec.runtime, rt.runc.binary)
  const root = r.root === undefined ? rt.runc.root : join(r.root, rt.ns)
  if (r.binary === rt.runc.binary && root === rt.runc.root && !r.systemdCgroup) return rt.runc
  return new Runc(r.binary, root, {systemdCgroup: r.systemdCgroup})
}

/** Whether the container's task should start without pivot_root (recorded `--no-pivot`). */
export function containerNoPivot(rt: TaskRuntime, id: string): boolean {
  const options = rt.store.containers.find(rt.ns, id)?.runtime.options as RuncOptions | undefined
  return options?.no_pivot_root === true
}
