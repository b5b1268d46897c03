#!/usr/bin/env node
// Development entry: runs the tsc output through the real oclif, without the bundle.
import {runDev} from '../dist/src/cli/oclif-entry.js'

await runDev(process.argv.slice(2))
