// Builds everything `bin/run.js` needs: tsc output (type-checked; used by oclif for help and by
// the tests), the bundled fast CLI in dist/bundle/, and oclif.manifest.json.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import * as esbuild from 'esbuild'
import {buildNative} from './build-native.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))

rmSync(join(root, 'dist'), {recursive: true, force: true})
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', root], {stdio: 'inherit'})
buildNative() // native/berth.c -> dist/native/berth.node (compiles only when stale)

let revision = 'unknown'
try {
  revision = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], {cwd: root, stdio: ['ignore', 'pipe', 'ignore']})
    .toString()
    .trim()
} catch {
  // not a git checkout: keep "unknown"
}

// One CommonJS file: Node loads it synchronously, which starts about 10 ms faster than the same
// code as an ESM module graph (measured with npm run bench). Command modules stay lazily
// evaluated inside it, so a call only runs the code of the command it names.
const bundleOptions = {
  absWorkingDir: root,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  minify: true,
  // No keepNames: its wrapper around every function and class cost about 2 ms of each start-up;
  // error classes are named by hand (nameErrorClasses in src/lib/errors).
  sourcemap: 'linked',
  // The bundle never loads oclif: commands get the lite runner (src/cli/lite/oclif.ts).
  alias: {'@oclif/core': './src/cli/lite/oclif.ts'},
  // better-sqlite3's JavaScript is bundled too; its native addon is loaded by path
  // (src/lib/store/database.ts).
  define: {
    BERTH_VERSION: JSON.stringify(pkg.version),
    BERTH_REVISION: JSON.stringify(revision),
    'import.meta.url': '__berthModule.url',
  },
  // Computed when first read: pathToFileURL costs about 0.4 ms, and most commands never ask.
  banner: {js: "const __berthModule = {get url() { return require('node:url').pathToFileURL(__filename).href }};"},
  logLevel: 'warning',
}
// Node's heavier built-in modules cost about 10 ms to load at start-up, yet most commands use few
// of them: the CLI bundle gets each as a proxy that loads the real module on first use.
const LAZY_BUILTINS = /^node:(child_process|crypto|dgram|fs\/promises|http|https|net|os|readline|stream|stream\/promises|tls|worker_threads|zlib)$/

/**
 * The names src/ imports from each built-in ('all' where a namespace, default or dynamic import or
 * a re-export needs every one). esbuild's interop copies each export of a proxy module once per
 * importing module: for all of node:crypto's 73 names, three copies took half a millisecond of
 * every start-up. A name missed here would be undefined at run time; the tests run every import.
 */
function importedBuiltinNames() {
  const used = new Map()
  const all = (mod) => used.set(mod, 'all')
  const add = (mod, names) => {
    const set = used.get(mod) ?? new Set()
    if (set === 'all') return
    for (const name of names) set.add(name)
    used.set(mod, set)
  }
  const walk = (dir) =>
    readdirSync(dir, {withFileTypes: true}).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []))
  for (const file of walk(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8')
    for (const [, clause, mod] of text.matchAll(/\bimport\s+([^'";]*?)\s+from\s+'node:([\w/]+)'/g)) {
      if (clause.startsWith('type ')) continue
      const braces = /^\{([^}]*)\}$/s.exec(clause.trim())
      if (!braces)
        all(mod) // import * as x, import x, import x, {y}
      else {
        const specs = braces[1].split(',').map((part) => part.trim())
        add(
          mod,
          specs.filter((spec) => spec !== '' && !spec.startsWith('type ')).map((spec) => spec.split(/\s+as\s+/)[0]),
        )
      }
    }
    // const {a, b} = await import('node:x'): those names; any other dynamic import: all of them.
    const destructured = /\bconst\s*\{([^}]*)\}\s*=\s*await\s+import\(\s*'node:([\w/]+)'\s*\)/g
    for (const [, list, mod] of text.matchAll(destructured)) {
      add(
        mod,
        list
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part !== '')
          .map((part) => part.split(/\s*:\s*/)[0]),
      )
    }
    for (const [, mod] of text.replace(destructured, '').matchAll(/\bimport\(\s*'node:([\w/]+)'\s*\)/g)) all(mod)
    for (const [, mod] of text.matchAll(/\bexport\s[^;]*?\sfrom\s+'node:([\w/]+)'/g)) all(mod)
  }
  return used
}
const builtinNames = importedBuiltinNames()
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    build.onResolve({filter: LAZY_BUILTINS}, (args) => ({path: args.path, namespace: 'lazy-builtin'}))
    build.onLoad({filter: /.*/, namespace: 'lazy-builtin'}, async (args) => {
      const name = args.path.slice('node:'.length) // unprefixed below: not this plugin's again
      // esbuild's ESM interop lists and describes the exports up front: answer from the names
      // known at build time, and load the module only when a value is read.
      const every = Object.getOwnPropertyNames(await import(args.path)).filter((k) => k !== 'default')
      const wanted = builtinNames.get(name)
      const keys = wanted instanceof Set ? every.filter((k) => wanted.has(k)) : every
      return {
        loader: 'js',
        // Plain getters rather than a Proxy: esbuild's interop copies every export once per
        // importing module, and a Proxy's traps made that copy cost about half a millisecond.
        contents: `let real
const load = () => (real ??= require(${JSON.stringify(name)}))
for (const key of ${JSON.stringify(keys)}) Object.defineProperty(module.exports, key, {configurable: true, enumerable: true, get: () => load()[key]})`,
      }
    })
  },
}

