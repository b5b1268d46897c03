// The registry client's push side against the in-process fake registry (and a tiny server for redirect loops): HEAD
// before upload, cross-repository mounts, monolithic and chunked uploads with relative and absolute Locations,
// restarts after failures, manifests under tags, push scopes for Bearer tokens, and error kinds.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {Readable} from 'node:stream'
import {after, afterEach, before, describe, test} from 'node:test'
import {sha256Digest, type Descriptor} from '../../../../src/lib/oci/index.js'
import {createRegistry, type BlobSource} from '../../../../src/lib/registry/index.js'
import {startFakeRegistry, type FakeRegistry, type RequestLogEntry} from '../../../helpers/fake-registry.js'
import {freePort} from '../../../helpers/registry.js'
import {buildFixtures, isolated, ref, rejectsWith, startMiniServer, topDescriptor, type Fixtures} from './fixtures.js'

const blob = randomBytes(300_000)
const blobDesc: Descriptor = {mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256Digest(blob), size: blob.length}
const source =
  (data: Buffer): BlobSource =>
  (start, end) =>
    Readable.from([data.subarray(start, end)])

const uploads = (log: RequestLogEntry[]) => log.filter((e) => e.path.includes('/blobs/uploads/'))
const methods = (log: RequestLogEntry[]) => log.map((e) => `${e.method} ${e.path.replace(/\/uploads\/[0-9a-f]+$/, '/uploads/<id>')}`)

let fx: Fixtures
before(async () => {
  fx = await buildFixtures()
})

