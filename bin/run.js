#!/usr/bin/env node
// The bundled CLI (built by `npm run build`). CommonJS on purpose: see bin/package.json. The
// installed `ctr` is bin/ctr, which starts node on this file without NODE_EXTRA_CA_CERTS (see
// there); started directly, node has paid that cost already, but the file name moves over all the
// same, so that the ctr processes this one starts (conmon's exit command) start without it.
//
// Each command has a bundle of its own (dist/bundle/cmd-*.cjs, routed by dist/bundle/routes.txt):
// it holds only that command's code, so it reads and compiles in a fraction of the full bundle's
// time (dist/bundle/ctr.cjs, which takes everything else: help, completion, usage errors). The
// guess made here from the first words of argv is checked by the command bundle itself, which
// hands over to the full bundle when it was wrong.
//
// Bundles are compiled with V8's code cache (<bundle>.cache): start-up then skips parsing and
// compiling most of what the command runs. The full bundle's is made at build time by running one
// command; a command bundle's is written by its first run (atomically; skipped where dist/ is not
// writable). A cache that does not fit the bundle or this node is rejected by V8, and rewritten.
'use strict'
if (process.env.NODE_EXTRA_CA_CERTS) process.env.BERTH_NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS
delete process.env.NODE_EXTRA_CA_CERTS
const {readFileSync, renameSync, unlinkSync, writeFileSync} = require('node:fs')
const {dirname, join} = require('node:path')
const {Script} = require('node:vm')
const Module = require('node:module')

const dir = join(__dirname, '..', 'dist', 'bundle')

/**
 * The one-command bundle argv names, if any: its first two words after the flags. routes.txt is a
 * line of the flags that take a value, then `words<TAB>bundle` lines; looked up as text (no
 * JSON.parse of the whole table: a third of a millisecond of every start).
 */
function routeOf(argv) {
  if (process.env.BERTH_FULL_BUNDLE) return undefined // the build's cache run; tests comparing both
  let table
  try {
    table = readFileSync(join(dir, 'routes.txt'), 'latin1')
  } catch {
    return undefined
  }
  const valueFlags = ` ${table.slice(0, table.indexOf('\n'))} `
  const words = []
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const arg = argv[i]
    if (arg === '--' || arg === '--help' || arg === '-h' || arg === '--generate-bash-completion') return undefined
    if (arg.length > 1 && arg[0] === '-') {
      if (!arg.includes('=') && valueFlags.includes(` ${arg} `)) i++
      continue
    }
    if (arg.includes('\t') || arg.includes('\n')) return undefined
    words.push(arg)
  }
  const lookup = (key) => {
    const at = table.indexOf(`\n${key}\t`)
    return at < 0 ? undefined : table.slice(at + key.length + 2, table.indexOf('\n', at + 1))
  }
  return (words.length === 2 && lookup(words.join(' '))) || (words.length > 0 && lookup(words[0])) || undefined
}

function load(name, cacheOut) {
  const file = join(dir, name)
  let cachedData
  try {
    cachedData = readFileSync(`${file}.cache`)
  } catch {
    // no cache yet: compile as usual
  }
  // Latin-1: the build makes sure every bundle is ASCII, and V8 takes one-byte text fastest.
  const source = Module.wrap(readFileSync(file, 'latin1'))
  // A cache written here is made under a name that is no path of this machine (V8 keeps the
  // script's name in it, and dist/ may be packed); V8 accepts it for the real name at run time.
  const writing = cacheOut ?? (cachedData === undefined && name !== 'ctr.cjs' ? `${file}.cache` : undefined)
  const script = new Script(source, {filename: writing ? `berth/dist/bundle/${name}` : file, cachedData})
  if (writing || script.cachedDataRejected) process.on('exit', () => saveCache(script, writing ?? `${file}.cache`))
  const bundle = {exports: {}}
  script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, dirname(file))
}

function saveCache(script, out) {
  const tmp = `${out}.${process.pid}.tmp`
  try {
    writeFileSync(tmp, script.createCachedData())
    renameSync(tmp, out)
  } catch {
    // a read-only install, or another user's: run without
    try {
      unlinkSync(tmp)
    } catch {}
  }
}

globalThis.__berthImport = (url) => import(url) // see runOclif() in src/entry/main.ts
globalThis.__berthRunFull = () => load('ctr.cjs') // a command bundle that cannot run argv alone
const cacheOut = process.env.BERTH_WRITE_CODE_CACHE
const route = cacheOut ? undefined : routeOf(process.argv.slice(2))
load(route ?? 'ctr.cjs', cacheOut)
