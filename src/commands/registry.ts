// The command table: every command id with a lazy loader, and ctr's topic and verb aliases.
// The fast path imports only the one command it runs; oclif gets all of them via index.ts.
import type {CommandTable} from '../cli/argv.js'

type Loader = () => Promise<{default: unknown}>

/** Command id (oclif's colon form) to its module. Add new commands here and nowhere else. */
export const COMMAND_LOADERS: Record<string, Loader> = {
  'containers:create': () => import('./containers/create.js'),
  'containers:info': () => import('./containers/info.js'),
  'containers:label': () => import('./containers/label.js'),
  'containers:ls': () => import('./containers/ls.js'),
  'containers:rm': () => import('./containers/rm.js'),
  'content:active': () => import('./content/active.js'),
  'content:fetch': () => import('./content/fetch.js'),
  'content:get': () => import('./content/get.js'),
  'content:ls': () => import('./content/ls.js'),
  'content:rm': () => import('./content/rm.js'),
  'images:check': () => import('./images/check.js'),
  'images:inspect': () => import('./images/inspect.js'),
  'images:label': () => import('./images/label.js'),
  'images:ls': () => import('./images/ls.js'),
  'images:mount': () => import('./images/mount.js'),
  'images:pull': () => import('./images/pull.js'),
  'images:rm': () => import('./images/rm.js'),
  'images:tag': () => import('./images/tag.js'),
  'images:unmount': () => import('./images/unmount.js'),
  'leases:create': () => import('./leases/create.js'),
  'leases:ls': () => import('./leases/ls.js'),
  'leases:rm': () => import('./leases/rm.js'),
  'namespaces:create': () => import('./namespaces/create.js'),
  'namespaces:label': () => import('./namespaces/label.js'),
  'namespaces:ls': () => import('./namespaces/ls.js'),
  'namespaces:rm': () => import('./namespaces/rm.js'),
  'snapshots:commit': () => import('./snapshots/commit.js'),
  'snapshots:info': () => import('./snapshots/info.js'),
  'snapshots:label': () => import('./snapshots/label.js'),
  'snapshots:ls': () => import('./snapshots/ls.js'),
  'snapshots:mounts': () => import('./snapshots/mounts.js'),
  'snapshots:prepare': () => import('./snapshots/prepare.js'),
  'snapshots:rm': () => import('./snapshots/rm.js'),
  'snapshots:tree': () => import('./snapshots/tree.js'),
  'snapshots:usage': () => import('./snapshots/usage.js'),
  'snapshots:view': () => import('./snapshots/view.js'),
  events: () => import('./events.js'),
  gc: () => import('./gc.js'),
  info: () => import('./info.js'),
  version: () => import('./version.js'),
}

export const COMMAND_TABLE: CommandTable = {
  ids: new Set(Object.keys(COMMAND_LOADERS)),
  topicAliases: {
    namespace: 'namespaces',
    ns: 'namespaces',
    image: 'images',
    i: 'images',
    container: 'containers',
    c: 'containers',
    task: 'tasks',
    t: 'tasks',
    event: 'events',
    snapshot: 'snapshots',
    lease: 'leases',
  },
  verbAliases: {
    '*': {list: 'ls', remove: 'rm', delete: 'rm', del: 'rm'},
    namespaces: {c: 'create'},
    snapshots: {m: 'mounts', mount: 'mounts'},
  },
  topicFlags: {snapshots: ['--snapshotter']},
}