describe('pushing blobs and manifests to the fake registry', () => {
  let fake: FakeRegistry
  before(async () => {
    fake = await startFakeRegistry()
  })
  after(() => fake.stop())
  afterEach(() => {
    fake.rules.clear()
    fake.clearLog()
  })

  test('a new blob: HEAD (404), POST, one PUT with ?digest= after the Location query; then HEAD says exists', async () => {
    const reg = createRegistry(isolated())
    const progress: number[] = []
    const outcome = await reg.pushBlob(ref(fake.host, 'push/a:1'), blobDesc, source(blob), {onProgress: (n) => progress.push(n)})
    assert.equal(outcome, 'uploaded')
    assert.ok(fake.hasBlob('push/a', blobDesc.digest))
    assert.deepEqual(methods(fake.log), [`HEAD /v2/push/a/blobs/${blobDesc.digest}`, 'POST /v2/push/a/blobs/uploads/', 'PUT /v2/push/a/blobs/uploads/<id>'])
    const put = fake.log[2]
    // The registry's opaque `_state` stays as it was sent, and the digest follows it.
    assert.match(put.query, /^\?_state=[^&]+&digest=sha256%3A[0-9a-f]{64}$/)
    assert.equal(put.bytesReceived, blob.length)
    assert.equal(progress.at(-1), blob.length)
    assert.equal(reg.stats.uploadedBytes, blob.length)
    fake.clearLog()
    assert.equal(await reg.pushBlob(ref(fake.host, 'push/a:1'), blobDesc, source(blob)), 'exists')
    assert.deepEqual(methods(fake.log), [`HEAD /v2/push/a/blobs/${blobDesc.digest}`])
  })

  test('an absolute Location is followed as it is', async () => {
    const abs = await startFakeRegistry({uploadLocation: 'absolute'})
    try {
      const reg = createRegistry(isolated())
      assert.equal(await reg.pushBlob(ref(abs.host, 'push/abs:1'), blobDesc, source(blob)), 'uploaded')
      assert.ok(abs.hasBlob('push/abs', blobDesc.digest))
    } finally {
      await abs.stop()
    }
  })

  test('a blob another repository holds is mounted (201): nothing is uploaded', async () => {
    const data = randomBytes(50_000)
    const digest = fake.addBlob('push/source', data)
    const desc = {mediaType: blobDesc.mediaType, digest, size: data.length}
    const reg = createRegistry(isolated())
    assert.equal(await reg.pushBlob(ref(fake.host, 'push/target:1'), desc, source(data), {mountFrom: 'push/source'}), 'mounted')
    assert.ok(fake.hasBlob('push/target', digest))
    const post = fake.log.find((e) => e.method === 'POST')!
    assert.equal(post.status, 201)
    assert.equal(new URLSearchParams(post.query).get('mount'), digest)
    assert.equal(new URLSearchParams(post.query).get('from'), 'push/source')
    assert.equal(fake.log.filter((e) => e.method === 'PUT' || e.method === 'PATCH').length, 0)
  })

  test('a mount the registry cannot do (202) uploads into the session it opened', async () => {
    const data = randomBytes(40_000)
    const desc = {mediaType: blobDesc.mediaType, digest: sha256Digest(data), size: data.length}
    const reg = createRegistry(isolated())
    assert.equal(await reg.pushBlob(ref(fake.host, 'push/m2:1'), desc, source(data), {mountFrom: 'push/nowhere'}), 'uploaded')
    assert.equal(fake.log.filter((e) => e.method === 'POST').length, 1, 'no second POST')
    assert.ok(fake.hasBlob('push/m2', desc.digest))
  })

  test('a monolithic PUT refused as too large (413) is sent again in PATCH chunks', async () => {
    const small = await startFakeRegistry({maxBodyBytes: 100_000})
    try {
      const reg = createRegistry(isolated())
      assert.equal(await reg.pushBlob(ref(small.host, 'push/chunks:1'), blobDesc, source(blob)), 'uploaded')
      assert.ok(small.hasBlob('push/chunks', blobDesc.digest))
      const statuses = uploads(small.log).map((e) => `${e.method} ${e.status}`)
      // 300 000 bytes: one refused PUT, then a new session, then halving from 150 000 to 75 000 byte chunks.
      assert.deepEqual(statuses, ['POST 202', 'PUT 413', 'POST 202', 'PATCH 413', 'POST 202', 'PATCH 202', 'PATCH 202', 'PATCH 202', 'PATCH 202', 'PUT 201'])
    } finally {
      await small.stop()
    }
  })

  test('uploadChunkSize sends PATCH chunks with Content-Range and a closing PUT', async () => {
    const reg = createRegistry(isolated({uploadChunkSize: 128 * 1024}))
    assert.equal(await reg.pushBlob(ref(fake.host, 'push/chunked:1'), blobDesc, source(blob)), 'uploaded')
    const patches = uploads(fake.log).filter((e) => e.method === 'PATCH')
    assert.deepEqual(
      patches.map((e) => e.bytesReceived),
      [131072, 131072, blob.length - 262144],
    )
    assert.equal(uploads(fake.log).at(-1)!.method, 'PUT')
    assert.equal(uploads(fake.log).at(-1)!.bytesReceived, 0)
    assert.ok(fake.hasBlob('push/chunked', blobDesc.digest))
  })

  test('an upload that fails on the way (500 on the PUT) starts over in a new session', async () => {
    fake.rules.add({path: '/blobs/uploads/', method: 'PUT', kind: 'status', status: 500, times: 1})
    const reg = createRegistry(isolated())
    const data = randomBytes(10_000)
    const desc = {mediaType: blobDesc.mediaType, digest: sha256Digest(data), size: data.length}
    assert.equal(await reg.pushBlob(ref(fake.host, 'push/retry:1'), desc, source(data)), 'uploaded')
    assert.deepEqual(
      uploads(fake.log).map((e) => `${e.method} ${e.status}`),
      ['POST 202', 'PUT 500', 'POST 202', 'PUT 201'],
    )
  })

  test('manifests: children by digest, the root under the tag; HEAD by tag compares Docker-Content-Digest', async () => {
    const index = fx.ociIndex
    const reg = createRegistry(isolated())
    const target = ref(fake.host, 'push/multi:v1')
    for (const child of index.manifests) {
      if (child.kind !== 'image') continue
      for (const [digest, bytes] of child.blobs) {
        assert.equal(await reg.pushBlob(target, {mediaType: 'application/octet-stream', digest, size: bytes.length}, source(bytes)), 'uploaded')
      }
      assert.equal(await reg.pushManifest(target, topDescriptor(child), child.manifestBytes), 'uploaded')
    }
    assert.equal(await reg.pushManifest(target, topDescriptor(index), index.manifestBytes, {tag: 'v1'}), 'uploaded')
    const put = fake.log.filter((e) => e.method === 'PUT' && e.path.includes('/manifests/'))
    assert.deepEqual(
      put.map((e) => e.path.split('/manifests/')[1]),
      [index.manifests[0].manifestDigest, index.manifests[1].manifestDigest, 'v1'],
    )
    assert.equal(fake.manifest('push/multi', 'v1')?.digest, index.manifestDigest)
    assert.equal(fake.manifest('push/multi', 'v1')?.mediaType, index.mediaType)
    // Again: the tag already points at this digest.
    fake.clearLog()
    assert.equal(await reg.pushManifest(target, topDescriptor(index), index.manifestBytes, {tag: 'v1'}), 'exists')
    assert.deepEqual(
      fake.log.map((e) => e.method),
      ['HEAD'],
    )
    // Another digest under the same tag is pushed.
    fake.clearLog()
    const child = index.manifests[0]
    assert.equal(await reg.pushManifest(target, topDescriptor(child), child.manifestBytes, {tag: 'v1'}), 'uploaded')
    assert.equal(fake.manifest('push/multi', 'v1')?.digest, child.manifestDigest)
  })

  test("an index whose manifests are missing there is refused with containerd's hint (failed precondition)", async () => {
    const reg = createRegistry(isolated())
    await rejectsWith(
      reg.pushManifest(ref(fake.host, 'push/orphan:1'), topDescriptor(fx.dockerList), fx.dockerList.manifestBytes, {tag: '1'}),
      'failed precondition',
      /^manifest list\/index references to blobs and\/or manifests are missing in your target registry: .*400 Bad Request/,
    )
  })

  test('bytes that do not match the descriptor are refused before sending', async () => {
    const reg = createRegistry(isolated())
    await rejectsWith(reg.pushManifest(ref(fake.host, 'push/bad:1'), topDescriptor(fx.ociImage), Buffer.from('{}')), 'data loss')
    assert.equal(fake.log.length, 0)
  })

  test('a source that cannot be read fails the upload as internal, not as the network', async () => {
    const reg = createRegistry(isolated())
    const failing: BlobSource = () =>
      new Readable({
        read() {
          this.destroy(Object.assign(new Error('EIO: i/o error, read'), {code: 'EIO'}))
        },
      })
    await rejectsWith(
      reg.pushBlob(ref(fake.host, 'push/eio:1'), blobDesc, failing),
      'internal',
      /^reading what Put "http:\/\/127\.0\.0\.1:\d+\/v2\/push\/eio\/blobs\/uploads\/[0-9a-f]+" sends: EIO: i\/o error, read$/,
    )
  })

  test("403 on the upload is permission denied with containerd's push wording", async () => {
    fake.rules.add({path: '/blobs/uploads/', method: 'POST', kind: 'status', status: 403})
    const reg = createRegistry(isolated())
    await rejectsWith(
      reg.pushBlob(ref(fake.host, 'push/denied:1'), blobDesc, source(blob)),
      'permission denied',
      /^push access denied, repository does not exist or may require authorization: /,
    )
  })
})

