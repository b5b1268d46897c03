// Builds Berth's native addon (native/berth.c -> build/Release/berth.node) with node-gyp, only
// when the .node is missing or older than its sources, and copies it to dist/native/berth.node,
// where src/lib/sys finds it from both the tsc output and the bundle.
//
// Offline by design: node-gyp is given the headers of the Node that runs this script (e.g.
// /usr/include/node for Debian's nodejs), so it never downloads a header tarball. node-gyp
// itself is the copy npm bundles (npm exports its path to scripts as npm_config_node_gyp).
import {execFileSync} from 'node:child_process'
import {copyFileSync, existsSync, mkdirSync, realpathSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const SOURCES = ['native/berth.c', 'binding.gyp'].map((f) => join(root, f))
const BUILT = join(root, 'build/Release/berth.node')
const INSTALLED = join(root, 'dist/native/berth.node')

/** Builds the addon when stale and installs it into dist/. @returns true when it compiled. */
export function buildNative() {
  const stale = !existsSync(BUILT) || SOURCES.some((f) => statSync(f).mtimeMs > statSync(BUILT).mtimeMs)
  if (stale) {
    const args = [nodeGyp(), 'rebuild', '--release', '--loglevel=warn']
    const nodedir = nodeDir()
    if (nodedir) args.push(`--nodedir=${nodedir}`)
    execFileSync(process.execPath, args, {cwd: root, stdio: ['ignore', 'ignore', 'inherit']})
  }
  mkdirSync(dirname(INSTALLED), {recursive: true})
  copyFileSync(BUILT, INSTALLED)
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
