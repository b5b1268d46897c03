#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS BERTH_NODE_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node
// ctr / berth: the bundled CLI (built by `npm run build`). CommonJS on purpose: see bin/package.json.
//
// NODE_EXTRA_CA_CERTS makes node read and parse that CA bundle before running any script: 30 ms and
// more of every start-up with a distribution's full bundle, for the few commands that ever talk TLS.
// The shebang (GNU env -S) starts node without it and carries the file name in
// BERTH_NODE_EXTRA_CA_CERTS, which the registry client adds to its trust store when it first opens
// an https connection. Started as `node bin/run.js`, node has paid already; the name moves over all
// the same, so that the ctr processes this one starts (conmon's exit command) start without the cost.
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
const script = new Script(Module.wrap(readFileSync(file, 'utf8')), {filename: file, cachedData})
const cacheOut = process.env.BERTH_WRITE_CODE_CACHE
if (cacheOut) process.on('exit', () => writeFileSync(cacheOut, script.createCachedData()))
globalThis.__berthImport = (url) => import(url) // see runOclif() in src/entry/main.ts
const bundle = {exports: {}}
script.runInThisContext().call(bundle.exports, bundle.exports, Module.createRequire(file), bundle, file, dirname(file))