describe('pushing with Bearer tokens', () => {
  let fake: FakeRegistry
  before(async () => {
    fake = await startFakeRegistry({auth: {mode: 'bearer', credentials: {user: 'alice', password: 'secret'}}})
  })
  after(() => fake.stop())
  afterEach(() => fake.clearLog())

  test('push scope for the target, pull scope for the mount source', async () => {
    const data = randomBytes(20_000)
    const digest = fake.addBlob('team/base', data)
    const desc = {mediaType: blobDesc.mediaType, digest, size: data.length}
    const reg = createRegistry(isolated({user: 'alice:secret'}))
    assert.equal(await reg.pushBlob(ref(fake.host, 'team/app:1'), desc, source(data), {mountFrom: 'team/base'}), 'mounted')
    const scopes = fake.log.filter((e) => e.path === '/token').map((e) => new URLSearchParams(e.query).getAll('scope').sort())
    assert.ok(
      scopes.some((s) => s.includes('repository:team/app:pull,push') && s.includes('repository:team/base:pull')),
      JSON.stringify(scopes),
    )
    assert.equal(await reg.pushBlob(ref(fake.host, 'team/app:1'), blobDesc, source(blob)), 'uploaded')
  })

  test('wrong credentials: push access denied (permission denied)', async () => {
    const reg = createRegistry(isolated({user: 'alice:wrong'}))
    await rejectsWith(
      reg.pushBlob(ref(fake.host, 'team/app:2'), blobDesc, source(blob)),
      'permission denied',
      /^push access denied, repository does not exist or may require authorization: /,
    )
  })
})

describe('push failures outside the registry', () => {
  test('an unreachable registry is unavailable', async () => {
    const port = await freePort()
    const reg = createRegistry(isolated({retries: 1}))
    await rejectsWith(
      reg.pushBlob(ref(`127.0.0.1:${port}`, 'x/y:1'), blobDesc, source(blob)),
      'unavailable',
      /failed to do request: Head "http:\/\/127\.0\.0\.1:\d+\/v2\/x\/y\/blobs\/sha256:[0-9a-f]+"/,
    )
  })

  test('a redirect loop is unavailable and says so', async () => {
    const server = await startMiniServer((req, res) => {
      res.writeHead(307, {location: req.url ?? '/'})
      res.end()
    })
    try {
      const reg = createRegistry(isolated())
      await rejectsWith(reg.pushBlob(ref(server.host, 'x/y:1'), blobDesc, source(blob)), 'unavailable', /redirect loop: .* redirects back to /)
      assert.equal(server.requests.length, 1, 'a loop is seen at its first turn')
    } finally {
      await server.stop()
    }
  })
})
