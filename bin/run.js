#!/usr/bin/env node
// ctr / berth: the bundled CLI (built by `npm run build`). CommonJS on purpose: see bin/package.json.
//
// The bundle is compiled with V8's code cache (dist/bundle/ctr.cjs.cache, made at build time by
// running one command): start-up then skips parsing and compiling most of what every command
// runs, about 10-15 ms. A cache that does not fit this bundle or this node is rejected by V8 and
// the bundle compiles as usual.
'use strict'
const {readFileSync, writeFileSync} = require('node:fs')
const {dirname, join} = require('node:path')
const {Script} = require('node:vm')
const Module = require('node:module')

const file = join(__dirname, '..', 'dist', 'bundle', 'ctr.cjs')
let cachedData
try {
  cachedData = readFileSync(`${file}.cache`)
} catch {
  // no cache: compile as usual
}
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), {filename: file, cachedData})
const cacheOut = process.env.BERTH_WRITE_CODE_CACHE
if (cacheOut) process.on('exit', () => writeFileSync(cacheOut, script.createCachedData()))
globalThis.__berthImport = (url) => import(url) // see runOclif() in src/cli/main.ts
const bundle = {exports: {}}
script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, dirname(file))
