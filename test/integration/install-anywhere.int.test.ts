// Installs anywhere: `npm pack` ships no tests, a LICENSE and no path of the build machine; the
// tarball installs with `npm install -g` into a fresh prefix and works from there (version and a
// pull); an install without scripts fails with one line saying what to run.
import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {gunzipSync} from 'node:zlib'
import {REPO_ROOT} from '../helpers/cli.js'
import {busyboxImage} from '../helpers/oci-image.js'
import {pushImage, type RunningRegistry, startRegistry} from '../helpers/registry.js'

/** Names and contents of a .tgz's members (a plain ustar reader is enough for npm's tarballs). */
function members(tgz: Buffer): Map<string, Buffer> {
  const tar = gunzipSync(tgz)
  const out = new Map<string, Buffer>()
  let pax: string | undefined
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512)
    if (header.every((b) => b === 0)) break
    const field = (start: number, len: number) =>
      header
        .subarray(start, start + len)
        .toString('latin1')
        .replace(/\0.*$/s, '')
    const size = parseInt(field(124, 12).trim() || '0', 8)
    const type = field(156, 1)
    const data = tar.subarray(off + 512, off + 512 + size)
    if (type === 'x') pax = /\d+ path=([^\n]*)\n/.exec(data.toString())?.[1]
    else {
      const prefix = field(345, 155)
      out.set(pax ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100)), data)
      pax = undefined
    }
    off += 512 + Math.ceil(size / 512) * 512
  }
  return out
}

const npm = (args: string[], cwd: string) =>
  spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline'], {cwd, encoding: 'utf8', timeout: 600_000})

describe('installs anywhere', () => {
  let dir: string
  let tarball: string
  let reg: RunningRegistry
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-install-'))
    const packed = npm(['pack', '--pack-destination', dir], REPO_ROOT)
    assert.equal(packed.status, 0, packed.stderr)
    tarball = join(dir, packed.stdout.trim().split('\n').pop()!)
    reg = await startRegistry()
    await pushImage(reg, 'library/busybox:1', await busyboxImage({compression: 'gzip'}))
  })
  after(async () => {
    await reg?.stop()
    rmSync(dir, {recursive: true, force: true})
  })

  test('npm pack ships no tests, a LICENSE, and no path of the build machine', () => {
    const files = members(readFileSync(tarball))
    const names = [...files.keys()]
    assert.deepEqual(
      names.filter((n) => /^package\/(dist\/)?test\//.test(n)),
      [],
    )
    assert.ok(names.includes('package/LICENSE'))
    assert.match(files.get('package/LICENSE')!.toString(), /Apache License\s+Version 2\.0/)
    assert.ok(names.includes('package/dist/bundle/ctr.cjs.cache'), 'the code cache ships')
    const leaks = names.filter((n) => files.get(n)!.includes(Buffer.from(REPO_ROOT)))
    assert.deepEqual(leaks, [], `files naming ${REPO_ROOT}`)
  })

  // The real install: npm fetches the dependencies (from its cache when it can) and better-sqlite3
  // compiles its addon, a minute or more on two cores.
  test('npm install -g of the tarball into a fresh prefix works: ctr version and a pull', {timeout: 900_000}, () => {
    const prefix = join(dir, 'prefix')
    const installed = npm(['install', '-g', '--prefix', prefix, tarball], dir)
    assert.equal(installed.status, 0, installed.stderr)
    const env: NodeJS.ProcessEnv = {...process.env, BERTH_ROOT: join(dir, 'root'), BERTH_STATE: join(dir, 'state')}
    delete env['BERTH_CONFIG']
    const ctr = join(prefix, 'bin', 'ctr')
    const version = spawnSync(ctr, ['version'], {env, encoding: 'utf8'})
    assert.equal(version.status, 0, version.stderr)
    assert.match(version.stdout, /^Client:\n {2}Version: {2}\d+\.\d+\.\d+/)
    const pull = spawnSync(ctr, ['images', 'pull', '-q', `${reg.host}/library/busybox:1`], {env, encoding: 'utf8'})
    assert.equal(pull.status, 0, pull.stderr)
    assert.match(spawnSync(join(prefix, 'bin', 'berth'), ['images', 'ls', '-q'], {env, encoding: 'utf8'}).stdout, /library\/busybox:1\n/)
    execFileSync(ctr, ['images', 'rm', `${reg.host}/library/busybox:1`], {env})
  })

  test('an install with --ignore-scripts fails with one line saying what to run', () => {
    const prefix = join(dir, 'bare')
    const installed = npm(['install', '-g', '--ignore-scripts', '--prefix', prefix, tarball], dir)
    assert.equal(installed.status, 0, installed.stderr)
    const r = spawnSync(join(prefix, 'bin', 'ctr'), ['namespaces', 'ls'], {
      env: {...process.env, BERTH_ROOT: join(dir, 'bare-root'), BERTH_STATE: join(dir, 'bare-state')},
      encoding: 'utf8',
    })
    assert.equal(r.status, 5, r.stderr)
    assert.match(r.stderr, /^ctr: .*the SQLite addon is not built .*--ignore-scripts.*: run `npm rebuild better-sqlite3` in .*\n$/)
    assert.doesNotMatch(r.stderr, /bindings file/)
  })
})
