// Builds everything `bin/run.js` needs: tsc output (type-checked; used by oclif for help and by
// the tests), the bundled fast CLI in dist/bundle/, and oclif.manifest.json.
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
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
  keepNames: true, // error class names appear in --debug output
  sourcemap: 'linked',
  // The bundle never loads oclif: commands get the lite runner (src/cli/lite/oclif.ts).
  alias: {'@oclif/core': './src/cli/lite/oclif.ts'},
  // better-sqlite3's JavaScript is bundled too; its native addon is loaded by path
  // (src/lib/store/database.ts).
  define: {
    BERTH_VERSION: JSON.stringify(pkg.version),
    BERTH_REVISION: JSON.stringify(revision),
    'import.meta.url': '__berthModuleUrl',
  },
  banner: {js: "const __berthModuleUrl = require('node:url').pathToFileURL(__filename).href;"},
  logLevel: 'warning',
}
// Node's heavier built-in modules cost about 10 ms to load at start-up, yet most commands use few
// of them: the CLI bundle gets each as a proxy that loads the real module on first use.
const LAZY_BUILTINS = /^node:(child_process|crypto|dgram|fs\/promises|http|https|net|os|readline|stream|stream\/promises|tls|worker_threads|zlib)$/
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    build.onResolve({filter: LAZY_BUILTINS}, (args) => ({path: args.path, namespace: 'lazy-builtin'}))
    build.onLoad({filter: /.*/, namespace: 'lazy-builtin'}, async (args) => {
      const name = args.path.slice('node:'.length) // unprefixed below: not this plugin's again
      // esbuild's ESM interop lists and describes the exports up front: answer from the names
      // known at build time, and load the module only when a value is read.
      const keys = Object.getOwnPropertyNames(await import(args.path)).filter((k) => k !== 'default')
      return {
        loader: 'js',
        contents: `let real
const load = () => (real ??= require(${JSON.stringify(name)}))
const keys = ${JSON.stringify(keys)}
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  has: (_, key) => keys.includes(key) || key in load(),
  ownKeys: () => keys,
  getOwnPropertyDescriptor: (_, key) => (keys.includes(key) ? {configurable: true, enumerable: true, get: () => load()[key]} : undefined),
})`,
      }
    })
  },
}

await Promise.all([
  esbuild.build({...bundleOptions, plugins: [lazyBuiltins], entryPoints: ['src/entry/fast-entry.ts'], outfile: 'dist/bundle/ctr.cjs'}),
  // The layer-apply worker thread's script (src/lib/snapshot/apply/pool.ts looks for it next to ctr.cjs).
  esbuild.build({...bundleOptions, entryPoints: ['src/lib/snapshot/apply/worker.ts'], outfile: 'dist/bundle/apply-worker.cjs'}),
])

// V8's code cache for bin/run.js: run one ordinary command on a throwaway store and keep what
// V8 compiled for it (argv, flags, store, SQLite, the task runtime, table output: what most
// commands run).
{
  const tmp = mkdtempSync(join(tmpdir(), 'berth-build-'))
  try {
    execFileSync(process.execPath, [join(root, 'bin/run.js'), '--root', join(tmp, 'root'), '--state', join(tmp, 'state'), 'tasks', 'ls'], {
      stdio: 'ignore',
      env: {...process.env, BERTH_WRITE_CODE_CACHE: join(root, 'dist/bundle/ctr.cjs.cache')},
    })
  } finally {
    rmSync(tmp, {recursive: true, force: true})
  }
}

execFileSync(process.execPath, [join(root, 'scripts/manifest.mjs')], {stdio: 'inherit'})
// Manual pages from the same command definitions (dist/man, listed in package.json "man").
execFileSync(process.execPath, [join(root, 'scripts/man.mjs')], {stdio: 'inherit'})
