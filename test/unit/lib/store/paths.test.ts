// The on-disk layout is spelled once, in src/lib/store/paths.ts: no other module of src/lib joins
// the root or the state directory with a literal name, and the paths it gives are the layout
// docs/design.md §2 describes.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {test} from 'node:test'
import * as paths from '../../../../src/lib/store/paths.js'
import {REPO_ROOT} from '../../../helpers/cli.js'

/** Files still building their own paths, with the work that moves them. Remove an entry once it uses paths.ts. */
const KNOWN: readonly string[] = []

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : []
  })
}

test('no module but store/paths.ts joins root or state with a literal, nor names meta.db', () => {
  const lib = join(REPO_ROOT, 'src', 'lib')
  const offenders = new Set<string>()
  for (const file of sources(lib)) {
    const name = relative(lib, file)
    if (name === 'store/paths.ts') continue
    const text = readFileSync(file, 'utf8')
    if (/join\((?:[\w.]+\.)?(?:root|state), ['`]/.test(text) || /['`]meta\.db['`]/.test(text)) offenders.add(name)
  }
  assert.deepEqual([...offenders].filter((f) => !KNOWN.includes(f)).sort(), [])
  assert.deepEqual(
    KNOWN.filter((f) => !offenders.has(f)),
    [],
    'listed as known but fixed: remove them from KNOWN',
  )
})

test('the layout of docs/design.md §2', () => {
  const r = '/r'
  const s = '/s'
  assert.equal(paths.metaDbPath(r), '/r/meta.db')
  assert.equal(paths.blobPath(r, `sha256:${'a'.repeat(64)}`), `/r/content/blobs/sha256/${'a'.repeat(64)}`)
  assert.equal(paths.ingestRoot(r), '/r/content/ingest')
  assert.equal(paths.snapshotterDir(r, 'overlayfs'), '/r/snapshots/overlayfs')
  assert.equal(paths.locksDir(r), '/r/locks')
  assert.equal(paths.containerDir(r, 'ns', 'c'), '/r/containers/ns/c')
  assert.equal(paths.cniConfDir(r), '/r/cni/net.d')
  assert.equal(paths.taskDir(s, 'ns', 'c'), '/s/tasks/ns/c')
  assert.equal(paths.usernsDir(s, 'ns', 'c'), '/s/userns/ns/c')
  assert.equal(paths.runcRoot(s, 'ns'), '/s/runc/ns')
  assert.equal(paths.containerRunDir(s, 'ns', 'c'), '/s/containers/ns/c')
  assert.equal(paths.containerNetnsPath(s, 'ns', 'c'), '/s/netns/ns/c')
  assert.equal(paths.podDir(s, 'ns', 'p'), '/s/pods/ns/p')
  assert.equal(paths.checkpointsDir(s), '/s/checkpoints')
  assert.equal(paths.remapDir(s), '/s/remap')
  assert.equal(paths.cniIpamDir(s), '/s/cni/ipam')
  assert.throws(() => paths.blobPath(r, 'sha256:../../etc'), /invalid/)
})
