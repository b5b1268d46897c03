// Writes oclif.manifest.json from the built command classes, using oclif's own loader (the
// `oclif` dev CLI would bring in hundreds of packages for this one step).
import {rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Config} from '@oclif/core'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const file = join(root, 'oclif.manifest.json')
rmSync(file, {force: true}) // oclif would read a stale one instead of the classes
const config = await Config.load(root)
const plugin = config.getPluginsList().find((p) => p.root === root || p.type === 'core')
writeFileSync(file, `${JSON.stringify(plugin.manifest, null, 2)}\n`)
