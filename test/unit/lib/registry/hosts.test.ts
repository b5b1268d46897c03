// Endpoints from containerd hosts directories: defaults per kind of host, hosts.toml keys and lookup order, and
// mirrors in action (order, `?ns=`, capabilities, falling back to the upstream when a mirror is missing, down or
// failing).
import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, afterEach, before, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {createRegistry} from '../../../../src/lib/registry/index.js'
import {isLocalhost, isMirrorOf, loadEndpoints, splitHostPort, type Endpoint} from '../../../../src/lib/registry/hosts.js'
import {startFakeRegistry, type FakeRegistry} from '../../../helpers/fake-registry.js'
import {freePort} from '../../../helpers/registry.js'
import {buildFixtures, isolated, ref, rejectsWith, startMiniServer, tempDir, topDescriptor, type Fixtures} from './fixtures.js'

const tmp = tempDir('berth-hosts-')
after(() => tmp.cleanup())
let counter = 0

/** Writes `<root>/<dirName>/hosts.toml` (or other files) into a fresh root. @returns the root. */
function hostsRoot(files: Record<string, string>): string {
  const root = join(tmp.dir, `root-${counter++}`)
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), {recursive: true})
    writeFileSync(join(root, path), text)
  }
  return root
}

const brief = (eps: Endpoint[]) =>
  eps.map((e) => `${e.scheme}://${e.host}${e.path} [${[...e.capabilities].sort().join(',')}]${e.httpFallback ? ' fallback' : ''}`)

describe('hosts: defaults without a hosts directory', () => {
  const none = '/nonexistent/hosts'
  const cases: [string, Parameters<typeof loadEndpoints>[1], string][] = [
    ['docker.io', {}, 'https://registry-1.docker.io/v2 [pull,push,resolve]'],
    ['docker.io', {plainHttp: true}, 'https://registry-1.docker.io/v2 [pull,push,resolve]'],
    ['quay.io', {}, 'https://quay.io/v2 [pull,push,resolve]'],
    ['quay.io', {plainHttp: true}, 'http://quay.io/v2 [pull,push,resolve]'],
    ['localhost:5000', {}, 'http://localhost:5000/v2 [pull,push,resolve]'],
    ['127.0.0.1:5000', {}, 'http://127.0.0.1:5000/v2 [pull,push,resolve]'],
    ['127.9.8.7:5000', {}, 'http://127.9.8.7:5000/v2 [pull,push,resolve]'],
    ['[::1]:5000', {}, 'http://[::1]:5000/v2 [pull,push,resolve]'],
    ['127.0.0.1:5000', {tlsConfigured: true}, 'https://127.0.0.1:5000/v2 [pull,push,resolve] fallback'],
    ['localhost', {}, 'https://localhost/v2 [pull,push,resolve]'],
    ['localhost:443', {}, 'https://localhost:443/v2 [pull,push,resolve]'],
    ['10.0.0.1:5000', {}, 'https://10.0.0.1:5000/v2 [pull,push,resolve]'],
  ]
  for (const [domain, options, want] of cases) {
    test(`${domain} ${JSON.stringify(options)} -> ${want}`, async () => {
      assert.deepEqual(brief(await loadEndpoints(domain, {hostsDir: none, ...options})), [want])
    })
  }

  test('isLocalhost, splitHostPort and isMirrorOf', () => {
    for (const h of ['localhost', 'localhost:5000', '127.0.0.1', '127.1.2.3:80', '[::1]:5000', '[::1]']) assert.ok(isLocalhost(h), h)
    for (const h of ['localhost.example.com', '128.0.0.1', '[::2]:5000', 'docker.io']) assert.ok(!isLocalhost(h), h)
    assert.deepEqual(splitHostPort('[::1]:5000'), {hostname: '::1', port: '5000'})
    assert.deepEqual(splitHostPort('example.com'), {hostname: 'example.com', port: ''})
    assert.ok(!isMirrorOf({host: 'registry-1.docker.io'}, 'docker.io'))
    assert.ok(!isMirrorOf({host: 'quay.io'}, 'quay.io'))
    assert.ok(isMirrorOf({host: 'mirror.local'}, 'docker.io'))
  })
})

