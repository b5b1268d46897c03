// Proves test/helpers/oci-image.ts: digests and diff_ids are what real tools compute, OCI layouts are read by skopeo
// and unpacked by umoci, the busybox image runs, and generated layers are deterministic.

import {after, before, describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {
  buildImage,
  buildIndex,
  busyboxImage,
  generatedLayers,
  manifestsOf,
  MEDIA_TYPES,
  sha256,
  writeOciLayout,
  type BuiltImage,
} from '../../helpers/oci-image.js'
import {writeTar, type TarEntry} from '../../helpers/tar-writer.js'
import {missingTools, runTool, runToolOk} from '../../helpers/run-tool.js'

const isRoot = process.getuid?.() === 0
const noSkopeo = missingTools({'/usr/bin/skopeo': 'skopeo'})
const noUmoci = missingTools({'/usr/bin/umoci': 'umoci', '/bin/busybox': 'busybox-static'})
let dir: string

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-oci-image-'))
})
after(() => rmSync(dir, {recursive: true, force: true}))

const layerA: TarEntry[] = [
  {path: 'a/', type: 'dir'},
  {path: 'a/hello.txt', type: 'file', content: 'hello\n'.repeat(100)},
]
const layerB: TarEntry[] = [
  {path: 'a/.wh.hello.txt', type: 'file'},
  {path: 'b', type: 'symlink', linkname: '/etc'},
]
const layerC: TarEntry[] = [{path: 'c', type: 'file', content: Buffer.alloc(5000, 7)}]
const arm64 = {architecture: 'arm64', os: 'linux', variant: 'v8'}

