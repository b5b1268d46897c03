// The command table: every command id with a lazy loader, and ctr's topic and verb aliases.
// The fast path imports only the one command it runs; oclif gets all of them via index.ts.
import type {CommandTable} from '../cli/argv.js'

type Loader = () => Promise<{default: unknown}>

/** Command id (oclif's colon form) to its module. Add new commands here and nowhere else. */
export const COMMAND_LOADERS: Record<string, Loader> = {
  'namespaces:create': () => import('./namespaces/create.js'),
  'namespaces:label': () => import('./namespaces/label.js'),
  'namespaces:ls': () => import('./namespaces/ls.js'),
  'namespaces:rm': () => import('./namespaces/rm.js'),
  events: () => import('./events.js'),
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
  },
}
