#!/usr/bin/env node
// ctr / berth: the bundled CLI (built by `npm run build`). CommonJS on purpose: see bin/package.json.
require('../dist/bundle/ctr.cjs')