await Promise.all([
  esbuild.build({...bundleOptions, plugins: [lazyBuiltins], entryPoints: ['src/entry/fast-entry.ts'], outfile: 'dist/bundle/ctr.cjs'}),
  // The layer-apply worker thread's script (src/lib/snapshot/apply/pool.ts looks for it next to ctr.cjs).
  esbuild.build({...bundleOptions, entryPoints: ['src/lib/snapshot/apply/worker.ts'], outfile: 'dist/bundle/apply-worker.cjs'}),
  buildCommandBundles(),
])

/**
 * One bundle per command (dist/bundle/cmd-<id>.cjs, from src/entry/command-entry.ts), next to
 * ctr.cjs so that every path the code finds relative to its bundle holds, and routes.txt, which
 * bin/run.js reads to pick one: every spelling of every command (ctr's topic and verb aliases) and
 * the global flags that take a value. No source maps: the full bundle has one for the same code.
 */
async function buildCommandBundles() {
  const {COMMAND_TABLE} = await import(join(root, 'dist/src/commands/table.js'))
  const {GLOBAL_VALUE_FLAGS} = await import(join(root, 'dist/src/cli/flags.js'))
  const bundleName = (id) => `cmd-${id.replace(/:/g, '-')}.cjs`
  const routes = {}
  for (const id of COMMAND_TABLE.ids) {
    const [topic, verb] = id.split(':')
    const topics = [topic, ...Object.keys(COMMAND_TABLE.topicAliases).filter((a) => COMMAND_TABLE.topicAliases[a] === topic)]
    if (verb === undefined) {
      for (const t of topics) routes[t] = bundleName(id)
      continue
    }
    const verbAliases = {...COMMAND_TABLE.verbAliases['*'], ...COMMAND_TABLE.verbAliases[topic]}
    const verbs = [verb, ...Object.keys(verbAliases).filter((a) => verbAliases[a] === verb)]
    for (const t of topics) for (const v of verbs) routes[`${t} ${v}`] = bundleName(id)
  }
  const topicValueFlags = Object.values(COMMAND_TABLE.topicFlags ?? {}).flat()
  // routes.txt: the value flags on the first line, then one `words<TAB>bundle` line per spelling
  // (bin/run.js looks a key up as text; the file ends with a newline).
  const valueFlags = [...new Set([...GLOBAL_VALUE_FLAGS, ...topicValueFlags])]
  const table = `${valueFlags.join(' ')}\n${Object.entries(routes)
    .map(([words, file]) => `${words}\t${file}\n`)
    .join('')}`
  const entries = [...COMMAND_TABLE.ids].map((id) => ({id, path: `command:${id}`}))
  const commandEntries = {
    name: 'command-entries',
    setup(build) {
      build.onResolve({filter: /^command:/}, (args) => ({path: args.path, namespace: 'command-entry'}))
      build.onLoad({filter: /.*/, namespace: 'command-entry'}, (args) => {
        const id = args.path.slice('command:'.length)
        return {
          resolveDir: root,
          loader: 'ts',
          contents: `import {runCommandBundle} from './src/entry/command-entry.ts'
import Command from './src/commands/${id.replace(/:/g, '/')}.ts'
runCommandBundle(${JSON.stringify(id)}, Command)`,
        }
      })
    },
  }
  await esbuild.build({
    ...bundleOptions,
    sourcemap: false,
    plugins: [lazyBuiltins, commandEntries],
    entryPoints: Object.fromEntries(entries.map((e) => [bundleName(e.id).replace(/\.cjs$/, ''), e.path])),
    outdir: 'dist/bundle',
    outExtension: {'.js': '.cjs'},
  })
  writeFileSync(join(root, 'dist/bundle/routes.txt'), table)
}

// bin/run.js reads the bundle as Latin-1: one non-ASCII byte (esbuild leaves those in regular
// expression literals) would make it decode the whole file into a two-byte string, about 10 ms
// more for every command on this machine. Refuse such a bundle; escape the character in the source.
for (const name of readdirSync(join(root, 'dist/bundle')).filter((n) => n.endsWith('.cjs'))) {
  const bytes = readFileSync(join(root, 'dist/bundle', name))
  const at = bytes.findIndex((b) => b > 0x7f)
  if (at >= 0) {
    const line = bytes.subarray(0, at).toString('latin1').split('\n').length
    const context = JSON.stringify(bytes.subarray(Math.max(0, at - 40), at + 10).toString('utf8'))
    throw new Error(`dist/bundle/${name}: non-ASCII byte at line ${line} (${context}): escape it in the source`)
  }
}

// V8's code cache for bin/run.js: run one ordinary command on a throwaway store and keep what
// V8 compiled for it (argv, flags, store, SQLite, the task runtime, table output: what most
// commands run).
{
  const tmp = mkdtempSync(join(tmpdir(), 'berth-build-'))
  try {
    execFileSync(process.execPath, [join(root, 'bin/run.js'), '--root', join(tmp, 'root'), '--state', join(tmp, 'state'), 'tasks', 'ls'], {
      stdio: 'ignore',
      env: {...process.env, BERTH_WRITE_CODE_CACHE: join(root, 'dist/bundle/ctr.cjs.cache')}, // the full bundle, never routed
    })
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}

execFileSync(process.execPath, [join(root, 'scripts/manifest.mjs')], {stdio: 'inherit'})
// Manual pages from the same command definitions (dist/man, listed in package.json "man").
execFileSync(process.execPath, [join(root, 'scripts/man.mjs')], {stdio: 'inherit'})
