#!/usr/bin/env node
// Development entry: runs the tsc output through the real oclif, without the bundle.
import('../dist/src/entry/oclif-entry.js').then((m) => m.runDev(process.argv.slice(2)))
