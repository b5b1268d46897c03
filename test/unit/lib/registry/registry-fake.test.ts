// The registry client against the in-process fake registry: resolve and fetch for every manifest kind, the Bearer and
// Basic flows with token caching, retries and resume, size and digest checks, and error kinds with their messages.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {after, afterEach, before, describe, test} from 'node:test'
import {MAX_MANIFEST_BYTES, MediaType, sha256Digest, type Descriptor} from '../../../../src/lib/oci/index.js'
import {createRegistry, isResumableError} from '../../../../src/lib/registry/index.js'
import {retryAfterMs} from '../../../../src/lib/registry/registry.js'
import {startFakeRegistry, type FakeRegistry} from '../../../helpers/fake-registry.js'
import {freePort} from '../../../helpers/registry.js'
import {runTool} from '../../../helpers/run-tool.js'
import {KINDS, buildFixtures, collect, isolated, ref, rejectsWith, startMiniServer, topDescriptor, type Fixtures} from './fixtures.js'

const MANIFEST_ACCEPT_HEADER =
  'application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, ' +
  'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*'

let fx: Fixtures
const blob = randomBytes(1_000_000)
const blobDesc: Descriptor = {mediaType: 'application/octet-stream', digest: sha256Digest(blob), size: blob.length}

before(async () => {
  fx = await buildFixtures()
})

