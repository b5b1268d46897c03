#!/usr/bin/env node
// ctr / berth: the bundled CLI (built by `npm run build`).
import '../dist/bundle/fast-entry.js'
