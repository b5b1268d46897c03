// Builds Berth's native parts with node-gyp, only when one is missing or older than its sources:
// the addon (native/berth.c -> build/Release/berth.node) and conmon's exit command for plain
// detached tasks (native/exit-recorder.c + better-sqlite3's SQLite -> build/Release/berth-exit).
// Both are copied to dist/native/, where src/lib/sys finds them from the tsc output and the bundle.
//
// Offline by design: node-gyp is given the headers of the Node that runs this script (e.g.
// /usr/include/node for Debian's nodejs), so it never downloads a header tarball. node-gyp
// itself is the copy npm bundles (npm exports its path to scripts as npm_config_node_gyp).
import {execFileSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, realpathSync, statSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const SOURCES = ['native/berth.c', 'native/exit-recorder.c', 'binding.gyp'].map((f) => join(root, f))
const OUTPUTS = ['berth.node', 'berth-exit']

/** Builds the addon when stale and installs it into dist/. @returns true when it compiled. */
export function buildNative() {
  const built = OUTPUTS.map((f) => join(root, 'build/Release', f))
  const oldest = Math.min(...built.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)))
  const stale = SOURCES.some((f) => statSync(f).mtimeMs > oldest)
  if (stale) {
    // --jobs: SQLite's amalgamation (half a minute) compiles beside the rest.
    const args = [nodeGyp(), 'rebuild', '--release', '--loglevel=warn', '--jobs=max']
    const nodedir = nodeDir()
    if (nodedir) args.push(`--nodedir=${nodedir}`)
    execFileSync(process.execPath, args, {cwd: root, stdio: ['ignore', 'ignore', 'inherit']})
  }
  const installed = join(root, 'dist/native')
  mkdirSync(installed, {recursive: true})
  for (const f of built) copyFileSync(f, join(installed, basename(f)))
  return stale
}

/** node-gyp's CLI script: npm's own copy (as npm announces it, or found next to npm), else a local install. */
function nodeGyp() {
  const candidates = [process.env.npm_config_node_gyp]
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '../node_modules/node-gyp/bin/node-gyp.js'))
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const npm = join(dir || '.', 'npm')
    if (!existsSync(npm)) continue
    candidates.push(join(dirname(realpathSync(npm)), '../node_modules/node-gyp/bin/node-gyp.js'))
  }
  candidates.push(join(root, 'node_modules/node-gyp/bin/node-gyp.js'))
  const found = candidates.find((c) => c && existsSync(c))
  if (!found) throw new Error('build-native: node-gyp not found (it ships with npm); install npm or run `npm install --save-dev node-gyp`')
  return found
}

/** The Node headers' prefix: the one npm is configured with, else this Node's own install prefix. */
function nodeDir() {
  const configured = process.env.npm_config_nodedir
  if (configured && existsSync(join(configured, 'include/node/node_api.h'))) return configured
  const prefix = join(dirname(realpathSync(process.execPath)), '..')
  return existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : undefined
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) buildNative()
