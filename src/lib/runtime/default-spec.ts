// The default runtime spec, as `ctr oci spec` prints containerd's (oci.GenerateSpec on an empty
// container: populateDefaultUnixSpec): the base every container spec starts from before an image
// and options shape it — no command and no environment, root `rootfs`, the default mounts,
// namespaces, masked and read-only paths, and the deny-all device rule. Built from the same
// pieces and rules as buildSpec (defaults.ts; capabilities this process lacks and an rlimit
// above its hard limit are left out), so what it prints is what Berth really starts from.
import {posix} from 'node:path'
import {validateIdentifier} from '../oci/identifiers.js'
import {resolveCapabilities} from './capabilities.js'
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_MASKED_PATHS,
  DEFAULT_NOFILE,
  DEFAULT_READONLY_PATHS,
  DEFAULT_ROOT_PATH,
  defaultMounts,
  defaultNamespaces,
} from './defaults.js'
import type {HostFacts} from './host.js'
import {OCI_VERSION, type Process, type RuntimeSpec} from './oci-spec.js'
import {DEFAULT_CGROUP_PARENT} from './spec.js'

/** A runtime spec without a command: process args and env are not set yet. */
export type DefaultSpec = Omit<RuntimeSpec, 'process'> & {process: Omit<Process, 'args' | 'env'>}

/**
 * The default spec for containers of `namespace`; linux.cgroupsPath is the namespace's cgroup parent
 * (`/berth/<namespace>`), where containerd's is `/<namespace>` (no container id yet either way).
 * @throws InvalidArgument for an invalid namespace name.
 */
export function defaultSpec(namespace: string, host: HostFacts): DefaultSpec {
  validateIdentifier(namespace)
  const caps = resolveCapabilities({available: host.capabilities, defaults: DEFAULT_CAPABILITIES})
  const nofile = Math.min(DEFAULT_NOFILE, host.nofileHard)
  // Field order as specs-go writes it (empty args and env are omitted there too).
  return {
    ociVersion: OCI_VERSION,
    process: {
      user: {uid: 0, gid: 0},
      cwd: '/',
      capabilities: {bounding: caps, effective: [...caps], permitted: [...caps]},
      rlimits: [{type: 'RLIMIT_NOFILE', hard: nofile, soft: nofile}],
      noNewPrivileges: true,
    },
    root: {path: DEFAULT_ROOT_PATH},
    mounts: defaultMounts(),
    linux: {
      // ctr run adds the standard character devices (defaultDeviceRules) on top of this.
      resources: {devices: [{allow: false, access: 'rwm'}]},
      cgroupsPath: posix.join(DEFAULT_CGROUP_PARENT, namespace),
      namespaces: defaultNamespaces(),
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  }
}
