// Proves test/helpers/registry.ts against Debian's docker-registry and skopeo: pushed images (OCI, Docker schema 2,
// zstd, multi-platform) read back with identical digests, htpasswd auth is enforced, and registries never outlive
// their test process.

import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {buildImage, buildIndex, busyboxImage, type BuiltImage, type BuiltIndex} from '../../helpers/oci-image.js'
import {pushImage, RegistryHttpError, startRegistry, type RunningRegistry} from '../../helpers/registry.js'
import {missingTools, runTool, runToolOk} from '../../helpers/run-tool.js'

const skip = missingTools({
  '/usr/bin/docker-registry': 'docker-registry',
  '/usr/bin/skopeo': 'skopeo',
  '/usr/bin/htpasswd': 'apache2-utils',
  '/bin/busybox': 'busybox-static',
})
const creds = {user: 'berth', password: 's3cret pass'}
const arm64 = {architecture: 'arm64', os: 'linux', variant: 'v8'}

describe('registry', {skip}, () => {
  let open: RunningRegistry
  let locked: RunningRegistry
  let dir: string
  let busybox: BuiltImage
  let multi: BuiltIndex
  let dockerList: BuiltIndex

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-registry-test-'))
    ;[open, locked, busybox] = await Promise.all([startRegistry(), startRegistry({auth: creds}), busyboxImage()])
    const arm = await buildImage({layers: [[{path: 'arch', type: 'file', content: 'arm64\n'}]], compression: 'zstd', platform: arm64})
    const amdZstd = await buildImage({
      layers: [[{path: 'arch', type: 'file', content: 'amd64\n'}]],
      compression: 'zstd',
      platform: {architecture: 'amd64', os: 'linux'},
    })
    multi = buildIndex([amdZstd, arm])
    const dAmd = await buildImage({
      layers: [[{path: 'd', type: 'file', content: 'docker amd64'}]],
      mediaTypes: 'docker',
      platform: {architecture: 'amd64', os: 'linux'},
    })
    const dArm = await buildImage({layers: [[{path: 'd', type: 'file', content: 'docker arm64'}]], mediaTypes: 'docker', platform: arm64})
    dockerList = buildIndex([dAmd, dArm])
  })
  after(async () => {
    await Promise.all([open?.stop(), locked?.stop()])
    rmSync(dir, {recursive: true, force: true})
  })

  const skopeo = (...args: string[]) => runToolOk('skopeo', args)

  test('starts on a loopback port and answers /v2/', async () => {
    assert.match(open.host, /^127\.0\.0\.1:\d+$/)
    assert.equal(open.url, `http://${open.host}`)
    const res = await fetch(`${open.url}/v2/`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0')
  })

  test('a pushed busybox image reads back through skopeo with the same digests; a second push uploads nothing', async () => {
    const pushed = await pushImage(open, 'library/busybox:1.35', busybox)
    assert.equal(pushed.digest, busybox.manifestDigest)
    assert.equal(pushed.uploaded.length, busybox.blobs.size)
    const ref = `docker://${open.host}/library/busybox:1.35`
    const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', ref))
    assert.equal(info.Digest, busybox.manifestDigest)
    assert.deepEqual(
      info.Layers,
      busybox.layers.map((l) => l.digest),
    )
    assert.equal(await skopeo('inspect', '--raw', '--tls-verify=false', ref), busybox.manifestBytes.toString())
    const config = await skopeo('inspect', '--config', '--raw', '--tls-verify=false', ref)
    assert.equal(config, busybox.configBytes.toString())

    const out = join(dir, 'copy-busybox')
    await skopeo('copy', '-q', '--src-tls-verify=false', ref, `oci:${out}:latest`)
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'))
    assert.equal(index.manifests[0].digest, busybox.manifestDigest)
    for (const digest of busybox.blobs.keys()) assert.ok(existsSync(join(out, 'blobs/sha256', digest.slice(7))), digest)

    const again = await pushImage(open, 'library/busybox:again', busybox)
    assert.deepEqual(again.uploaded, [])
  })

  test('a multi-platform index with zstd layers, and a Docker schema 2 manifest list, push and resolve per platform', async () => {
    await pushImage(open.host, 'multi/oci:v1', multi)
    await pushImage(open, 'multi/docker:v1', dockerList)
    for (const [repo, built] of [
      ['multi/oci', multi],
      ['multi/docker', dockerList],
    ] as const) {
      const ref = `docker://${open.host}/${repo}:v1`
      assert.equal(await skopeo('inspect', '--raw', '--tls-verify=false', ref), built.manifestBytes.toString())
      const arm = built.manifests[1] as BuiltImage
      const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--override-arch', 'arm64', '--override-variant', 'v8', ref))
      assert.equal(info.Architecture, 'arm64')
      assert.deepEqual(
        info.Layers,
        arm.layers.map((l) => l.digest),
      )
      const child = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${open.host}/${repo}@${arm.manifestDigest}`)
      assert.equal(child, arm.manifestBytes.toString())
    }
    // skopeo verifies each blob's digest as it copies, zstd included.
    const out = join(dir, 'copy-zstd')
    await skopeo('copy', '-q', '--src-tls-verify=false', '--override-arch', 'arm64', `docker://${open.host}/multi/oci:v1`, `oci:${out}:arm`)
    const arm = multi.manifests[1] as BuiltImage
    assert.equal(JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).manifests[0].digest, arm.manifestDigest)
  })

  test('with htpasswd auth, pushes and skopeo need the credentials', async () => {
    const res = await fetch(`${locked.url}/v2/`)
    assert.equal(res.status, 401)
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="berth-test"/)
    await assert.rejects(pushImage(locked, 'private/bb:1', busybox), (e: unknown) => e instanceof RegistryHttpError && e.status === 401)
    await assert.rejects(
      pushImage(locked, 'private/bb:1', busybox, {auth: {...creds, password: 'wrong'}}),
      (e: unknown) => e instanceof RegistryHttpError && e.status === 401,
    )
    const pushed = await pushImage(locked, 'private/bb:1', busybox, {auth: creds})
    assert.equal(pushed.digest, busybox.manifestDigest)

    const ref = `docker://${locked.host}/private/bb:1`
    const denied = await runTool('skopeo', ['inspect', '--tls-verify=false', ref])
    assert.notEqual(denied.code, 0)
    assert.match(denied.stderr, /unauthorized|authentication required/i)
    const info = JSON.parse(await skopeo('inspect', '--tls-verify=false', '--creds', `${creds.user}:${creds.password}`, ref))
    assert.equal(info.Digest, busybox.manifestDigest)
    const out = join(dir, 'copy-private')
    await skopeo('copy', '-q', '--src-tls-verify=false', '--src-creds', `${creds.user}:${creds.password}`, ref, `oci:${out}:x`)
    assert.equal(JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')).manifests[0].digest, busybox.manifestDigest)
  })

  test('stop() kills the registry and removes its directory', async () => {
    const r = await startRegistry()
    await r.stop()
    await r.stop() // idempotent
    assert.equal(existsSync(r.dir), false)
    assert.equal(isRunning(r.pid), false)
    await assert.rejects(fetch(`${r.url}/v2/`))
  })

  test('a registry dies with its test process, and the next start sweeps its directory', async () => {
    const helper = new URL('../../helpers/registry.js', import.meta.url).href
    const script = `const { startRegistry } = await import(${JSON.stringify(helper)});
      const r = await startRegistry(); console.log(JSON.stringify({ pid: r.pid, dir: r.dir })); setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: ['ignore', 'pipe', 'inherit']})
    const line = await new Promise<string>((resolve, reject) => {
      let buf = ''
      child.stdout.on('data', (c: Buffer) => {
        buf += c.toString()
        if (buf.includes('\n')) resolve(buf.split('\n')[0])
      })
      child.once('exit', (code) => reject(new Error(`helper process exited ${code}`)))
    })
    const {pid, dir: orphanDir} = JSON.parse(line) as {pid: number; dir: string}
    assert.ok(isRunning(pid))
    const reaped = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await reaped
    const deadline = Date.now() + 5000
    while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.equal(isRunning(pid), false, 'registry outlived its parent')
    assert.ok(existsSync(orphanDir))
    const next = await startRegistry()
    await next.stop()
    assert.equal(existsSync(orphanDir), false, 'stale directory swept')
  })
})

describe('pushImage protocol', () => {
  test('follows a relative Location that carries a query, sends Basic auth, and pushes children before the index', async () => {
    const seen: {method: string; url: string; auth?: string; type?: string}[] = []
    const server = createServer((req, res) => {
      seen.push({method: req.method!, url: req.url!, auth: req.headers.authorization, type: req.headers['content-type']})
      req.resume()
      req.on('end', () => {
        if (req.method === 'HEAD') return void res.writeHead(404).end()
        if (req.method === 'POST') return void res.writeHead(202, {location: '/upload/u1?_state=abc'}).end()
        if (req.url!.startsWith('/upload/')) return void res.writeHead(201).end()
        res.writeHead(201).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const port = (server.address() as AddressInfo).port
      const a = await buildImage({layers: [[{path: 'a', type: 'file', content: 'a'}]], platform: {architecture: 'amd64', os: 'linux'}})
      const b = await buildImage({layers: [[{path: 'b', type: 'file', content: 'b'}]], platform: arm64})
      const index = buildIndex([a, b])
      const result = await pushImage(`127.0.0.1:${port}`, 'ns/repo:tag', index, {auth: {user: 'u', password: 'p'}, concurrency: 1})
      assert.equal(result.digest, index.manifestDigest)
      assert.ok(seen.every((r) => r.auth === 'Basic ' + Buffer.from('u:p').toString('base64')))
      const puts = seen.filter((r) => r.method === 'PUT' && r.url.startsWith('/upload/'))
      assert.equal(puts.length, index.blobs.size)
      for (const p of puts) assert.match(p.url, /^\/upload\/u1\?_state=abc&digest=sha256%3A[0-9a-f]{64}$/)
      const manifests = seen.filter((r) => r.url.includes('/manifests/'))
      assert.deepEqual(
        manifests.map((r) => [r.url, r.type]),
        [
          [`/v2/ns/repo/manifests/${a.manifestDigest}`, a.mediaType],
          [`/v2/ns/repo/manifests/${b.manifestDigest}`, b.mediaType],
          ['/v2/ns/repo/manifests/tag', index.mediaType],
        ],
      )
      const lastBlob = seen.findLastIndex((r) => r.url.startsWith('/upload/'))
      assert.ok(lastBlob < seen.findIndex((r) => r.url.includes('/manifests/')), 'all blobs before any manifest')
    } finally {
      server.close()
    }
  })
})

/** True while `pid` is a live (non-zombie) process. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}
