// Flags shared by commands: the global ones (accepted before or after the subcommand) and the
// output format.
import {Flags} from '@oclif/core'
import {parseGoDuration} from './duration.js'

/** A Go duration flag value, checked when parsed (the command reads it with parseGoDuration). */
const durationValue = async (input: string): Promise<string> => {
  parseGoDuration(input)
  return input
}

/** Global flags: on every command, and hoisted from before the subcommand by src/cli/argv.ts. */
export const globalFlags = {
  namespace: Flags.string({char: 'n', env: 'CONTAINERD_NAMESPACE', default: 'default', summary: 'namespace to use', helpGroup: 'GLOBAL'}),
  root: Flags.string({env: 'BERTH_ROOT', summary: 'persistent root directory [default: /var/lib/berth]', helpGroup: 'GLOBAL'}),
  state: Flags.string({env: 'BERTH_STATE', summary: 'volatile state directory [default: /run/berth]', helpGroup: 'GLOBAL'}),
  // Not `--config`: that is `ctr run`'s and `containers create`'s OCI spec file (-c), as in ctr.
  'berth-config': Flags.string({env: 'BERTH_CONFIG', summary: "Berth's config file [default: /etc/berth/config.toml]", helpGroup: 'GLOBAL'}),
  debug: Flags.boolean({summary: 'print the cause chain of errors', helpGroup: 'GLOBAL'}),
  // containerd's client flags. There is no daemon, so the address and the connect timeout mean
  // nothing: they are accepted (scripts pass them) and ignored; --debug says so.
  address: Flags.string({char: 'a', env: 'CONTAINERD_ADDRESS', summary: "containerd's socket: accepted and ignored (there is no daemon)", helpGroup: 'GLOBAL'}),
  timeout: Flags.string({
    summary: 'total time the command may take (Go duration: 10s, 1m30s, 500ms); then it fails with exit 6',
    helpGroup: 'GLOBAL',
    parse: durationValue,
  }),
  'connect-timeout': Flags.string({summary: 'accepted and ignored: there is no daemon to connect to', helpGroup: 'GLOBAL', parse: durationValue}),
}

/** Which global flags take a value, by every spelling; used to hoist them. */
export const GLOBAL_VALUE_FLAGS = new Set(['-n', '--namespace', '--root', '--state', '--berth-config', '-a', '--address', '--timeout', '--connect-timeout'])
export const GLOBAL_BOOLEAN_FLAGS = new Set(['--debug'])

/** The global flags without the short name `char`, for a command whose own flag uses it (`tasks kill -a` is --all). */
export function globalFlagsWithout(char: string): typeof globalFlags {
  const entries = Object.entries(globalFlags).map(([name, def]) => [name, (def as {char?: string}).char === char ? {...def, char: undefined} : def])
  return Object.fromEntries(entries) as typeof globalFlags
}

/** `--format table|json` for list and info commands. */
export const formatFlag = Flags.string({summary: 'output format', options: ['table', 'json'], default: 'table'})

/** `--format json` of the commands whose only output is JSON (info, inspect): accepted, so every list and info command takes it. */
export const jsonOnlyFormatFlag = Flags.string({summary: 'output format (always json)', options: ['json'], default: 'json'})

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

/** `images push`: ctr's push flags (RegistryFlags plus the manifest, platform and concurrency choices). */
export const pushFlags = {
  ...registryFlags,
  manifest: Flags.string({summary: "digest of the manifest to push (instead of the image's target)"}),
  'manifest-type': Flags.string({summary: 'media type of the --manifest digest', default: 'application/vnd.oci.image.manifest.v1+json'}),
  platform: Flags.string({summary: 'push the manifest of this platform out of an index, under the tag', multiple: true, multipleNonGreedy: true}),
  'max-concurrent-uploaded-layers': Flags.integer({summary: 'number of blobs uploaded at once', default: 3, min: 1}),
  local: Flags.boolean({summary: 'accepted for ctr compatibility (pushing is always done by this process)'}),
  'allow-non-distributable-blobs': Flags.boolean({summary: 'push layers marked non-distributable too'}),
  quiet: Flags.boolean({char: 'q', summary: 'no progress output'}),
}

/** `images convert`: ctr's convert flags. */
export const convertFlags = {
  uncompress: Flags.boolean({summary: 'convert tar.gz and tar.zst layers to uncompressed tar layers'}),
  oci: Flags.boolean({summary: 'convert Docker media types to OCI media types'}),
  platform: Flags.string({summary: 'keep this platform of an index (repeatable; default: this host)', multiple: true, multipleNonGreedy: true}),
  'all-platforms': Flags.boolean({summary: 'keep every platform (all must be in the content store)'}),
}
