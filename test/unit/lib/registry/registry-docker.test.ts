// The registry client against Debian's real docker-registry (distribution 2.8), open and behind htpasswd Basic auth:
// every manifest kind resolves by tag and digest, manifests and blobs fetch intact (with Range), and refusals have
// the right kinds.
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {MediaType} from '../../../../src/lib/oci/index.js'
import {createRegistry} from '../../../../src/lib/registry/index.js'
import {pushImage, startRegistry, type RunningRegistry} from '../../../helpers/registry.js'
import {missingTools} from '../../../helpers/run-tool.js'
import {KINDS, buildFixtures, collect, isolated, ref, rejectsWith, topDescriptor, type Fixtures} from './fixtures.js'

const skip = missingTools({'/usr/bin/docker-registry': 'docker-registry', '/usr/bin/htpasswd': 'apache2-utils'})
const creds = {user: 'berth', password: 'pass word'}

describe('registry client with docker-registry', {skip}, () => {
  let fx: Fixtures
  let open: RunningRegistry
  let locked: RunningRegistry
  before(async () => {
    ;[fx, open, locked] = await Promise.all([buildFixtures(), startRegistry(), startRegistry({auth: creds})])
    for (const [name, key] of KINDS) {
      await pushImage(open, `test/${name}:v1`, fx[key])
      await pushImage(locked, `test/${name}:v1`, fx[key], {auth: creds})
    }
  })
  after(() => Promise.all([open?.stop(), locked?.stop()]))

  for (const [name, key] of KINDS) {
    test(`${name}: resolve by tag and digest, fetch manifest, index children and blobs (open and with htpasswd)`, async () => {
      const built = fx[key]
      for (const [registry, options] of [
        [open, isolated()],
        [locked, isolated({user: `${creds.user}:${creds.password}`})],
      ] as const) {
        const reg = createRegistry(options)
        const byTag = await reg.resolve(ref(registry.host, `test/${name}:v1`))
        assert.deepEqual(byTag.descriptor, topDescriptor(built))
        const byDigest = await reg.resolve(ref(registry.host, `test/${name}@${built.manifestDigest}`))
        assert.deepEqual(byDigest.descriptor, topDescriptor(built))
        assert.deepEqual(await reg.fetchManifest(byTag.ref, byTag.descriptor), built.manifestBytes)
        const image = built.kind === 'image' ? built : (built.manifests[1] as typeof fx.ociImage)
        if (built.kind === 'index') assert.deepEqual(await reg.fetchManifest(byTag.ref, topDescriptor(image)), image.manifestBytes)
        const layer = image.layers[0]
        const layerDesc = {mediaType: layer.mediaType, digest: layer.digest, size: layer.size}
        assert.deepEqual(await collect((await reg.fetchBlob(byTag.ref, layerDesc)).stream), layer.bytes)
        const half = Math.floor(layer.size / 2)
        const chunks: Buffer[] = []
        await reg.fetchBlobResumable(byTag.ref, layerDesc, half, (c) => void chunks.push(Buffer.from(c)))
        assert.deepEqual(Buffer.concat(chunks), layer.bytes.subarray(half))
        const configDesc = {mediaType: MediaType.ociConfig, digest: image.configDigest, size: image.configBytes.length}
        assert.deepEqual(await collect((await reg.fetchBlob(byTag.ref, configDesc)).stream), image.configBytes)
      }
    })
  }

  test('unknown tags and repositories are NotFound', async () => {
    const reg = createRegistry(isolated())
    await rejectsWith(reg.resolve(ref(open.host, 'test/oci-index:nope')), 'not found', /test\/oci-index:nope: not found$/)
    await rejectsWith(reg.resolve(ref(open.host, 'test/nothing:v1')), 'not found')
  })

  test('htpasswd: no credentials and wrong credentials are PermissionDenied', async () => {
    await rejectsWith(createRegistry(isolated()).resolve(ref(locked.host, 'test/oci-index:v1')), 'permission denied', /no basic auth credentials/)
    const wrong = createRegistry(isolated({user: `${creds.user}:nope`}))
    await rejectsWith(
      wrong.resolve(ref(locked.host, 'test/oci-index:v1')),
      'permission denied',
      /^pull access denied, repository does not exist or may require authorization/,
    )
    await rejectsWith(
      wrong.fetchManifest(ref(locked.host, 'test/oci-index:v1'), topDescriptor(fx.ociIndex)),
      'permission denied',
      /unauthorized: authentication required/,
    )
  })
})
