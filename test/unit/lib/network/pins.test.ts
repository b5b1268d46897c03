import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {isPinned, pinNamespaces, pinsUnder, unpin} from '../../../../src/lib/network/pins.js'
import {readMountTable} from '../../../../src/lib/store/index.js'

const root = process.getuid?.() === 0

test('pinned namespaces: nsfs mounts with the hostname set and lo up; unpinning leaves nothing', {skip: !root && 'needs root'}, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pins-'))
  t.after(() => {
    for (const pin of pinsUnder(dir)) unpin(pin) // when an assertion failed before the test's own unpinning
    rmSync(dir, {recursive: true, force: true})
  })
  const files = {net: join(dir, 'p', 'net'), ipc: join(dir, 'p', 'ipc'), uts: join(dir, 'p', 'uts')}
  pinNamespaces(files, {hostname: 'pinned-host'})
  const nsfs = readMountTable().filter((m) => m.type === 'nsfs' && m.target.startsWith(`${dir}/`))
  assert.deepEqual(nsfs.map((m) => m.target).sort(), Object.values(files).sort())
  for (const f of Object.values(files)) assert.ok(isPinned(f), f)
  assert.deepEqual(pinsUnder(dir).sort(), Object.values(files).sort())
  // New namespaces, not this process's own.
  for (const [kind, f] of Object.entries(files)) assert.notEqual(statSync(f).ino, statSync(`/proc/self/ns/${kind}`).ino, kind)
  const inside = (...argv: string[]) => execFileSync('nsenter', [`--net=${files.net}`, `--uts=${files.uts}`, ...argv], {encoding: 'utf8'})
  assert.equal(inside('hostname').trim(), 'pinned-host')
  assert.notEqual(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim(), 'pinned-host') // the host's is untouched
  assert.match(inside('ip', '-o', 'link', 'show', 'lo'), /<LOOPBACK,UP/)
  for (const f of Object.values(files)) unpin(f)
  for (const f of Object.values(files)) assert.equal(existsSync(f), false, f)
  assert.deepEqual(pinsUnder(dir), [])
})

test('a net pin alone makes only a net namespace', {skip: !root && 'needs root'}, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pins-'))
  t.after(() => {
    for (const pin of pinsUnder(dir)) unpin(pin) // when an assertion failed before the test's own unpinning
    rmSync(dir, {recursive: true, force: true})
  })
  const net = join(dir, 'net')
  pinNamespaces({net}, {hostname: 'ignored'})
  assert.deepEqual(pinsUnder(dir), [net])
  assert.equal(execFileSync('nsenter', [`--net=${net}`, 'hostname'], {encoding: 'utf8'}).trim(), readFileSync('/proc/sys/kernel/hostname', 'utf8').trim())
  assert.notEqual(statSync(net).ino, statSync('/proc/self/ns/net').ino)
  unpin(net)
})

test('a pin that cannot be made fails and leaves no file behind', {skip: !root && 'needs root'}, (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-pins-'))
  t.after(() => {
    for (const pin of pinsUnder(dir)) unpin(pin) // when an assertion failed before the test's own unpinning
    rmSync(dir, {recursive: true, force: true})
  })
  const files = {net: join(dir, 'net'), uts: join(dir, 'uts')}
  // sethostname refuses more than 64 bytes: the net pin made so far must not stay.
  assert.throws(() => pinNamespaces(files, {hostname: 'h'.repeat(65)}), /cannot pin namespaces: EINVAL/)
  assert.deepEqual(pinsUnder(dir), [])
  for (const f of Object.values(files)) assert.equal(existsSync(f), false, f)
})
