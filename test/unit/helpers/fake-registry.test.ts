// Proves test/helpers/fake-registry.ts: it serves manifests and blobs (with Range) like a registry, injects each
// fault as specified, runs the Basic and Bearer flows, logs requests, and is good enough for skopeo.

import {after, afterEach, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {buildImage, buildIndex, generatedLayers, sha256, type BuiltImage, type BuiltIndex} from '../../helpers/oci-image.js'
import {startFakeRegistry, type FakeRegistry} from '../../helpers/fake-registry.js'
import {missingTools, runTool, runToolOk} from '../../helpers/run-tool.js'

let image: BuiltImage
let index: BuiltIndex
let layer: Buffer
let layerDigest: string

before(async () => {
  const [files] = generatedLayers({count: 1, bytesPerLayer: 300_000, seed: 'fake', textFraction: 0})
  image = await buildImage({layers: [files], compression: 'none'})
  layer = image.layers[0].bytes
  layerDigest = image.layers[0].digest
  const arm = await buildImage({layers: [[{path: 'x', type: 'file', content: 'arm'}]], platform: {architecture: 'arm64', os: 'linux'}})
  index = buildIndex([image, arm])
})

/** Reads a response body fully, or returns the error reading failed with. */
async function body(res: Response): Promise<Buffer | Error> {
  try {
    return Buffer.from(await res.arrayBuffer())
  } catch (e) {
    return e as Error
  }
}

describe('fake-registry', () => {
  let fake: FakeRegistry
  before(async () => {
    fake = await startFakeRegistry({images: {'test/app:v1': image, 'test/multi:v1': index}})
  })
  after(() => fake.stop())
  afterEach(() => {
    fake.rules.clear()
    fake.clearLog()
  })
  const get = (path: string, init?: RequestInit) => fetch(fake.url + path, init)

  test('serves /v2/, manifests by tag and digest, blobs, and tag lists, with registry headers', async () => {
    const v2 = await get('/v2/')
    assert.equal(v2.status, 200)
    assert.equal(v2.headers.get('docker-distribution-api-version'), 'registry/2.0')
    for (const ref of ['v1', image.manifestDigest]) {
      const res = await get(fake.manifestPath('test/app', ref))
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('content-type'), image.mediaType)
      assert.equal(res.headers.get('docker-content-digest'), image.manifestDigest)
      assert.deepEqual(await body(res), image.manifestBytes)
    }
    const idx = await get(fake.manifestPath('test/multi', 'v1'))
    assert.equal(idx.headers.get('content-type'), index.mediaType)
    assert.deepEqual(await body(idx), index.manifestBytes)
    const child = await get(fake.manifestPath('test/multi', (index.manifests[1] as BuiltImage).manifestDigest))
    assert.equal(child.status, 200)
    await body(child)

    const head = await get(fake.blobPath('test/app', layerDigest), {method: 'HEAD'})
    assert.equal(head.status, 200)
    assert.equal(head.headers.get('content-length'), String(layer.length))
    assert.equal(head.headers.get('docker-content-digest'), layerDigest)
    const blob = await get(fake.blobPath('test/app', layerDigest))
    assert.equal(blob.headers.get('accept-ranges'), 'bytes')
    assert.deepEqual(await body(blob), layer)
    const config = await get(fake.blobPath('test/app', image.configDigest))
    assert.deepEqual(await body(config), image.configBytes)

    const tags = await get('/v2/test/app/tags/list')
    assert.deepEqual(await tags.json(), {name: 'test/app', tags: ['v1']})
    assert.equal(fake.addBlob('test/app', Buffer.from('loose')), sha256('loose'))
    assert.equal((await body(await get(fake.blobPath('test/app', sha256('loose'))))).toString(), 'loose')
  })

  test('unknown names, manifests and blobs are 404 with registry error codes', async () => {
    const cases: [string, string][] = [
      ['/v2/nope/manifests/v1', 'NAME_UNKNOWN'],
      [fake.manifestPath('test/app', 'v2'), 'MANIFEST_UNKNOWN'],
      [fake.blobPath('test/app', 'sha256:' + '0'.repeat(64)), 'BLOB_UNKNOWN'],
      [fake.blobPath('test/multi', layerDigest.replace(/.$/, 'x')), 'BLOB_UNKNOWN'],
    ]
    for (const [path, code] of cases) {
      const res = await get(path)
      assert.equal(res.status, 404, path)
      assert.equal(((await res.json()) as {errors: {code: string}[]}).errors[0].code, code)
    }
  })

  test('Range requests get 206 with Content-Range; past the end gets 416', async () => {
    const path = fake.blobPath('test/app', layerDigest)
    const open = await get(path, {headers: {range: 'bytes=1000-'}})
    assert.equal(open.status, 206)
    assert.equal(open.headers.get('content-range'), `bytes 1000-${layer.length - 1}/${layer.length}`)
    assert.deepEqual(await body(open), layer.subarray(1000))
    const closed = await get(path, {headers: {range: 'bytes=10-19'}})
    assert.equal(closed.headers.get('content-range'), `bytes 10-19/${layer.length}`)
    assert.deepEqual(await body(closed), layer.subarray(10, 20))
    const past = await get(path, {headers: {range: `bytes=${layer.length}-`}})
    assert.equal(past.status, 416)
    assert.equal(past.headers.get('content-range'), `bytes */${layer.length}`)
    await body(past)
    assert.deepEqual(
      fake.log.map((e) => e.range),
      ['bytes=1000-', 'bytes=10-19', `bytes=${layer.length}-`],
    )
  })

  test('status faults answer N times, then the request succeeds', async () => {
    const path = fake.manifestPath('test/app', 'v1')
    const rule = fake.rules.add({path: '/manifests/v1', kind: 'status', status: 500, times: 2})
    assert.equal((await get(path)).status, 500)
    assert.equal((await get(path, {method: 'HEAD'})).status, 500)
    assert.equal((await get(path)).status, 200)
    assert.equal(rule.hits, 2)
    assert.deepEqual(
      fake.log.map((e) => [e.status, e.fault]),
      [
        [500, 'status'],
        [500, 'status'],
        [200, undefined],
      ],
    )
  })

  test('429 carries Retry-After; 401, 403 and 404 carry registry error bodies', async () => {
    const path = fake.blobPath('test/app', layerDigest)
    fake.rules.add({path: layerDigest, kind: 'status', status: 429, retryAfter: 2, times: 1})
    fake.rules.add({path: layerDigest, kind: 'status', status: 401, times: 1})
    fake.rules.add({path: layerDigest, kind: 'status', status: 403, times: 1})
    fake.rules.add({path: layerDigest, kind: 'status', status: 404, times: 1})
    fake.rules.add({path: layerDigest, kind: 'status', status: 403, times: 1, body: {errors: [{code: 'DENIED', message: 'custom'}]}})
    const r429 = await get(path)
    assert.equal(r429.status, 429)
    assert.equal(r429.headers.get('retry-after'), '2')
    assert.equal(((await r429.json()) as {errors: {code: string}[]}).errors[0].code, 'TOOMANYREQUESTS')
    const r401 = await get(path)
    assert.equal(r401.status, 401)
    assert.match(r401.headers.get('www-authenticate') ?? '', /^Basic realm=/)
    assert.equal(((await r401.json()) as {errors: {code: string}[]}).errors[0].code, 'UNAUTHORIZED')
    const r403 = await get(path)
    assert.equal(r403.status, 403)
    assert.deepEqual(
      ((await r403.json()) as {errors: {code: string}[]}).errors.map((e) => e.code),
      ['DENIED'],
    )
    const r404 = await get(path)
    assert.equal(((await r404.json()) as {errors: {code: string}[]}).errors[0].code, 'BLOB_UNKNOWN')
    const custom = await get(path)
    assert.deepEqual(await custom.json(), {errors: [{code: 'DENIED', message: 'custom'}]})
    assert.deepEqual(await body(await get(path)), layer)
  })

  test('corrupt flips exactly one byte of the body while headers stay honest', async () => {
    fake.rules.add({path: layerDigest, kind: 'corrupt', offset: 12345, times: 1})
    const res = await get(fake.blobPath('test/app', layerDigest))
    assert.equal(res.headers.get('docker-content-digest'), layerDigest)
    const got = (await body(res)) as Buffer
    assert.equal(got.length, layer.length)
    const diff = [...got.keys()].filter((i) => got[i] !== layer[i])
    assert.deepEqual(diff, [12345])
    assert.notEqual(sha256(got), layerDigest)
    // Manifests too; and with no offset the middle byte goes.
    fake.rules.add({path: '/manifests/', kind: 'corrupt'})
    const m = (await body(await get(fake.manifestPath('test/app', 'v1')))) as Buffer
    assert.notEqual(sha256(m), image.manifestDigest)
    assert.equal(m.length, image.manifestBytes.length)
  })

  test('truncate: a full Content-Length then a reset, or an honest short body', async () => {
    const path = fake.blobPath('test/app', layerDigest)
    fake.rules.add({path: layerDigest, kind: 'truncate', bytes: 1000, times: 1})
    const cut = await get(path)
    assert.equal(cut.headers.get('content-length'), String(layer.length))
    assert.ok((await body(cut)) instanceof Error, 'reading a truncated body fails')
    fake.rules.add({path: layerDigest, kind: 'truncate', bytes: 1000, declare: 'actual', times: 1})
    const short = await get(path)
    assert.equal(short.headers.get('content-length'), '1000')
    assert.deepEqual(await body(short), layer.subarray(0, 1000))
    assert.deepEqual(
      fake.log.map((e) => e.bytesSent),
      [1000, 1000],
    )
  })

  test('drop once after N bytes, then a Range request resumes: every byte is sent exactly once', async () => {
    const path = fake.blobPath('test/app', layerDigest)
    const rule = fake.rules.add({path: layerDigest, kind: 'drop', afterBytes: 100_000, times: 1})
    // A HEAD does not use up a body fault.
    assert.equal((await get(path, {method: 'HEAD'})).status, 200)
    const first = await get(path)
    const partial: Buffer[] = []
    let failed = false
    try {
      for await (const chunk of first.body!) partial.push(Buffer.from(chunk))
    } catch {
      failed = true
    }
    assert.ok(failed, 'the first download breaks')
    const have = Buffer.concat(partial)
    assert.equal(have.length, 100_000)
    const rest = await get(path, {headers: {range: `bytes=${have.length}-`}})
    assert.equal(rest.status, 206)
    const whole = Buffer.concat([have, (await body(rest)) as Buffer])
    assert.equal(sha256(whole), layerDigest)
    assert.equal(rule.hits, 1)
    const gets = fake.log.filter((e) => e.method === 'GET')
    assert.equal(
      gets.reduce((n, e) => n + e.bytesSent, 0),
      layer.length,
    )
  })

  test('slow bodies are throttled', async () => {
    fake.rules.add({path: image.configDigest, kind: 'slow', bytesPerSecond: 2000})
    const start = performance.now()
    const got = await body(await get(fake.blobPath('test/app', image.configDigest)))
    const ms = performance.now() - start
    assert.deepEqual(got, image.configBytes)
    const expected = (image.configBytes.length / 2000) * 1000
    assert.ok(ms >= expected * 0.7, `${image.configBytes.length} bytes at 2000 B/s took only ${ms.toFixed(0)} ms`)
  })

  test('oversized manifests, unknown media types and delays', async () => {
    fake.rules.add({path: '/manifests/v1', kind: 'oversize', bytes: 5 * 1024 * 1024, times: 1})
    const big = await get(fake.manifestPath('test/app', 'v1'))
    const bytes = (await body(big)) as Buffer
    assert.equal(bytes.length, 5 * 1024 * 1024)
    assert.equal(big.headers.get('docker-content-digest'), sha256(bytes))
    assert.deepEqual(JSON.parse(bytes.toString()), image.manifest)

    fake.rules.add({path: '/manifests/v1', kind: 'contentType', contentType: 'application/vnd.example.unknown+json', times: 1})
    const odd = await get(fake.manifestPath('test/app', 'v1'))
    assert.equal(odd.headers.get('content-type'), 'application/vnd.example.unknown+json')
    await body(odd)

    fake.rules.add({path: /\/v2\/$/, kind: 'delay', ms: 150, times: 1})
    const start = performance.now()
    assert.equal((await get('/v2/')).status, 200)
    assert.ok(performance.now() - start >= 140)
  })

  test('the log records method, path, query, range, accept and bytes sent', async () => {
    await body(await get(fake.manifestPath('test/app', 'v1') + '?x=1', {headers: {accept: image.mediaType}}))
    await get(fake.blobPath('test/app', layerDigest), {method: 'HEAD'})
    await body(await get(fake.blobPath('test/app', layerDigest), {headers: {range: 'bytes=5-'}}))
    assert.deepEqual(
      fake.log.map(({method, path, query, range, accept, status, bytesSent}) => ({method, path, query, range, accept, status, bytesSent})),
      [
        {
          method: 'GET',
          path: '/v2/test/app/manifests/v1',
          query: '?x=1',
          range: undefined,
          accept: image.mediaType,
          status: 200,
          bytesSent: image.manifestBytes.length,
        },
        {method: 'HEAD', path: `/v2/test/app/blobs/${layerDigest}`, query: '', range: undefined, accept: '*/*', status: 200, bytesSent: 0},
        {method: 'GET', path: `/v2/test/app/blobs/${layerDigest}`, query: '', range: 'bytes=5-', accept: '*/*', status: 206, bytesSent: layer.length - 5},
      ],
    )
  })
})

