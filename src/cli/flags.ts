// Flags shared by commands: the global ones (accepted before or after the subcommand) and the
// output format.
import {Flags} from '@oclif/core'

/** Global flags: on every command, and hoisted from before the subcommand by src/cli/argv.ts. */
export const globalFlags = {
  namespace: Flags.string({char: 'n', env: 'CONTAINERD_NAMESPACE', default: 'default', summary: 'namespace to use', helpGroup: 'GLOBAL'}),
  root: Flags.string({env: 'BERTH_ROOT', summary: 'persistent root directory [default: /var/lib/berth]', helpGroup: 'GLOBAL'}),
  state: Flags.string({env: 'BERTH_STATE', summary: 'volatile state directory [default: /run/berth]', helpGroup: 'GLOBAL'}),
  // Not `--config`: that is `ctr run`'s and `containers create`'s OCI spec file (-c), as in ctr.
  'berth-config': Flags.string({env: 'BERTH_CONFIG', summary: "Berth's config file [default: /etc/berth/config.toml]", helpGroup: 'GLOBAL'}),
  debug: Flags.boolean({summary: 'print the cause chain of errors', helpGroup: 'GLOBAL'}),
}

/** Which global flags take a value, by every spelling; used to hoist them. */
export const GLOBAL_VALUE_FLAGS = new Set(['-n', '--namespace', '--root', '--state', '--berth-config'])
export const GLOBAL_BOOLEAN_FLAGS = new Set(['--debug'])

/** `--format table|json` for list and info commands. */
export const formatFlag = Flags.string({summary: 'output format', options: ['table', 'json'], default: 'table'})

/** `-q/--quiet` for list commands: print identifiers only. */
export const quietFlag = Flags.boolean({char: 'q', summary: 'print only the names'})

/** ctr's RegistryFlags (the subset Berth implements). */
export const registryFlags = {
  'plain-http': Flags.boolean({summary: 'use plain HTTP (automatic for localhost and 127.0.0.1)'}),
  'skip-verify': Flags.boolean({char: 'k', summary: 'skip TLS certificate verification'}),
  tlscacert: Flags.string({summary: 'CA certificate file for the registry (repeatable)', multiple: true, multipleNonGreedy: true}),
  user: Flags.string({char: 'u', summary: 'user[:password] for the registry (prompts for a missing password on a terminal)'}),
  'hosts-dir': Flags.string({summary: 'directory of containerd-style hosts.toml files', default: '/etc/containerd/certs.d'}),
}

/** Flags that choose platforms. */
export const platformFlags = {
  platform: Flags.string({summary: 'pull content for this platform (repeatable; default: this host)', multiple: true, multipleNonGreedy: true}),
  'all-platforms': Flags.boolean({summary: 'pull content for every platform'}),
}

/** `--label k=v` (repeatable). */
export const labelFlag = Flags.string({summary: 'label to attach, k=v (repeatable)', multiple: true, multipleNonGreedy: true})

/** Everything `images pull` and `content fetch` accept. */
export const fetchFlags = {
  ...registryFlags,
  ...platformFlags,
  label: labelFlag,
  'max-concurrent-downloads': Flags.integer({summary: 'number of blobs downloaded at once', default: 3, min: 1}),
  // ctr 1.7 fetches only the selected platforms' metadata unless --all-metadata; 2.x fetches all of
  // it unless --skip-metadata (and hides --all-metadata). Berth keeps 1.7's default and takes both.
  'all-metadata': Flags.boolean({summary: "also fetch the other platforms' manifests and configs (not their layers)"}),
  'skip-metadata': Flags.boolean({summary: "fetch only the selected platforms' manifests and configs (the default)"}),
  quiet: Flags.boolean({char: 'q', summary: 'no progress output'}),
}

/** `--snapshotter`, as ctr's snapshot-using commands take it (default from the config). */
export const snapshotterFlag = Flags.string({summary: 'snapshotter name (overlayfs or native; default from the config)', env: 'CONTAINERD_SNAPSHOTTER'})

/** `images pull`: fetch flags plus unpacking. */
export const pullFlags = {
  ...fetchFlags,
  snapshotter: snapshotterFlag,
  'print-chainid': Flags.boolean({summary: 'print the image chain ID (the top unpacked snapshot)'}),
  'sync-fs': Flags.boolean({summary: 'flush each unpacked layer to disk before recording it'}),
}
