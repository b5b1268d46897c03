// ctr's ContainerFlags (create and run share them) and their translation into spec options.
import {Flags} from '@oclif/core'
import {readFileSync} from 'node:fs'
import {InvalidArgument} from '../lib/errors/index.js'
import {parseLabelArgs} from '../lib/oci/labels.js'
import {parseReference} from '../lib/oci/index.js'
import {type CreateContainerOptions, type SpecOptions, validateCreateArgs} from '../lib/runtime/index.js'
import {snapshotterFlag} from './flags.js'

const many = (summary: string) => Flags.string({summary, multiple: true, multipleNonGreedy: true})

export const containerFlags = {
  snapshotter: snapshotterFlag,
  platform: Flags.string({summary: 'run the image for this platform (default: the host)'}),
  runtime: Flags.string({summary: 'runtime name recorded for the container', default: 'io.containerd.runc.v2'}),
  cwd: Flags.string({summary: 'working directory of the process'}),
  env: many('KEY=VALUE environment variable (repeatable; a bare KEY unsets it)'),
  'env-file': Flags.string({summary: 'file of KEY=VALUE lines'}),
  label: many('container label k=v (repeatable)'),
  annotation: many('OCI annotation k=v (repeatable)'),
  mount: many("mount, as ctr: type=bind,src=/host,dst=/ctr,options=rbind:ro (repeatable)"),
  'net-host': Flags.boolean({summary: "share the host's network namespace"}),
  privileged: Flags.boolean({summary: 'all capabilities, all devices, no masked paths'}),
  'read-only': Flags.boolean({summary: 'mount the root file system read-only'}),
  tty: Flags.boolean({char: 't', summary: 'allocate a terminal'}),
  user: Flags.string({char: 'u', summary: 'user (uid, uid:gid, name or name:group) resolved in the image'}),
  hostname: Flags.string({summary: 'hostname of the container'}),
  'memory-limit': Flags.integer({summary: 'memory limit in bytes', min: 1}),
  cpus: Flags.string({summary: 'CPUs (a float; quota = cpus × 100000 per 100000 µs)'}),
  'cpu-shares': Flags.integer({summary: 'CPU shares (relative weight)', min: 2}),
  'cap-add': many('add a capability (CAP_ prefix optional; ALL)'),
  'cap-drop': many('drop a capability (CAP_ prefix optional; ALL)'),
  'allow-new-privs': Flags.boolean({summary: 'do not set no_new_privileges'}),
  init: Flags.boolean({summary: 'run tini as PID 1 in front of the process (reaps zombies, forwards signals)'}),
}

export interface ContainerFlagValues {
  cwd?: string
  env?: string[]
  'env-file'?: string
  annotation?: string[]
  mount?: string[]
  'net-host'?: boolean
  privileged?: boolean
  'read-only'?: boolean
  tty?: boolean
  user?: string
  hostname?: string
  'memory-limit'?: number
  cpus?: string
  'cpu-shares'?: number
  'cap-add'?: string[]
  'cap-drop'?: string[]
  'allow-new-privs'?: boolean
  init?: boolean
}

/** Where Debian's tini package installs its static binary (usable inside any image). */
export const TINI_STATIC = '/usr/bin/tini-static'

/** The spec options the flags ask for; `args` is the command after the container id. */
export function specOptionsFrom(flags: ContainerFlagValues, args: readonly string[]): Omit<SpecOptions, 'namespace' | 'id' | 'image' | 'rootfs'> {
  let cpus: number | undefined
  if (flags.cpus !== undefined) {
    cpus = Number(flags.cpus)
    if (!Number.isFinite(cpus) || cpus <= 0) throw new InvalidArgument(`invalid --cpus ${JSON.stringify(flags.cpus)}`, {suffixKind: true})
  }
  let envFile: string | undefined
  if (flags['env-file'] !== undefined) {
    try {
      envFile = readFileSync(flags['env-file'], 'utf8')
    } catch (err) {
      throw new InvalidArgument(`cannot read --env-file ${JSON.stringify(flags['env-file'])}: ${(err as Error).message}`, {suffixKind: true})
    }
  }
  return {
    ...(args.length > 0 ? {args} : {}),
    env: flags.env ?? [],
    ...(envFile !== undefined ? {envFile} : {}),
    ...(flags.cwd !== undefined ? {cwd: flags.cwd} : {}),
    ...(flags.user !== undefined ? {user: flags.user} : {}),
    mounts: flags.mount ?? [],
    readOnly: flags['read-only'] ?? false,
    netHost: flags['net-host'] ?? false,
    ...(flags.hostname !== undefined ? {hostname: flags.hostname} : {}),
    tty: flags.tty ?? false,
    ...(flags['memory-limit'] !== undefined ? {memoryLimit: flags['memory-limit']} : {}),
    ...(cpus !== undefined ? {cpus} : {}),
    ...(flags['cpu-shares'] !== undefined ? {cpuShares: flags['cpu-shares']} : {}),
    privileged: flags.privileged ?? false,
    capAdd: flags['cap-add'] ?? [],
    capDrop: flags['cap-drop'] ?? [],
    allowNewPrivileges: flags['allow-new-privs'] ?? false,
    annotations: parseLabelArgs(flags.annotation ?? []),
    ...(flags.init ? {init: {hostPath: TINI_STATIC}} : {}),
  }
}

/**
 * What `containers create` and `run` hand to createContainer: IMAGE and ID from the positionals,
 * the command from `argv` after them, everything else from the flags.
 * @throws InvalidArgument (missing image or id, bad flag values).
 */
export function createOptionsFrom(
  namespace: string,
  defaultSnapshotter: string,
  args: {image?: string; id?: string},
  argv: readonly string[],
  flags: ContainerFlagValues & {snapshotter?: string; runtime?: string; label?: string[]; platform?: string},
): CreateContainerOptions {
  validateCreateArgs(args.image, args.id)
  return {
    namespace,
    id: args.id!,
    image: parseReference(args.image!).toString(),
    snapshotter: flags.snapshotter ?? defaultSnapshotter,
    runtime: flags.runtime,
    labels: parseLabelArgs(flags.label ?? []),
    platform: flags.platform,
    spec: specOptionsFrom(flags, argv.slice(2)),
  }
}