describe('hosts: hosts.toml', () => {
  test('mirrors in file order, then the upstream; keys as containerd reads them', async () => {
    const root = hostsRoot({
      'docker.io/hosts.toml': `
server = "https://registry-1.docker.io"
skip_verify = false

[host."https://public-mirror.example.com"]
  capabilities = ["pull"]
[host."http://docker-mirror.internal:5000"]
  capabilities = ["pull", "resolve"]
  ca = "docker-mirror.crt"
  skip_verify = true
  [host."http://docker-mirror.internal:5000".header]
    x-custom-1 = "one"
    x-custom-2 = ["a", "b"]
[host."https://non-compliant.example.com/v2/upstream"]
  override_path = true
[host."https://sub.example.com/prefix"]
`,
    })
    const eps = await loadEndpoints('docker.io', {hostsDir: root})
    assert.deepEqual(brief(eps), [
      'https://public-mirror.example.com/v2 [pull]',
      'http://docker-mirror.internal:5000/v2 [pull,resolve]',
      'https://non-compliant.example.com/v2/upstream [pull,push,resolve]',
      'https://sub.example.com/prefix/v2 [pull,push,resolve]',
      'https://registry-1.docker.io/v2 [pull,push,resolve]',
    ])
    assert.deepEqual(eps[1].caFiles, [join(root, 'docker.io', 'docker-mirror.crt')])
    assert.equal(eps[1].skipVerify, true)
    assert.deepEqual(eps[1].headers, {'x-custom-1': ['one'], 'x-custom-2': ['a', 'b']})
    assert.equal(eps[4].skipVerify, false)
    assert.equal(eps[0].skipVerify, undefined)
  })

  test('server replaces the upstream; host_port_ wins over host:port; _default is the fallback', async () => {
    const root = hostsRoot({
      'reg.example.com_5000_/hosts.toml': 'server = "https://a.example.com"\n',
      'reg.example.com:5000/hosts.toml': 'server = "https://b.example.com"\n',
      'other.example.com:5000/hosts.toml': 'server = "c.example.com:8443"\nca = ["/abs/ca.pem"]\n',
      '_default/hosts.toml': '[host."https://everything.example.com"]\n  capabilities = ["pull", "resolve"]\n',
    })
    assert.deepEqual(brief(await loadEndpoints('reg.example.com:5000', {hostsDir: root})), ['https://a.example.com/v2 [pull,push,resolve]'])
    const other = await loadEndpoints('other.example.com:5000', {hostsDir: root})
    assert.deepEqual(brief(other), ['https://c.example.com:8443/v2 [pull,push,resolve]'])
    assert.deepEqual(other[0].caFiles, ['/abs/ca.pem'])
    assert.deepEqual(brief(await loadEndpoints('quay.io', {hostsDir: root})), [
      'https://everything.example.com/v2 [pull,resolve]',
      'https://quay.io/v2 [pull,push,resolve]',
    ])
  })

  test("a directory without hosts.toml uses Docker's certs.d files", async () => {
    const root = hostsRoot({
      'certs.example.com/ca.crt': 'x',
      'certs.example.com/client.cert': 'x',
      'certs.example.com/client.key': 'x',
      'certs.example.com/other.cert': 'x',
    })
    const [ep] = await loadEndpoints('certs.example.com', {hostsDir: root})
    const dir = join(root, 'certs.example.com')
    assert.deepEqual(ep.caFiles, [join(dir, 'ca.crt')])
    assert.deepEqual(ep.clientPairs, [
      [join(dir, 'client.cert'), join(dir, 'client.key')],
      [join(dir, 'other.cert'), ''],
    ])
    assert.equal(ep.host, 'certs.example.com')
  })

  test('client certificates in the three forms', async () => {
    const root = hostsRoot({
      'x.example.com/hosts.toml': `
[host."https://one.example.com"]
  client = "c.pem"
[host."https://two.example.com"]
  client = [["/c.cert", "/c.key"], ["/d.pem", ""]]
`,
    })
    const eps = await loadEndpoints('x.example.com', {hostsDir: root})
    assert.deepEqual(eps[0].clientPairs, [[join(root, 'x.example.com', 'c.pem'), '']])
    assert.deepEqual(eps[1].clientPairs, [
      ['/c.cert', '/c.key'],
      ['/d.pem', ''],
    ])
  })

  test('bad files are InvalidArgument naming the file', async () => {
    const bad = hostsRoot({
      'a.example.com/hosts.toml': 'server = \n',
      'b.example.com/hosts.toml': '[host."https://m.example.com"]\n  capabilities = ["pull", "fly"]\n',
      'c.example.com/hosts.toml': 'skip_verify = "yes"\n',
    })
    for (const host of ['a.example.com', 'b.example.com', 'c.example.com']) {
      await assert.rejects(
        loadEndpoints(host, {hostsDir: bad}),
        (err: Error) => errorKind(err) === 'invalid argument' && err.message.includes(join(bad, host, 'hosts.toml')),
      )
    }
  })
})