describe('fake-registry auth', () => {
  const creds = {user: 'puller', password: 'pw'}
  let bearer: FakeRegistry
  let basic: FakeRegistry
  let dir: string
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-fake-registry-'))
    ;[bearer, basic] = await Promise.all([
      startFakeRegistry({images: {'team/app:v1': image}, auth: {mode: 'bearer', credentials: creds, expiresIn: 60}}),
      startFakeRegistry({images: {'team/app:v1': image}, auth: {mode: 'basic', ...creds}}),
    ])
  })
  after(async () => {
    await Promise.all([bearer.stop(), basic.stop()])
    rmSync(dir, {recursive: true, force: true})
  })

  test('bearer: challenge, token with Basic credentials, scoped tokens, revocation', async () => {
    const path = `${bearer.url}/v2/team/app/manifests/v1`
    const challenge = await fetch(path)
    assert.equal(challenge.status, 401)
    assert.equal(challenge.headers.get('www-authenticate'), `Bearer realm="${bearer.url}/token",service="fake",scope="repository:team/app:pull"`)
    assert.equal(((await challenge.json()) as {errors: {code: string}[]}).errors[0].code, 'UNAUTHORIZED')
    const v2 = await fetch(`${bearer.url}/v2/`)
    assert.equal(v2.headers.get('www-authenticate'), `Bearer realm="${bearer.url}/token",service="fake"`)

    const tokenUrl = `${bearer.url}/token?service=fake&scope=${encodeURIComponent('repository:team/app:pull')}`
    assert.equal((await fetch(tokenUrl)).status, 401, 'token endpoint wants credentials')
    const wrong = await fetch(tokenUrl, {headers: {authorization: basicHeader(creds.user, 'nope')}})
    assert.equal(wrong.status, 401)
    const tokenRes = await fetch(tokenUrl, {headers: {authorization: basicHeader(creds.user, creds.password)}})
    const token = (await tokenRes.json()) as {token: string; access_token: string; expires_in: number}
    assert.equal(token.expires_in, 60)
    assert.equal(token.access_token, token.token)

    const ok = await fetch(path, {headers: {authorization: `Bearer ${token.token}`}})
    assert.equal(ok.status, 200)
    assert.deepEqual(await body(ok), image.manifestBytes)
    const otherScope = await fetch(`${bearer.url}/v2/other/app/manifests/v1`, {headers: {authorization: `Bearer ${token.token}`}})
    assert.equal(otherScope.status, 401)
    assert.equal((await fetch(path, {headers: {authorization: 'Bearer forged'}})).status, 401)
    assert.equal(bearer.tokensIssued(), 1)
    bearer.revokeTokens()
    assert.equal((await fetch(path, {headers: {authorization: `Bearer ${token.token}`}})).status, 401)
    // Faults apply to the token endpoint too.
    bearer.rules.add({path: '/token', kind: 'status', status: 503, times: 1})
    assert.equal((await fetch(tokenUrl, {headers: {authorization: basicHeader(creds.user, creds.password)}})).status, 503)
    bearer.rules.clear()
  })

  test('basic: 401 with a Basic challenge until the right credentials come', async () => {
    const path = `${basic.url}/v2/team/app/manifests/v1`
    const res = await fetch(path)
    assert.equal(res.status, 401)
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="fake"')
    assert.equal((await fetch(path, {headers: {authorization: basicHeader(creds.user, 'bad')}})).status, 401)
    const ok = await fetch(path, {headers: {authorization: basicHeader(creds.user, creds.password)}})
    assert.equal(ok.status, 200)
    assert.equal(basic.log.at(-1)?.authorization, 'basic')
    await body(ok)
  })

  test('skopeo pulls through the bearer flow and gets identical bytes; each blob is fetched once', {
    skip: missingTools({'/usr/bin/skopeo': 'skopeo'}),
  }, async () => {
    bearer.clearLog()
    const ref = `docker://${bearer.host}/team/app:v1`
    const denied = await runTool('skopeo', ['inspect', '--tls-verify=false', ref])
    assert.notEqual(denied.code, 0)
    const out = join(dir, 'skopeo-copy')
    // The layer is uncompressed: without this flag skopeo would gzip it and change the manifest.
    await runToolOk('skopeo', [
      'copy',
      '-q',
      '--preserve-digests',
      '--dest-oci-accept-uncompressed-layers',
      '--src-tls-verify=false',
      '--src-creds',
      `${creds.user}:${creds.password}`,
      ref,
      `oci:${out}:v1`,
    ])
    const copied = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'))
    assert.equal(copied.manifests[0].digest, image.manifestDigest)
    assert.deepEqual(readFileSync(join(out, 'blobs/sha256', layerDigest.slice(7))), layer)
    const blobGets = bearer.log.filter((e) => e.method === 'GET' && e.path.includes('/blobs/') && e.status === 200)
    assert.deepEqual(blobGets.map((e) => e.path.split('/').pop()).sort(), [...image.blobs.keys()].sort())
    assert.ok(bearer.log.some((e) => e.path === '/token' && e.authorization === 'basic' && e.status === 200))
  })
})

function basicHeader(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64')
}