describe('oci-image', () => {
  test('layers get blob digests, sizes and diff_ids that gzip, zstd and tar agree with', async () => {
    const image = await buildImage({layers: [layerA, layerB, layerC], compression: ['gzip', 'zstd', 'none']})
    const tars = [layerA, layerB, layerC].map((l) => writeTar(l))
    assert.deepEqual(
      image.layers.map((l) => l.mediaType),
      [MEDIA_TYPES.oci.layer.gzip, MEDIA_TYPES.oci.layer.zstd, MEDIA_TYPES.oci.layer.none],
    )
    const decompressors = [['gzip', '-dc'], ['zstd', '-dcq'], ['cat']] as const
    for (const [i, layer] of image.layers.entries()) {
      assert.equal(layer.digest, sha256(layer.bytes))
      assert.equal(layer.size, layer.bytes.length)
      assert.equal(layer.diffId, sha256(tars[i]))
      const [cmd, ...args] = decompressors[i]
      const file = join(dir, `layer-${i}`)
      writeFileSync(file, layer.bytes)
      const raw = await runToolOk('sh', ['-c', `${cmd} ${args.join(' ')} < '${file}' | sha256sum`])
      assert.equal('sha256:' + raw.split(' ')[0], layer.diffId, `layer ${i} decompressed by ${cmd}`)
      assert.equal(image.blobs.get(layer.digest), layer.bytes)
    }
    assert.deepEqual(image.config.rootfs, {type: 'layers', diff_ids: image.layers.map((l) => l.diffId)})
    assert.equal(image.configDigest, sha256(image.configBytes))
    assert.deepEqual(JSON.parse(image.configBytes.toString()), image.config)
    assert.equal(image.manifestDigest, sha256(image.manifestBytes))
    const manifest = JSON.parse(image.manifestBytes.toString())
    assert.deepEqual(manifest, image.manifest)
    assert.equal(manifest.mediaType, MEDIA_TYPES.oci.manifest)
    assert.deepEqual(manifest.config, {mediaType: MEDIA_TYPES.oci.config, digest: image.configDigest, size: image.configBytes.length})
    assert.deepEqual(
      manifest.layers,
      image.layers.map((l) => ({mediaType: l.mediaType, digest: l.digest, size: l.size})),
    )
    assert.equal(image.blobs.size, 4)
  })

  test('prebuilt tars, config overrides and Docker media types', async () => {
    const tar = writeTar(layerA)
    const image = await buildImage({
      layers: [tar],
      mediaTypes: 'docker',
      config: {config: {Entrypoint: ['/bin/app'], User: '1000'}, author: 'berth'},
    })
    assert.equal(image.layers[0].diffId, sha256(tar))
    assert.equal(image.layers[0].mediaType, MEDIA_TYPES.docker.layer.gzip)
    assert.equal(image.mediaType, MEDIA_TYPES.docker.manifest)
    assert.equal((image.manifest.config as {mediaType: string}).mediaType, MEDIA_TYPES.docker.config)
    assert.deepEqual(image.config.config?.Entrypoint, ['/bin/app'])
    assert.ok(image.config.config?.Env?.[0]?.startsWith('PATH='), 'defaults survive a partial config')
    assert.equal(image.config.author, 'berth')
    await assert.rejects(buildImage({layers: [tar], mediaTypes: 'docker', compression: 'zstd'}), /no zstd layer type/)

    const wrong = await buildImage({layers: [tar], config: {rootfs: {type: 'layers', diff_ids: ['sha256:' + '0'.repeat(64)]}}})
    assert.deepEqual(wrong.config.rootfs.diff_ids, ['sha256:' + '0'.repeat(64)], 'a given rootfs is kept verbatim')
    const odd = await buildImage({layers: [tar], layerMediaTypes: ['application/x-unknown']})
    assert.equal(odd.layers[0].mediaType, 'application/x-unknown')
  })

  test('builds are deterministic', async () => {
    const a = await buildImage({layers: [layerA, layerC], compression: ['gzip', 'zstd']})
    const b = await buildImage({layers: [layerA, layerC], compression: ['gzip', 'zstd']})
    assert.equal(a.manifestDigest, b.manifestDigest)
  })

  test('indexes list each platform (OCI index and Docker manifest list); manifestsOf puts children first', async () => {
    const amd = await buildImage({layers: [layerA], platform: {architecture: 'amd64', os: 'linux'}})
    const arm = await buildImage({layers: [layerC], platform: arm64})
    const index = buildIndex([amd, arm])
    assert.equal(index.mediaType, MEDIA_TYPES.oci.index)
    assert.equal(index.manifestDigest, sha256(index.manifestBytes))
    assert.deepEqual(JSON.parse(index.manifestBytes.toString()).manifests, [
      {mediaType: MEDIA_TYPES.oci.manifest, digest: amd.manifestDigest, size: amd.manifestBytes.length, platform: {architecture: 'amd64', os: 'linux'}},
      {mediaType: MEDIA_TYPES.oci.manifest, digest: arm.manifestDigest, size: arm.manifestBytes.length, platform: arm64},
    ])
    assert.equal(index.blobs.size, amd.blobs.size + arm.blobs.size)
    assert.deepEqual(
      manifestsOf(index).map((m) => m.digest),
      [amd.manifestDigest, arm.manifestDigest, index.manifestDigest],
    )

    const damd = await buildImage({layers: [layerA], mediaTypes: 'docker', platform: {architecture: 'amd64', os: 'linux'}})
    const list = buildIndex([damd], [{architecture: 'amd64', os: 'linux', variant: 'v3'}])
    assert.equal(list.mediaType, MEDIA_TYPES.docker.index)
    const parsed = JSON.parse(list.manifestBytes.toString())
    assert.equal(parsed.mediaType, MEDIA_TYPES.docker.index)
    assert.deepEqual(parsed.manifests[0].platform, {architecture: 'amd64', os: 'linux', variant: 'v3'})
  })

  test('skopeo reads OCI layouts: image digests, and each platform of an index', {skip: noSkopeo}, async () => {
    const image = await buildImage({layers: [layerA, layerB], compression: ['gzip', 'zstd']})
    const imageDir = join(dir, 'layout-image')
    await writeOciLayout(imageDir, {image, refName: 'v1'})
    assert.deepEqual(JSON.parse(readFileSync(join(imageDir, 'oci-layout'), 'utf8')), {imageLayoutVersion: '1.0.0'})
    for (const digest of [...image.blobs.keys(), image.manifestDigest]) {
      assert.ok(existsSync(join(imageDir, 'blobs/sha256', digest.slice(7))), digest)
    }
    const inspected = JSON.parse(await runToolOk('skopeo', ['inspect', `oci:${imageDir}:v1`]))
    assert.equal(inspected.Digest, image.manifestDigest)
    assert.deepEqual(
      inspected.Layers,
      image.layers.map((l) => l.digest),
    )
    assert.equal(await runToolOk('skopeo', ['inspect', '--raw', `oci:${imageDir}:v1`]), image.manifestBytes.toString())

    const amd = await buildImage({layers: [layerA], platform: {architecture: 'amd64', os: 'linux'}})
    const arm = await buildImage({layers: [layerC], platform: arm64})
    const index = buildIndex([amd, arm])
    const indexDir = join(dir, 'layout-index')
    await writeOciLayout(indexDir, {index, refName: 'multi'})
    assert.equal(await runToolOk('skopeo', ['inspect', '--raw', `oci:${indexDir}:multi`]), index.manifestBytes.toString())
    const armView = JSON.parse(await runToolOk('skopeo', ['inspect', '--override-arch', 'arm64', '--override-variant', 'v8', `oci:${indexDir}:multi`]))
    assert.equal(armView.Architecture, 'arm64')
    assert.deepEqual(armView.Layers, [arm.layers[0].digest])
    // skopeo verifies every blob digest while copying.
    await runToolOk('skopeo', ['copy', '-q', '--override-arch', 'arm64', `oci:${indexDir}:multi`, `oci:${join(dir, 'copied')}:arm`])
    const copied = JSON.parse(readFileSync(join(dir, 'copied/index.json'), 'utf8'))
    assert.equal(copied.manifests[0].digest, arm.manifestDigest)
  })

  test('umoci unpacks the busybox image, and its shell runs in a chroot', {
    skip: noUmoci || (!isRoot && 'needs root for umoci unpack and chroot'),
  }, async () => {
    const image: BuiltImage = await busyboxImage()
    const layout = join(dir, 'busybox')
    await writeOciLayout(layout, {image, refName: 'latest'})
    const bundle = join(dir, 'bundle')
    await runToolOk('umoci', ['unpack', '--image', `${layout}:latest`, bundle])
    const rootfs = join(bundle, 'rootfs')
    assert.equal(lstatSync(join(rootfs, 'tmp')).mode & 0o7777, 0o1777)
    assert.equal(lstatSync(join(rootfs, 'bin/busybox')).mode & 0o777, 0o755)
    assert.equal(lstatSync(join(rootfs, 'home/app')).uid, 1000)
    const out = await runToolOk('chroot', [rootfs, '/bin/sh', '-c', 'echo hi; id -u app; id -u nobody; cat /etc/hostname; ls /bin | wc -l'])
    const [hi, app, nobody, hostname, count] = out
      .trim()
      .split('\n')
      .map((s) => s.trim())
    assert.deepEqual([hi, app, nobody, hostname], ['hi', '1000', '65534', 'berth-test'])
    assert.ok(Number(count) > 40)
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'))
    assert.deepEqual(config.process.args, ['/bin/sh'])
  })

  test('umoci 0.4.7 rejects zstd layers (so zstd fixtures are checked with skopeo and zstd instead)', {skip: noUmoci}, async () => {
    const image = await buildImage({layers: [layerA], compression: 'zstd'})
    const layout = join(dir, 'zstd-layout')
    await writeOciLayout(layout, {image, refName: 'z'})
    const r = await runTool('umoci', ['unpack', '--rootless', '--image', `${layout}:z`, join(dir, 'zstd-bundle')])
    if (r.code === 0) return // a newer umoci that understands zstd is fine too
    assert.match(r.stderr, /not correct mediatype: application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd/)
  })

  test('generatedLayers is deterministic, exactly sized and mixed', () => {
    const opts = {count: 3, bytesPerLayer: 1_000_000, seed: 'berth'}
    const a = generatedLayers(opts)
    const b = generatedLayers(opts)
    const tars = a.map((l) => writeTar(l))
    assert.deepEqual(
      tars.map((t) => sha256(t)),
      b.map((l) => sha256(writeTar(l))),
    )
    assert.notEqual(sha256(writeTar(generatedLayers({...opts, seed: 'other'})[0])), sha256(tars[0]))
    for (const layer of a) {
      const files = layer.filter((e) => e.type === 'file')
      assert.equal(
        files.reduce((n, e) => n + (e.content as Buffer).length, 0),
        opts.bytesPerLayer,
      )
      assert.ok(files.some((e) => e.path.endsWith('.txt')) && files.some((e) => e.path.endsWith('.bin')))
    }
    // Text compresses, random data does not.
    const all = a.flat().filter((e) => e.type === 'file')
    const text = Buffer.concat(all.filter((e) => e.path.endsWith('.txt')).map((e) => e.content as Buffer))
    const random = Buffer.concat(all.filter((e) => e.path.endsWith('.bin')).map((e) => e.content as Buffer))
    assert.ok(gzipSync(text, {level: 1}).length < text.length / 2)
    assert.ok(gzipSync(random, {level: 1}).length > random.length * 0.99)
    // Its speed is not asserted here: timing belongs to `npm run bench`, not to unit tests.
  })
})