describe('hosts: mirrors in action', () => {
  let fx: Fixtures
  let upstream: FakeRegistry
  let mirror: FakeRegistry
  before(async () => {
    fx = await buildFixtures()
    upstream = await startFakeRegistry({images: {'test/app:v1': fx.ociIndex}})
    mirror = await startFakeRegistry()
  })
  after(() => Promise.all([upstream.stop(), mirror.stop()]))
  afterEach(() => {
    for (const f of [upstream, mirror]) {
      f.rules.clear()
      f.clearLog()
    }
  })
  const withMirrors = (toml: string, dirName = upstream.host) => isolated({hostsDir: hostsRoot({[`${dirName}/hosts.toml`]: toml})})

  test('a mirror without the image (404) falls back to the upstream; mirror requests carry ?ns=<host>', async () => {
    const reg = createRegistry(withMirrors(`[host."${mirror.url}"]\n`))
    const r = await reg.resolve(ref(upstream.host, 'test/app:v1'))
    assert.equal(r.descriptor.digest, fx.ociIndex.manifestDigest)
    await reg.fetchManifest(r.ref, r.descriptor)
    assert.deepEqual(
      mirror.log.map((e) => [e.method, e.status, new URLSearchParams(e.query).get('ns')]),
      [
        ['HEAD', 404, upstream.host],
        ['GET', 404, upstream.host],
      ],
    )
    assert.ok(mirror.log.every((e) => e.query === `?ns=${encodeURIComponent(upstream.host)}`))
    assert.ok(upstream.log.every((e) => e.query === ''))
  })

  test('a mirror that has the image serves it, and the upstream is not asked', async () => {
    const full = await startFakeRegistry({images: {'test/app:v1': fx.ociIndex}})
    try {
      const reg = createRegistry(withMirrors(`[host."${full.url}"]\n  capabilities = ["pull", "resolve"]\n`, upstream.host.replace(':', '_') + '_'))
      const r = await reg.resolve(ref(upstream.host, 'test/app:v1'))
      assert.deepEqual(await reg.fetchManifest(r.ref, r.descriptor), fx.ociIndex.manifestBytes)
      assert.equal(upstream.log.length, 0)
      assert.equal(full.log.length, 2)
    } finally {
      await full.stop()
    }
  })

  test('a pull-only mirror is not trusted to resolve tags, but serves content', async () => {
    const full = await startFakeRegistry({images: {'test/app:v1': fx.ociIndex}})
    try {
      const reg = createRegistry(withMirrors(`[host."${full.url}"]\n  capabilities = ["pull"]\n`))
      const r = await reg.resolve(ref(upstream.host, 'test/app:v1'))
      await reg.fetchManifest(r.ref, r.descriptor)
      assert.deepEqual(
        upstream.log.map((e) => e.method),
        ['HEAD'],
      )
      assert.deepEqual(
        full.log.map((e) => e.method),
        ['GET'],
      )
    } finally {
      await full.stop()
    }
  })

  test('a mirror that is down or failing falls back at once (no retries on a mirror)', async () => {
    const port = await freePort()
    mirror.rules.add({path: '/v2/', kind: 'status', status: 503})
    const reg = createRegistry(withMirrors(`[host."http://127.0.0.1:${port}"]\n[host."${mirror.url}"]\n`))
    const r = await reg.resolve(ref(upstream.host, 'test/app:v1'))
    assert.equal(r.descriptor.digest, fx.ociIndex.manifestDigest)
    assert.equal(mirror.log.length, 1)
    assert.equal(upstream.log.length, 1)
  })

  test('server set to the mirror: the upstream is never used', async () => {
    const reg = createRegistry(withMirrors(`server = "${mirror.url}"\n`))
    await rejectsWith(reg.resolve(ref(upstream.host, 'test/app:v1')), 'not found', /test\/app:v1: not found/)
    assert.equal(upstream.log.length, 0)
    assert.equal(mirror.log.length, 1)
  })

  test('hosts.toml headers are sent', async () => {
    const server = await startMiniServer((_req, res) => {
      res.writeHead(404, {'content-length': '0'})
      res.end()
    })
    try {
      const reg = createRegistry(withMirrors(`[host."${server.url}"]\n  [host."${server.url}".header]\n    x-mirror-key = ["k1", "k2"]\n`))
      await reg.resolve(ref(upstream.host, 'test/app:v1'))
      assert.equal(server.requests[0].headers['x-mirror-key'], 'k1, k2')
      assert.match(String(server.requests[0].headers['user-agent']), /^berth\//)
    } finally {
      await server.stop()
    }
  })

  test('the most relevant error wins: a failing upstream after a mirror 404', async () => {
    upstream.rules.add({path: '/manifests/', kind: 'status', status: 500})
    const reg = createRegistry({...withMirrors(`[host."${mirror.url}"]\n`), retries: 1})
    await rejectsWith(reg.resolve(ref(upstream.host, 'test/app:v1')), 'unavailable', /500/)
    // the upstream is the last host: it is retried
    assert.equal(upstream.log.length, 2)
    assert.ok(topDescriptor(fx.ociIndex).size > 0)
  })
})
