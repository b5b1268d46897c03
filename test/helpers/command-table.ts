// ctr's argument habits per command, shared by the unit table (test/unit/commands/registry.test.ts)
// and the CLI contract's integration table: the fewest arguments each command parses with, and
// what it does with more.

/**
 * What a command does with arguments beyond the ones it needs (containerd 1.7's cmd/ctr):
 * - ignored: ctr reads `Args().First()` (or no argument at all) and ignores the rest, exit 0;
 * - variadic: every argument counts (ids, filters, labels);
 * - error: ctr checks the count and refuses (snapshots prepare/view/mounts/commit/info), or Berth
 *   has no use for them (gc);
 * - command: after the positionals comes the container's command, flags and all (SkipArgReorder);
 * - extra-arguments: the command refuses them itself, with ctr's `extra arguments: [...]` (version).
 */
export type Surplus = 'ignored' | 'variadic' | 'error' | 'command' | 'extra-arguments'

/** Per command: the fewest arguments it parses with, and its surplus rule. */
export const COMMAND_ARGS: Record<string, {args: string[]; surplus: Surplus}> = {
  'containers:checkpoint': {args: ['ctr1', 'ref'], surplus: 'ignored'},
  'containers:create': {args: ['img', 'ctr1'], surplus: 'command'},
  'containers:info': {args: ['ctr1'], surplus: 'ignored'},
  'containers:label': {args: ['ctr1'], surplus: 'variadic'},
  'containers:ls': {args: [], surplus: 'variadic'},
  'containers:restore': {args: ['ctr1', 'ref'], surplus: 'ignored'},
  'containers:rm': {args: ['ctr1'], surplus: 'variadic'},
  'content:active': {args: [], surplus: 'variadic'},
  'content:fetch': {args: ['ref'], surplus: 'ignored'},
  'content:get': {args: ['sha256:x'], surplus: 'variadic'},
  'content:ls': {args: [], surplus: 'variadic'},
  'content:prune': {args: ['references'], surplus: 'ignored'},
  'content:rm': {args: ['sha256:x'], surplus: 'variadic'},
  'images:check': {args: [], surplus: 'variadic'},
  'images:convert': {args: ['a', 'b'], surplus: 'ignored'},
  'images:export': {args: ['out.tar', 'ref'], surplus: 'variadic'},
  'images:import': {args: ['in.tar'], surplus: 'ignored'},
  'images:inspect': {args: ['ref'], surplus: 'ignored'},
  'images:label': {args: ['ref'], surplus: 'variadic'},
  'images:ls': {args: [], surplus: 'variadic'},
  'images:mount': {args: ['ref', '/mnt'], surplus: 'ignored'},
  'images:pull': {args: ['ref'], surplus: 'ignored'},
  'images:push': {args: ['ref', 'local'], surplus: 'ignored'},
  'images:rm': {args: ['ref'], surplus: 'variadic'},
  'images:tag': {args: ['a', 'b'], surplus: 'variadic'},
  'images:unmount': {args: ['/mnt'], surplus: 'ignored'},
  'leases:create': {args: [], surplus: 'variadic'},
  'leases:ls': {args: [], surplus: 'variadic'},
  'leases:rm': {args: ['lease1'], surplus: 'variadic'},
  'namespaces:create': {args: ['ns1'], surplus: 'variadic'},
  'namespaces:label': {args: ['ns1'], surplus: 'variadic'},
  'namespaces:ls': {args: [], surplus: 'variadic'},
  'namespaces:rm': {args: ['ns1'], surplus: 'variadic'},
  'oci:spec': {args: [], surplus: 'ignored'},
  'plugins:ls': {args: [], surplus: 'variadic'},
  'pods:create': {args: ['pod1'], surplus: 'error'},
  'pods:generate-kube': {args: ['pod1'], surplus: 'error'},
  'pods:inspect': {args: ['pod1'], surplus: 'error'},
  'pods:ls': {args: [], surplus: 'variadic'},
  'pods:play-kube': {args: ['pod.yaml'], surplus: 'error'},
  'pods:rm': {args: ['pod1'], surplus: 'variadic'},
  'pods:start': {args: ['pod1'], surplus: 'variadic'},
  'pods:stop': {args: ['pod1'], surplus: 'variadic'},
  'snapshots:commit': {args: ['key', 'active'], surplus: 'error'},
  'snapshots:info': {args: ['key'], surplus: 'error'},
  'snapshots:label': {args: ['key'], surplus: 'variadic'},
  'snapshots:ls': {args: [], surplus: 'ignored'},
  'snapshots:mounts': {args: ['/t', 'key'], surplus: 'error'},
  'snapshots:prepare': {args: ['key', 'parent'], surplus: 'error'},
  'snapshots:rm': {args: ['key'], surplus: 'variadic'},
  'snapshots:tree': {args: [], surplus: 'ignored'},
  'snapshots:usage': {args: [], surplus: 'variadic'},
  'snapshots:view': {args: ['key', 'parent'], surplus: 'error'},
  'tasks:attach': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:checkpoint': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:cleanup': {args: ['--instance', 'i1', 'ctr1'], surplus: 'ignored'},
  'tasks:exec': {args: ['--exec-id', 'e1', 'ctr1'], surplus: 'command'},
  'tasks:kill': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:logs': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:ls': {args: [], surplus: 'ignored'},
  'tasks:metrics': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:pause': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:ps': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:resume': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:rm': {args: ['ctr1'], surplus: 'variadic'},
  'tasks:start': {args: ['ctr1'], surplus: 'ignored'},
  'tasks:wait': {args: ['ctr1'], surplus: 'ignored'},
  completion: {args: ['bash'], surplus: 'error'},
  events: {args: [], surplus: 'variadic'},
  fsck: {args: [], surplus: 'error'},
  gc: {args: [], surplus: 'error'},
  info: {args: [], surplus: 'ignored'},
  run: {args: ['img', 'ctr1'], surplus: 'command'},
  version: {args: [], surplus: 'extra-arguments'},
}
