#!/usr/bin/env node
// The bundled CLI (built by `npm run build`). CommonJS on purpose: see bin/package.json. The
// installed `ctr` is bin/ctr, which starts node on this file without NODE_EXTRA_CA_CERTS (see
// there); started directly, node has paid that cost already, but the file name moves over all the
// same, so that the ctr processes this one starts (conmon's exit command) start without it.
//
// The bundle is compiled with V8's code cache (dist/bundle/ctr.cjs.cache, made at build time by
// running one command): start-up then skips parsing and compiling most of what every command
// runs, about 10-15 ms. A cache that does not fit this bundle or this node is rejected by V8 and
// the bundle compiles as usual.
'use strict'
if (process.env.NODE_EXTRA_CA_CERTS) process.env.BERTH_NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS
delete process.env.NODE_EXTRA_CA_CERTS
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
const cacheOut = process.env.BERTH_WRITE_CODE_CACHE
// The cache is made at build time under a name that is no path of the build machine (V8 keeps the
// script's name in it); V8 accepts it for the real name at run time.
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), {filename: cacheOut ? 'berth/dist/bundle/ctr.cjs' : file, cachedData})
if (cacheOut) process.on('exit', () => writeFileSync(cacheOut, script.createCachedData()))
globalThis.__berthImport = (url) => import(url) // see runOclif() in src/entry/main.ts
const bundle = {exports: {}}
script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, dirname(file))