describe('registry client with the fake registry (no auth)', () => {
  let fake: FakeRegistry
  before(async () => {
    fake = await startFakeRegistry()
    for (const [name, key] of KINDS) fake.addImage(`test/${name}:v1`, fx[key])
    fake.addBlob('test/blob', blob)
  })
  after(() => fake.stop())
  afterEach(() => {
    fake.rules.clear()
    fake.clearLog()
  })

  for (const [name, key] of KINDS) {
    test(`resolves ${name} by tag and by digest, and fetches it`, async () => {
      const built = fx[key]
      const reg = createRegistry(isolated())
      const byTag = await reg.resolve(ref(fake.host, `test/${name}:v1`))
      assert.deepEqual(byTag.descriptor, topDescriptor(built))
      assert.equal(byTag.name, `${fake.host}/test/${name}:v1`)
      const byDigest = await reg.resolve(ref(fake.host, `test/${name}@${built.manifestDigest}`))
      assert.deepEqual(byDigest.descriptor, topDescriptor(built))
      assert.deepEqual(await reg.fetchManifest(byTag.ref, byTag.descriptor), built.manifestBytes)
      // HEAD is enough when the registry sends the digest, the length and a telling Content-Type.
      const heads = fake.log.filter((e) => e.path.includes('/manifests/'))
      assert.deepEqual(
        heads.map((e) => e.method),
        ['HEAD', 'HEAD', 'GET'],
      )
      assert.equal(heads[0].accept, MANIFEST_ACCEPT_HEADER)
      assert.equal(heads[2].accept, `${built.mediaType}, */*`)
      const image = built.kind === 'image' ? built : (built.manifests[0] as typeof fx.ociImage)
      const child = await reg.fetchManifest(byTag.ref, topDescriptor(image))
      assert.deepEqual(child, image.manifestBytes)
      const configDesc = {mediaType: MediaType.ociConfig, digest: image.configDigest, size: image.configBytes.length}
      const {stream, offset} = await reg.fetchBlob(byTag.ref, configDesc)
      assert.equal(offset, 0)
      assert.deepEqual(await collect(stream), image.configBytes)
      assert.equal(reg.stats.blobBytes, image.configBytes.length)
      assert.equal(reg.stats.requests, fake.log.length)
    })
  }

  test('a generic Content-Type makes resolve read the body to tell the media type', async () => {
    fake.rules.add({path: '/manifests/', kind: 'contentType', contentType: 'application/json'})
    const reg = createRegistry(isolated())
    const r = await reg.resolve(ref(fake.host, 'test/docker-list:v1'))
    assert.deepEqual(r.descriptor, topDescriptor(fx.dockerList))
    assert.deepEqual(
      fake.log.map((e) => e.method),
      ['HEAD', 'GET'],
    )
  })

  test('a HEAD without support (405) falls back to GET', async () => {
    fake.rules.add({path: '/manifests/', method: 'HEAD', kind: 'status', status: 405})
    const reg = createRegistry(isolated())
    const r = await reg.resolve(ref(fake.host, 'test/oci-index:v1'))
    assert.deepEqual(r.descriptor, topDescriptor(fx.ociIndex))
  })

  test('schema 1 is refused as not implemented', async () => {
    fake.rules.add({path: '/manifests/', kind: 'contentType', contentType: MediaType.dockerSchema1SignedManifest})
    const reg = createRegistry(isolated())
    await rejectsWith(reg.resolve(ref(fake.host, 'test/oci-manifest:v1')), 'not implemented', /no longer supported since containerd v2\.0/)
  })

  test('an unknown tag is NotFound "<ref>: not found"; an unknown blob too', async () => {
    const reg = createRegistry(isolated())
    await rejectsWith(reg.resolve(ref(fake.host, 'test/oci-manifest:nope')), 'not found', new RegExp(`^${fake.host}/test/oci-manifest:nope: not found$`))
    await rejectsWith(reg.resolve(ref(fake.host, 'test/missing:v1')), 'not found')
    const missing = {...blobDesc, digest: sha256Digest('nothing here')}
    await rejectsWith(reg.fetchBlob(ref(fake.host, 'test/blob:x'), missing), 'not found', /test\/blob@sha256:[0-9a-f]{64}: not found/)
  })

  test('a digest reference falls back to the blobs endpoint when manifests says 404', async () => {
    fake.rules.add({path: '/manifests/', kind: 'status', status: 404})
    fake.addBlob('test/oci-manifest', fx.ociImage.manifestBytes)
    const reg = createRegistry(isolated())
    const r = await reg.resolve(ref(fake.host, `test/oci-manifest@${fx.ociImage.manifestDigest}`))
    assert.equal(r.descriptor.digest, fx.ociImage.manifestDigest)
    assert.equal(r.descriptor.mediaType, MediaType.ociManifest) // detected from the body (the blob answer is octet-stream)
    assert.ok(fake.log.some((e) => e.path.includes('/blobs/')))
  })

  test('retries 500 then succeeds; gives up with Unavailable after `retries`', async () => {
    fake.rules.add({path: '/manifests/', kind: 'status', status: 500, times: 2})
    const reg = createRegistry(isolated())
    await reg.resolve(ref(fake.host, 'test/oci-manifest:v1'))
    assert.equal(fake.log.length, 3)
    fake.clearLog()
    fake.rules.add({path: '/manifests/', kind: 'status', status: 503})
    const reg2 = createRegistry(isolated({retries: 2}))
    await rejectsWith(reg2.resolve(ref(fake.host, 'test/oci-manifest:v1')), 'unavailable', /503/)
    assert.equal(fake.log.length, 3)
  })

  test('429 waits for Retry-After, then succeeds', async () => {
    fake.rules.add({path: '/manifests/', kind: 'status', status: 429, retryAfter: 1, times: 1})
    const reg = createRegistry(isolated())
    const t0 = Date.now()
    await reg.resolve(ref(fake.host, 'test/oci-manifest:v1'))
    const waited = Date.now() - t0
    assert.ok(waited >= 900, `waited only ${waited} ms`)
    assert.equal(fake.log.length, 2)
  })

  test('other 4xx answers are not retried', async () => {
    fake.rules.add({path: '/manifests/', kind: 'status', status: 400})
    const reg = createRegistry(isolated())
    await rejectsWith(reg.resolve(ref(fake.host, 'test/oci-manifest:v1')), 'internal', /400/)
    assert.equal(fake.log.length, 1)
  })

  test('403 is PermissionDenied with the registry message (a GET surfaces the body of a HEAD)', async () => {
    fake.rules.add({path: '/manifests/', kind: 'status', status: 403})
    const reg = createRegistry(isolated())
    await rejectsWith(
      reg.resolve(ref(fake.host, 'test/oci-manifest:v1')),
      'permission denied',
      /403 Forbidden: denied: requested access to the resource is denied/,
    )
    assert.deepEqual(
      fake.log.map((e) => e.method),
      ['HEAD', 'GET'],
    )
  })

  test('a 401 Basic challenge without credentials is "no basic auth credentials"', async () => {
    fake.rules.add({path: '/manifests/', kind: 'status', status: 401})
    const reg = createRegistry(isolated())
    await rejectsWith(
      reg.resolve(ref(fake.host, 'test/oci-manifest:v1')),
      'permission denied',
      /^pull access denied, repository does not exist or may require authorization: no basic auth credentials$/,
    )
  })

  test('an unsupported auth scheme is PermissionDenied', async () => {
    fake.rules.add({path: '/manifests/', kind: 'status', status: 401, headers: {'www-authenticate': 'Negotiate'}})
    await rejectsWith(
      createRegistry(isolated()).resolve(ref(fake.host, 'test/oci-manifest:v1')),
      'permission denied',
      /failed to find supported auth scheme "negotiate"/,
    )
  })

  test('Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z')
    assert.equal(retryAfterMs({headers: {'retry-after': '3'}}, now), 3000)
    assert.equal(retryAfterMs({headers: {'retry-after': 'Mon, 01 Jan 2024 00:00:02 GMT'}}, now), 2000)
    assert.equal(retryAfterMs({headers: {'retry-after': 'Sun, 31 Dec 2023 00:00:00 GMT'}}, now), 0)
    assert.equal(retryAfterMs({headers: {'retry-after': 'soon'}}, now), undefined)
    assert.equal(retryAfterMs({headers: {}}, now), undefined)
  })

  test('a Retry-After beyond a minute is not waited for', async () => {
    fake.rules.add({path: '/manifests/', kind: 'status', status: 429, retryAfter: 3600})
    await rejectsWith(createRegistry(isolated()).resolve(ref(fake.host, 'test/oci-manifest:v1')), 'unavailable', /HEAD request to .*: 429 Too Many Requests$/)
    assert.equal(fake.log.length, 1)
  })

  test('a dropped manifest body is retried', async () => {
    fake.rules.add({path: fx.ociIndex.manifestDigest, kind: 'drop', afterBytes: 10, times: 1})
    const reg = createRegistry(isolated())
    const body = await reg.fetchManifest(ref(fake.host, 'test/oci-index:v1'), topDescriptor(fx.ociIndex))
    assert.deepEqual(body, fx.ociIndex.manifestBytes)
    assert.equal(fake.log.length, 2)
  })

  test('a wrong manifest digest is DataLoss', async () => {
    fake.rules.add({path: fx.ociIndex.manifestDigest, kind: 'corrupt'})
    const reg = createRegistry(isolated())
    await rejectsWith(
      reg.fetchManifest(ref(fake.host, 'test/oci-index:v1'), topDescriptor(fx.ociIndex)),
      'data loss',
      /has digest sha256:[0-9a-f]{64}, expected/,
    )
  })

  test('an oversized manifest is refused from its Content-Length, without downloading it', async () => {
    const big = 64 * 1024 * 1024
    fake.rules.add({path: fx.ociIndex.manifestDigest, kind: 'oversize', bytes: big})
    const reg = createRegistry(isolated())
    await rejectsWith(
      reg.fetchManifest(ref(fake.host, 'test/oci-index:v1'), topDescriptor(fx.ociIndex)),
      'not found',
      new RegExp(`rejecting ${big} byte manifest`),
    )
    await new Promise((r) => setTimeout(r, 50))
    assert.ok(fake.log[0].bytesSent < big / 2, `server sent ${fake.log[0].bytesSent} bytes`)
    // resolve: HEAD unsupported, the GET answer is too big
    fake.clearLog()
    fake.rules.add({path: '/manifests/', method: 'HEAD', kind: 'status', status: 405})
    fake.rules.add({path: '/manifests/v1', kind: 'oversize', bytes: big})
    await rejectsWith(reg.resolve(ref(fake.host, 'test/oci-index:v1')), 'not found', /^rejecting \d+ byte manifest for .*test\/oci-index:v1: not found$/)
    // a descriptor that says so is refused without a request
    fake.clearLog()
    await rejectsWith(
      reg.fetchManifest(ref(fake.host, 'test/oci-index:v1'), {...topDescriptor(fx.ociIndex), size: MAX_MANIFEST_BYTES + 1}),
      'not found',
      /rejecting/,
    )
    assert.equal(fake.log.length, 0)
  })

  test('fetchBlob from an offset sends Range and yields the rest', async () => {
    const reg = createRegistry(isolated())
    const {stream, offset} = await reg.fetchBlob(ref(fake.host, 'test/blob:x'), blobDesc, 123_456)
    assert.equal(offset, 123_456)
    assert.deepEqual(await collect(stream), blob.subarray(123_456))
    assert.equal(fake.log[0].range, 'bytes=123456-')
    const end = await reg.fetchBlob(ref(fake.host, 'test/blob:x'), blobDesc, blob.length)
    assert.equal((await collect(end.stream)).length, 0)
    await rejectsWith(reg.fetchBlob(ref(fake.host, 'test/blob:x'), blobDesc, blob.length + 1), 'invalid argument')
    await rejectsWith(reg.fetchBlob(ref(fake.host, 'test/blob:x'), {...blobDesc, size: 0}), 'invalid argument', /content size of zero/)
  })

  test('a dropped blob stream fails with Unavailable; fetchBlobResumable resumes with Range from where it stopped', async () => {
    fake.rules.add({path: blobDesc.digest, kind: 'drop', afterBytes: 300_000, times: 1})
    const reg = createRegistry(isolated())
    const chunks: Buffer[] = []
    await reg.fetchBlobResumable(ref(fake.host, 'test/blob:x'), blobDesc, 0, (c) => {
      chunks.push(Buffer.from(c))
    })
    assert.deepEqual(Buffer.concat(chunks), blob)
    const gets = fake.log.filter((e) => e.path.includes('/blobs/'))
    assert.equal(gets.length, 2)
    assert.equal(gets[0].range, undefined)
    assert.equal(gets[1].range, 'bytes=300000-')

    fake.clearLog()
    fake.rules.add({path: blobDesc.digest, kind: 'drop', afterBytes: 1000, times: 1})
    const {stream} = await reg.fetchBlob(ref(fake.host, 'test/blob:x'), blobDesc)
    const err = await rejectsWith(collect(stream), 'unavailable', /error reading blob|short read/)
    assert.ok(isResumableError(err))
    assert.ok(!isResumableError(new Error('other')))
  })

  test('a blob stream closed before it is read lets go of the response', async () => {
    fake.rules.add({path: blobDesc.digest, kind: 'slow', bytesPerSecond: 400_000})
    const reg = createRegistry(isolated())
    const {stream} = await reg.fetchBlob(ref(fake.host, 'test/blob:x'), blobDesc)
    await (stream as AsyncGenerator<Uint8Array>).return(undefined)
    await new Promise((r) => setTimeout(r, 50))
    const at = fake.log[0].bytesSent
    await new Promise((r) => setTimeout(r, 300))
    assert.ok(fake.log[0].bytesSent - at <= 40_000, `server kept sending: ${fake.log[0].bytesSent - at} bytes`)
  })

  test('fetchBlobResumable starts at an offset, awaits onChunk, and gives up after `retries` drops in a row', async () => {
    const reg = createRegistry(isolated({retries: 2}))
    const chunks: Buffer[] = []
    await reg.fetchBlobResumable(ref(fake.host, 'test/blob:x'), blobDesc, 500_000, async (c) => {
      await new Promise((r) => setImmediate(r))
      chunks.push(Buffer.from(c))
    })
    assert.deepEqual(Buffer.concat(chunks), blob.subarray(500_000))
    fake.clearLog()
    fake.rules.add({path: blobDesc.digest, kind: 'drop', afterBytes: 10})
    await rejectsWith(
      reg.fetchBlobResumable(ref(fake.host, 'test/blob:x'), blobDesc, 0, () => {}),
      'unavailable',
    )
    assert.equal(fake.log.length, 3)
    assert.deepEqual(
      fake.log.map((e) => e.range),
      [undefined, 'bytes=10-', 'bytes=20-'],
    )
  })

  test('errors thrown by onChunk end the download unchanged', async () => {
    const reg = createRegistry(isolated())
    const boom = new Error('disk full')
    await assert.rejects(
      reg.fetchBlobResumable(ref(fake.host, 'test/blob:x'), blobDesc, 0, () => {
        throw boom
      }),
      (err) => err === boom,
    )
  })

  test('a blob longer than its descriptor is DataLoss', async () => {
    const reg = createRegistry(isolated())
    const short = {...blobDesc, size: blob.length - 10}
    await rejectsWith(
      reg.fetchBlobResumable(ref(fake.host, 'test/blob:x'), short, 0, () => {}),
      'data loss',
      /more than the \d+ expected/,
    )
  })

  test('a short clean body is a short read, resumed by fetchBlobResumable', async () => {
    fake.rules.add({path: blobDesc.digest, kind: 'truncate', bytes: 4096, declare: 'actual', times: 1})
    const reg = createRegistry(isolated())
    const chunks: Buffer[] = []
    await reg.fetchBlobResumable(ref(fake.host, 'test/blob:x'), blobDesc, 0, (c) => void chunks.push(Buffer.from(c)))
    assert.deepEqual(Buffer.concat(chunks), blob)
    assert.equal(fake.log[1].range, 'bytes=4096-')
  })

  test('an unreachable port is Unavailable naming the host, after quick retries', async () => {
    const port = await freePort()
    const reg = createRegistry(isolated({retries: 2}))
    const err = await rejectsWith(reg.resolve(ref(`127.0.0.1:${port}`, 'test/x:v1')), 'unavailable', new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED`))
    assert.ok(err.cause !== undefined)
  })

  test('an aborted signal stops a retry wait', async () => {
    fake.rules.add({path: '/manifests/', kind: 'status', status: 503})
    const controller = new AbortController()
    const reg = createRegistry(isolated({retryBaseMs: 10_000, signal: controller.signal}))
    const p = reg.resolve(ref(fake.host, 'test/oci-manifest:v1'))
    setTimeout(() => controller.abort(), 50)
    await assert.rejects(p, (err: Error) => err.name === 'AbortError')
  })
})

describe('registry client with Bearer auth', () => {
  const creds = {user: 'alice', password: 'wonder land'}
  let open: FakeRegistry
  let locked: FakeRegistry
  before(async () => {
    open = await startFakeRegistry({auth: {mode: 'bearer'}, images: {'test/app:v1': fx.ociIndex}})
    locked = await startFakeRegistry({auth: {mode: 'bearer', credentials: creds, service: 'locked'}, images: {'test/app:v1': fx.ociIndex}})
  })
  after(() => Promise.all([open.stop(), locked.stop()]))
  afterEach(() => {
    for (const f of [open, locked]) {
      f.rules.clear()
      f.clearLog()
    }
  })

  test('anonymous tokens: one token for resolve, manifests and blobs; the token is sent up front after the first 401', async () => {
    const before = open.tokensIssued()
    const reg = createRegistry(isolated())
    const r = await reg.resolve(ref(open.host, 'test/app:v1'))
    await reg.fetchManifest(r.ref, r.descriptor)
    const image = fx.ociIndex.manifests[0] as typeof fx.ociImage
    await reg.fetchManifest(r.ref, topDescriptor(image))
    await collect((await reg.fetchBlob(r.ref, {mediaType: MediaType.ociConfig, digest: image.configDigest, size: image.configBytes.length})).stream)
    assert.equal(open.tokensIssued() - before, 1)
    const tokenRequests = open.log.filter((e) => e.path === '/token')
    assert.equal(tokenRequests.length, 1)
    assert.equal(tokenRequests[0].method, 'GET')
    assert.equal(tokenRequests[0].authorization, undefined)
    const q = new URLSearchParams(tokenRequests[0].query)
    assert.equal(q.get('service'), 'fake')
    assert.deepEqual(q.getAll('scope'), ['repository:test/app:pull'])
    assert.equal(open.log.filter((e) => e.status === 401).length, 1)
  })

  test('concurrent first requests share one token fetch', async () => {
    const reg = createRegistry(isolated())
    const r = ref(open.host, 'test/app:v1')
    const before = open.tokensIssued()
    await Promise.all(Array.from({length: 6}, () => reg.fetchManifest(r, topDescriptor(fx.ociIndex))))
    assert.equal(open.tokensIssued() - before, 1)
  })

  test('a token the registry no longer takes is fetched again', async () => {
    const reg = createRegistry(isolated())
    const r = ref(open.host, 'test/app:v1')
    const before = open.tokensIssued()
    await reg.resolve(r)
    open.revokeTokens()
    await reg.resolve(r)
    assert.equal(open.tokensIssued() - before, 2)
  })

  test('a token expires by expires_in', async () => {
    const short = await startFakeRegistry({auth: {mode: 'bearer', expiresIn: 1}, images: {'test/app:v1': fx.ociImage}})
    try {
      const reg = createRegistry(isolated())
      const r = ref(short.host, 'test/app:v1')
      await reg.resolve(r)
      await reg.resolve(r)
      assert.equal(short.tokensIssued(), 1)
      await new Promise((res) => setTimeout(res, 1100))
      await reg.resolve(r)
      assert.equal(short.tokensIssued(), 2)
      // the expired token was not even tried
      assert.equal(short.log.filter((e) => e.status === 401).length, 1)
    } finally {
      await short.stop()
    }
  })

  test('with credentials: OAuth POST first, then GET with Basic when the POST is refused', async () => {
    const reg = createRegistry(isolated({user: `${creds.user}:${creds.password}`}))
    const r = await reg.resolve(ref(locked.host, 'test/app:v1'))
    assert.equal(r.descriptor.digest, fx.ociIndex.manifestDigest)
    const tokens = locked.log.filter((e) => e.path === '/token')
    assert.deepEqual(
      tokens.map((e) => [e.method, e.status, e.authorization]),
      [
        ['POST', 401, undefined],
        ['GET', 200, 'basic'],
      ],
    )
  })

  test('without or with wrong credentials: PermissionDenied', async () => {
    await rejectsWith(
      createRegistry(isolated()).resolve(ref(locked.host, 'test/app:v1')),
      'permission denied',
      /^pull access denied, repository does not exist or may require authorization: .*401/,
    )
    await rejectsWith(
      createRegistry(isolated({user: 'alice:nope'})).resolve(ref(locked.host, 'test/app:v1')),
      'permission denied',
      /^pull access denied, repository does not exist or may require authorization: failed to fetch oauth token: .*401 Unauthorized/,
    )
  })

  test('a fresh token that is still refused is PermissionDenied with the server message', async () => {
    open.rules.add({
      path: '/manifests/',
      kind: 'status',
      status: 401,
      headers: {'www-authenticate': `Bearer realm="${open.url}/token",service="fake",scope="repository:test/app:pull",error="insufficient_scope"`},
    })
    await rejectsWith(
      createRegistry(isolated()).resolve(ref(open.host, 'test/app:v1')),
      'permission denied',
      /^pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed$/,
    )
  })

  test('a token endpoint that fails with 5xx is retried', async () => {
    open.rules.add({path: '/token', kind: 'status', status: 502, times: 1})
    const reg = createRegistry(isolated())
    await reg.resolve(ref(open.host, 'test/app:v1'))
    assert.equal(open.log.filter((e) => e.path === '/token').length, 2)
  })
})

describe('registry client with Basic auth', () => {
  let fake: FakeRegistry
  before(async () => {
    fake = await startFakeRegistry({auth: {mode: 'basic', user: 'bob', password: 'builder'}, images: {'test/app:v1': fx.dockerImage}})
  })
  after(() => fake.stop())
  afterEach(() => fake.clearLog())

  test('sends the credentials after the first challenge, and up front afterwards', async () => {
    const reg = createRegistry(isolated({user: 'bob:builder'}))
    const r = await reg.resolve(ref(fake.host, 'test/app:v1'))
    await reg.fetchManifest(r.ref, r.descriptor)
    assert.deepEqual(
      fake.log.map((e) => [e.method, e.status, e.authorization]),
      [
        ['HEAD', 401, undefined],
        ['HEAD', 200, 'basic'],
        ['GET', 200, 'basic'],
      ],
    )
  })

  test('no credentials / wrong credentials are PermissionDenied', async () => {
    await rejectsWith(createRegistry(isolated()).resolve(ref(fake.host, 'test/app:v1')), 'permission denied', /no basic auth credentials/)
    const wrong = createRegistry(isolated({user: 'bob:nope'}))
    // A HEAD answer has no body: the status is all there is to quote; a GET quotes the registry's message.
    await rejectsWith(wrong.resolve(ref(fake.host, 'test/app:v1')), 'permission denied', /^pull access denied.*: 401 Unauthorized$/)
    await rejectsWith(
      wrong.fetchManifest(ref(fake.host, 'test/app:v1'), topDescriptor(fx.dockerImage)),
      'permission denied',
      /^pull access denied.*: unauthorized: authentication required$/,
    )
  })
})

describe('registry client with servers that behave differently', () => {
  test('connections are kept alive and reused, HEAD answers included', async () => {
    const body = fx.ociIndex.manifestBytes
    const server = await startMiniServer((req, res) => {
      res.writeHead(200, {'content-type': fx.ociIndex.mediaType, 'docker-content-digest': fx.ociIndex.manifestDigest, 'content-length': String(body.length)})
      res.end(req.method === 'HEAD' ? undefined : body)
    })
    try {
      const reg = createRegistry(isolated())
      for (let i = 0; i < 3; i++) {
        const r = await reg.resolve(ref(server.host, 'test/app:v1'))
        await reg.fetchManifest(r.ref, r.descriptor)
      }
      assert.equal(server.requests.length, 6)
      assert.ok(server.connections() <= 2, `${server.connections()} connections for 6 requests`) // a drained answer frees its socket a tick later
    } finally {
      await server.stop()
    }
  })

  test('a finished client does not keep its process alive (idle keep-alive sockets are unref-ed)', async () => {
    const fake = await startFakeRegistry({images: {'test/app:v1': fx.ociImage}})
    try {
      const index = new URL('../../../../src/lib/registry/index.js', import.meta.url).href
      const oci = new URL('../../../../src/lib/oci/index.js', import.meta.url).href
      const code = `
        const {createRegistry} = await import(${JSON.stringify(index)})
        const {parseReference} = await import(${JSON.stringify(oci)})
        const reg = createRegistry({hostsDir: '/nonexistent', dockerConfigPath: '/nonexistent', authJsonPath: '/nonexistent'})
        const r = await reg.resolve(parseReference(${JSON.stringify(`${fake.host}/test/app:v1`)}))
        await reg.fetchManifest(r.ref, r.descriptor)
        console.log(r.descriptor.digest)
        console.log(Date.now())`
      const result = await runTool(process.execPath, ['--input-type=module', '-e', code], {timeoutMs: 20_000})
      assert.equal(result.code, 0, result.stderr)
      const [digest, doneAt] = result.stdout.trim().split('\n')
      assert.equal(digest, fx.ociImage.manifestDigest)
      // From the work's end to the process's exit: a socket still ref-ed would hold it for the
      // server's keep-alive (5 s); the start-up of node under load is not counted.
      const lingered = Date.now() - Number(doneAt)
      assert.ok(lingered < 3000, `the process lingered for ${lingered} ms`)
    } finally {
      await fake.stop()
    }
  })

  test('a server that ignores Range: the first bytes are skipped, in fetchBlob and when resuming', async () => {
    let drop = true
    const server = await startMiniServer((req, res) => {
      res.writeHead(200, {'content-length': String(blob.length), 'content-type': 'application/octet-stream'})
      if (drop) {
        drop = false
        res.write(blob.subarray(0, 200_000), () => res.destroy())
        return
      }
      res.end(blob)
    })
    try {
      const reg = createRegistry(isolated())
      const r = ref(server.host, 'test/blob:x')
      const chunks: Buffer[] = []
      await reg.fetchBlobResumable(r, blobDesc, 0, (c) => void chunks.push(Buffer.from(c)))
      assert.deepEqual(Buffer.concat(chunks), blob)
      assert.equal(server.requests[1].range, 'bytes=200000-')
      const {stream, offset} = await reg.fetchBlob(r, blobDesc, 777)
      assert.equal(offset, 777)
      assert.deepEqual(await collect(stream), blob.subarray(777))
      assert.equal(reg.stats.blobBytes, 200_000 + blob.length * 2)
    } finally {
      await server.stop()
    }
  })

  test('a chunked manifest over the limit is refused while reading', async () => {
    let written = 0
    const server = await startMiniServer((req, res) => {
      res.writeHead(200, {'content-type': MediaType.ociManifest, 'docker-content-digest': sha256Digest('x')})
      if (req.method === 'HEAD') return void res.end()
      const chunk = Buffer.alloc(256 * 1024, 0x20)
      const pump = (): void => {
        while (written < 64 * 1024 * 1024) {
          written += chunk.length
          if (!res.write(chunk)) return void res.once('drain', pump)
        }
        res.end()
      }
      res.on('close', () => res.destroy())
      pump()
    })
    try {
      // No Content-Length on HEAD either, so resolve has to GET and count.
      const reg = createRegistry(isolated())
      await rejectsWith(reg.resolve(ref(server.host, 'test/big:v1')), 'not found', /^rejecting \d+ byte manifest for/)
      assert.ok(written < 32 * 1024 * 1024, `server wrote ${written} bytes`)
    } finally {
      await server.stop()
    }
  })

  test('redirects are followed and Authorization is not sent to the other host', async () => {
    const target = await startFakeRegistry()
    const digest = target.addBlob('test/blob', blob)
    const server = await startMiniServer((req, res) => {
      if (req.headers.authorization === undefined) {
        res.writeHead(401, {'www-authenticate': 'Basic realm="x"', 'content-length': '0'})
        return void res.end()
      }
      res.writeHead(307, {location: `${target.url}/v2/test/blob/blobs/${digest}`, 'content-length': '0'})
      res.end()
    })
    try {
      const reg = createRegistry(isolated({user: 'u:p'}))
      const {stream} = await reg.fetchBlob(ref(server.host, 'test/blob:x'), blobDesc)
      assert.deepEqual(await collect(stream), blob)
      assert.equal(target.log.length, 1)
      assert.equal(target.log[0].authorization, undefined)
      assert.equal(reg.stats.requests, 3)
    } finally {
      await Promise.all([server.stop(), target.stop()])
    }
  })

  test('regression: a redirect loop was "unexpected status 307" (exit 1); it is Unavailable, naming the loop', async () => {
    const server = await startMiniServer((req, res) => {
      const next = req.url === '/v2/test/loop/manifests/a' ? '/v2/test/loop/manifests/b' : '/v2/test/loop/manifests/a'
      res.writeHead(307, {location: next, 'content-length': '0'})
      res.end()
    })
    try {
      const reg = createRegistry(isolated())
      await rejectsWith(reg.resolve(ref(server.host, 'test/loop:a')), 'unavailable', /redirect loop: .*\/manifests\/b redirects back to .*\/manifests\/a/)
      assert.ok(server.requests.length <= 4, `${server.requests.length} requests`)
    } finally {
      await server.stop()
    }
  })

  test('an endless chain of distinct redirects stops after 10 with Unavailable', async () => {
    let n = 0
    const server = await startMiniServer((_req, res) => {
      res.writeHead(302, {location: `/v2/test/chain/manifests/hop${n++}`, 'content-length': '0'})
      res.end()
    })
    try {
      const reg = createRegistry(isolated())
      await rejectsWith(reg.resolve(ref(server.host, 'test/chain:x')), 'unavailable', /redirected more than 10 times/)
    } finally {
      await server.stop()
    }
  })
})
