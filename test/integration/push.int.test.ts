// `ctr images push` and `ctr images convert` end to end: a real registry (Debian's docker-registry, with and
// without htpasswd) with skopeo as the oracle for what landed there, and the in-process fake registry where requests
// must be counted (blobs that exist, cross-repository mounts, uploads at once). Every call is the built CLI.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {CTR_BIN, type Sandbox, sandbox} from '../helpers/cli.js'
import {startFakeRegistry, type FakeRegistry, type RequestLogEntry} from '../helpers/fake-registry.js'
import {buildImage, buildIndex, busyboxImage, generatedLayers, sha256, type BuiltImage, type BuiltIndex} from '../helpers/oci-image.js'
import {pushImage, type RunningRegistry, startRegistry} from '../helpers/registry.js'
import {runTool} from '../helpers/run-tool.js'
import {cleanupSandbox, runtimeSkipReason} from '../helpers/tasks.js'

const hostArch = process.arch === 'arm64' ? 'arm64' : 'amd64'
const otherArch = hostArch === 'amd64' ? 'arm64' : 'amd64'

/** `ctr content get` as bytes. */
function blobOf(sb: Sandbox, digest: string): Buffer {
  const r = spawnSync(CTR_BIN, ['content', 'get', digest], {env: sb.env, maxBuffer: 64 << 20})
  assert.equal(r.status, 0, r.stderr.toString())
  return r.stdout
}

/** The image's target digest as `images ls` shows it. */
function targetOf(sb: Sandbox, name: string): string {
  const row = sb
    .ok(['images', 'ls'])
    .split('\n')
    .find((l) => l.startsWith(`${name} `))
  assert.ok(row, `no image ${name}`)
  return row.split(/ +/)[2]
}

/** skopeo's view of a registry manifest (raw bytes). */
async function skopeoRaw(ref: string, creds?: string): Promise<Buffer> {
  const r = await runTool('skopeo', ['inspect', '--raw', '--tls-verify=false', ...(creds ? ['--creds', creds] : []), `docker://${ref}`])
  assert.equal(r.code, 0, r.stderr)
  return Buffer.from(r.stdout)
}

/** Plain progress lines `<key>: <status>` as [key, status] pairs. */
function progressRows(stderr: string): [string, string][] {
  return stderr
    .split('\n')
    .map((l) => /^((?:index|manifest|config|layer)-sha256:[0-9a-f]{64}): (\S+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1], m[2]])
}

/** The final status of each row. */
function finalStatuses(stderr: string): Map<string, string> {
  return new Map(progressRows(stderr))
}

describe('push and convert with a real registry (docker-registry), skopeo as the oracle', () => {
  let reg: RunningRegistry
  let sb: Sandbox
  let docker: BuiltImage
  let multi: BuiltIndex
  let hostImage: BuiltImage
  before(async () => {
    reg = await startRegistry()
    sb = sandbox('berth-push-')
    docker = await busyboxImage({compression: 'gzip', mediaTypes: 'docker'})
    await pushImage(reg, 'library/busybox:1', docker)
    hostImage = await busyboxImage({compression: 'gzip', platform: {os: 'linux', architecture: hostArch, ...(hostArch === 'arm64' ? {variant: 'v8'} : {})}})
    const otherImage = await buildImage({layers: [[{path: 'arch', type: 'file', content: otherArch}]], platform: {os: 'linux', architecture: otherArch}})
    multi = buildIndex([hostImage, otherImage])
    await pushImage(reg, 'library/multi:1', multi)
    sb.ok(['images', 'pull', '-q', `${reg.host}/library/busybox:1`])
    sb.ok(['images', 'pull', '-q', `${reg.host}/library/multi:1`])
  })
  after(async () => {
    await reg.stop()
    sb.cleanup()
  })

  test('pull labels every blob with its distribution source (registry hostname without port)', () => {
    const ls = sb.ok(['content', 'ls'])
    for (const digest of [docker.manifestDigest, docker.configDigest, docker.layers[0].digest]) {
      const row = ls.split('\n').find((l) => l.startsWith(digest))!
      assert.match(row, /containerd\.io\/distribution\.source\.127\.0\.0\.1=library\/busybox/)
    }
  })

  test('a pulled image pushed to a new repository is the same manifest, byte for byte; skopeo copies it and a second store pulls it', async () => {
    const remote = `${reg.host}/copy/busybox:2`
    const r = sb.run(['images', 'push', '--plain-http=true', remote, `${reg.host}/library/busybox:1`])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '')
    const statuses = finalStatuses(r.stderr)
    assert.deepEqual(
      [...statuses.keys()].sort(),
      [`config-${docker.configDigest}`, `layer-${docker.layers[0].digest}`, `manifest-${docker.manifestDigest}`].sort(),
    )
    assert.ok(
      [...statuses.values()].every((s) => s === 'done'),
      r.stderr,
    )
    assert.match(r.stderr, /^elapsed: \S+ s total: /m)

    const stored = blobOf(sb, docker.manifestDigest)
    assert.deepEqual(await skopeoRaw(remote), stored)
    const inspect = JSON.parse((await runTool('skopeo', ['inspect', '--tls-verify=false', `docker://${remote}`])).stdout) as {Digest: string}
    assert.equal(inspect.Digest, docker.manifestDigest)
    const dir = mkdtempSync(join(tmpdir(), 'berth-skopeo-'))
    try {
      const copy = await runTool('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${remote}`, `dir:${join(dir, 'img')}`])
      assert.equal(copy.code, 0, copy.stderr)
      assert.deepEqual(readFileSync(join(dir, 'img', 'manifest.json')), stored)
      assert.deepEqual(readFileSync(join(dir, 'img', docker.layers[0].digest.slice(7))), docker.layers[0].bytes)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
    const second = sandbox('berth-push-2-')
    try {
      second.ok(['images', 'pull', '-q', remote])
      assert.match(second.ok(['images', 'check']), /complete \(3\/3\)/)
      assert.equal(targetOf(second, remote), docker.manifestDigest)
    } finally {
      second.cleanup()
    }
  })

  test('pushing again finds everything there: every row exists, nothing is uploaded; -q prints nothing', () => {
    const remote = `${reg.host}/copy/busybox:2`
    const r = sb.run(['images', 'push', remote, `${reg.host}/library/busybox:1`])
    assert.equal(r.code, 0, r.stderr)
    const statuses = finalStatuses(r.stderr)
    assert.equal(statuses.size, 3)
    assert.ok(
      [...statuses.values()].every((s) => s === 'exists'),
      r.stderr,
    )
    assert.match(r.stderr, /total: +0\.0 B/)
    const quiet = sb.run(['images', 'push', '-q', remote, `${reg.host}/library/busybox:1`])
    assert.equal(quiet.code, 0, quiet.stderr)
    assert.equal(quiet.stderr, '')
    assert.equal(quiet.stdout, '')
  })

  test('LOCAL defaults to REMOTE; a missing local image is not found', () => {
    sb.ok(['images', 'tag', `${reg.host}/library/busybox:1`, `${reg.host}/tagged/busybox:1`])
    sb.ok(['images', 'push', '-q', `${reg.host}/tagged/busybox:1`])
    const missing = sb.run(['images', 'push', `${reg.host}/nothing/here:1`])
    assert.equal(missing.code, 3)
    assert.equal(missing.stderr, `ctr: unable to resolve image to manifest: image "${reg.host}/nothing/here:1": not found\n`)
  })

  test('an index pulled for one platform: pushing it all fails before sending anything; --platform pushes that manifest under the tag', async () => {
    const src = `${reg.host}/library/multi:1`
    const all = sb.run(['images', 'push', `${reg.host}/copy/multi:1`, src])
    assert.equal(all.code, 5, all.stderr)
    assert.match(
      all.stderr,
      new RegExp(
        '^ctr: 1 blob is not in the content store, first manifest sha256:[0-9a-f]{64} of index sha256:[0-9a-f]{64}: ' +
          'fetch them first \\(ctr content fetch --all-platforms <ref>\\), or push one platform with --platform\\n$',
      ),
    )
    assert.notEqual((await runTool('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/copy/multi:1`])).code, 0)

    const one = sb.run(['images', 'push', '--platform', `linux/${hostArch}`, `${reg.host}/copy/multi:1`, src])
    assert.equal(one.code, 0, one.stderr)
    assert.deepEqual(await skopeoRaw(`${reg.host}/copy/multi:1`), hostImage.manifestBytes)
    const none = sb.run(['images', 'push', '--platform', 'linux/s390x', `${reg.host}/copy/multi:2`, src])
    assert.equal(none.code, 3)
    assert.match(none.stderr, /^ctr: no match for platform linux\/s390x in manifest sha256:[0-9a-f]{64}: not found\n$/)
  })

  test('--manifest pushes a manifest named by digest', async () => {
    const r = sb.run([
      'images',
      'push',
      '--manifest',
      hostImage.manifestDigest,
      '--manifest-type',
      'application/vnd.oci.image.manifest.v1+json',
      `${reg.host}/bydigest/busybox:1`,
    ])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(await skopeoRaw(`${reg.host}/bydigest/busybox:1`), hostImage.manifestBytes)
  })

  test('convert --oci: a new image with OCI media types, the source left intact; pushed, skopeo sees OCI types', async () => {
    const src = `${reg.host}/library/busybox:1`
    const dst = `${reg.host}/conv/busybox:oci`
    const r = sb.run(['images', 'convert', '--oci', src, dst])
    assert.equal(r.code, 0, r.stderr)
    const digest = r.stdout.trim()
    assert.match(r.stdout, /^sha256:[0-9a-f]{64}\n$/)
    assert.equal(targetOf(sb, dst), digest)
    assert.equal(targetOf(sb, src), docker.manifestDigest, 'the source image is unchanged')
    assert.deepEqual(blobOf(sb, docker.manifestDigest), docker.manifestBytes, 'its manifest too')
    const manifest = JSON.parse(blobOf(sb, digest).toString()) as {
      mediaType: string
      config: {mediaType: string; digest: string}
      layers: {mediaType: string; digest: string}[]
    }
    assert.equal(manifest.mediaType, 'application/vnd.oci.image.manifest.v1+json')
    assert.equal(manifest.config.mediaType, 'application/vnd.oci.image.config.v1+json')
    assert.equal(manifest.config.digest, docker.configDigest, 'the config bytes stay')
    assert.deepEqual(
      manifest.layers.map((l) => [l.mediaType, l.digest]),
      [['application/vnd.oci.image.layer.v1.tar+gzip', docker.layers[0].digest]],
    )
    // Byte for byte what containerd's converter writes (Go's encoding of ocispec.Manifest; checked against ctr 1.6.20).
    const layer = docker.layers[0]
    assert.equal(
      blobOf(sb, digest).toString(),
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' +
        `"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"${docker.configDigest}","size":${docker.configBytes.length}},` +
        `"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"${layer.digest}","size":${layer.bytes.length}}]}`,
    )
    assert.match(sb.ok(['events', '--no-follow', 'topic==/images/create']), new RegExp(`/images/create \\{"name":"${dst.replace(/[.]/g, '\\.')}"\\}`))

    const push = sb.run(['images', 'push', '-q', dst])
    assert.equal(push.code, 0, push.stderr)
    const raw = await skopeoRaw(dst)
    assert.equal(sha256(raw), digest)
    const seen = JSON.parse(raw.toString()) as typeof manifest
    assert.equal(seen.mediaType, 'application/vnd.oci.image.manifest.v1+json')
    assert.equal(seen.layers[0].mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip')
  })

  test('convert --uncompress: plain tar layers whose digests are the diff_ids; the image checks complete, and another store pulls and runs it', async (t) => {
    const src = `${reg.host}/library/busybox:1`
    const dst = `${reg.host}/conv/busybox:plain`
    const r = sb.run(['images', 'convert', '--uncompress', src, dst])
    assert.equal(r.code, 0, r.stderr)
    const digest = r.stdout.trim()
    const manifest = JSON.parse(blobOf(sb, digest).toString()) as {mediaType: string; layers: {mediaType: string; digest: string; size: number}[]}
    const config = JSON.parse(docker.configBytes.toString()) as {rootfs: {diff_ids: string[]}}
    assert.equal(manifest.mediaType, 'application/vnd.docker.distribution.manifest.v2+json')
    assert.deepEqual(
      manifest.layers.map((l) => [l.mediaType, l.digest]),
      [['application/vnd.docker.image.rootfs.diff.tar', config.rootfs.diff_ids[0]]],
    )
    const tar = blobOf(sb, manifest.layers[0].digest)
    assert.equal(tar.length, manifest.layers[0].size)
    assert.equal(tar.subarray(257, 262).toString(), 'ustar', 'a plain tar')
    const check = sb.ok(['images', 'check', `name==${dst}`])
    assert.match(check, /complete \(3\/3\) .* true/)
    // Converting again writes nothing new and names the same digest.
    assert.equal(sb.ok(['images', 'convert', '--uncompress', src, dst]).trim(), digest)

    sb.ok(['images', 'push', '-q', dst])
    const other = sandbox('berth-push-run-')
    try {
      other.ok(['images', 'pull', '-q', dst])
      assert.match(other.ok(['images', 'check']), /complete \(3\/3\) .* true/)
      const skip = runtimeSkipReason()
      if (skip) return t.diagnostic(`not run: ${skip}`)
      const run = other.run(['run', '--rm', dst, `conv-${process.pid}`, '/bin/busybox', 'echo', 'hello from an uncompressed layer'])
      assert.equal(run.code, 0, run.stderr)
      assert.equal(run.stdout, 'hello from an uncompressed layer\n')
    } finally {
      cleanupSandbox(other)
      other.cleanup()
    }
  })

  test('convert drops other platforms from an index by default; --all-platforms needs them all here', () => {
    const src = `${reg.host}/library/multi:1`
    const r = sb.run(['images', 'convert', '--oci', src, `${reg.host}/conv/multi:host`])
    assert.equal(r.code, 0, r.stderr)
    const index = JSON.parse(blobOf(sb, r.stdout.trim()).toString()) as {mediaType: string; manifests: {digest: string; platform: {architecture: string}}[]}
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json')
    assert.deepEqual(
      index.manifests.map((m) => [m.digest, m.platform.architecture]),
      [[hostImage.manifestDigest, hostArch]],
    )
    const all = sb.run(['images', 'convert', '--oci', '--all-platforms', src, `${reg.host}/conv/multi:all`])
    assert.equal(all.code, 3, all.stderr)
    assert.match(
      all.stderr,
      new RegExp(
        '^ctr: manifest sha256:[0-9a-f]{64} is not in the content store \\(fetch it, or convert fewer platforms\\): ' +
          'content digest sha256:[0-9a-f]{64}: not found\\n$',
      ),
    )
    const bad = sb.run(['images', 'convert', '--oci', 'nothing:here', 'x:y'])
    assert.equal(bad.code, 3)
    assert.equal(bad.stderr, 'ctr: image "nothing:here": not found\n')
  })
})

describe('push with htpasswd authentication (docker-registry)', () => {
  const creds = {user: 'pusher', password: 'right-password'}
  let reg: RunningRegistry
  let sb: Sandbox
  before(async () => {
    reg = await startRegistry({auth: creds})
    sb = sandbox('berth-push-auth-')
    await pushImage(reg, 'library/busybox:1', await busyboxImage(), {auth: creds})
    sb.ok(['images', 'pull', '-q', '-u', `${creds.user}:${creds.password}`, `${reg.host}/library/busybox:1`])
  })
  after(async () => {
    await reg.stop()
    sb.cleanup()
  })

  test('the right credentials push; wrong or none are permission denied (exit 7)', async () => {
    const src = `${reg.host}/library/busybox:1`
    const ok = sb.run(['images', 'push', '-q', '-u', `${creds.user}:${creds.password}`, `${reg.host}/auth/busybox:1`, src])
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(sha256(await skopeoRaw(`${reg.host}/auth/busybox:1`, `${creds.user}:${creds.password}`)), targetOf(sb, src))
    const wrong = sb.run(['images', 'push', '-q', '-u', `${creds.user}:wrong`, `${reg.host}/auth/busybox:2`, src])
    assert.equal(wrong.code, 7)
    assert.match(wrong.stderr, /^ctr: push access denied, repository does not exist or may require authorization: /)
    const none = sb.run(['images', 'push', '-q', `${reg.host}/auth/busybox:3`, src], {
      env: {HOME: sb.dir, DOCKER_CONFIG: join(sb.dir, 'nodocker'), XDG_RUNTIME_DIR: sb.dir},
    })
    assert.equal(none.code, 7)
    assert.match(none.stderr, /^ctr: push access denied, repository does not exist or may require authorization: no basic auth credentials\n$/)
  })
})

describe('push counted by the fake registry', () => {
  let fake: FakeRegistry
  let sb: Sandbox
  let image: BuiltImage
  before(async () => {
    image = await buildImage({layers: generatedLayers({count: 6, bytesPerLayer: 200_000, seed: 'push', textFraction: 0}), compression: 'gzip', gzipLevel: 1})
    fake = await startFakeRegistry({images: {'a/app:1': image}})
    sb = sandbox('berth-push-fake-')
    const r = await sb.spawn(['images', 'pull', '-q', `${fake.host}/a/app:1`])
    assert.equal(r.code, 0, r.stderr)
  })
  after(async () => {
    await fake.stop()
    sb.cleanup()
  })

  const uploadsOf = (log: RequestLogEntry[]) => log.filter((e) => e.path.includes('/blobs/uploads/') && (e.method === 'PUT' || e.method === 'PATCH'))

  test('a push to another repository of the same registry mounts every blob: nothing is uploaded', async () => {
    fake.clearLog()
    const r = await sb.spawn(['images', 'push', `${fake.host}/b/app:1`, `${fake.host}/a/app:1`])
    assert.equal(r.code, 0, r.stderr)
    const mounts = fake.log.filter((e) => e.method === 'POST' && e.query.includes('mount='))
    assert.equal(mounts.length, 7, 'config and six layers')
    assert.ok(mounts.every((e) => e.status === 201 && new URLSearchParams(e.query).get('from') === 'a/app'))
    assert.deepEqual(uploadsOf(fake.log), [])
    assert.equal(fake.manifest('b/app', '1')?.digest, image.manifestDigest)
    assert.ok([...finalStatuses(r.stderr).values()].every((s) => s === 'done'))
  })

  test('pushing again: one HEAD of the tag (the same digest there: nothing left to send), every row exists', async () => {
    fake.clearLog()
    const r = await sb.spawn(['images', 'push', `${fake.host}/b/app:1`, `${fake.host}/a/app:1`])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      fake.log.map((e) => `${e.method} ${e.path}`),
      ['HEAD /v2/b/app/manifests/1'],
    )
    assert.ok(
      [...finalStatuses(r.stderr).values()].every((s) => s === 'exists'),
      r.stderr,
    )
  })

  test('pushing to a new tag of the same repository: a HEAD per blob, nothing uploaded, only the manifest written', async () => {
    fake.clearLog()
    const r = await sb.spawn(['images', 'push', `${fake.host}/b/app:2`, `${fake.host}/a/app:1`])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      fake.log.filter((e) => e.method !== 'HEAD' && e.method !== 'PUT'),
      [],
      'no upload, no mount',
    )
    assert.deepEqual(
      fake.log.filter((e) => e.method === 'PUT').map((e) => e.path),
      ['/v2/b/app/manifests/2'],
      'only the tag is written',
    )
    for (const [key, status] of finalStatuses(r.stderr)) assert.equal(status, key.startsWith('manifest-') ? 'done' : 'exists', key)
  })

  test('--max-concurrent-uploaded-layers bounds the uploads in flight (default 3)', async () => {
    /** The most PUT uploads whose [arrival, response] intervals overlap. */
    const maxInFlight = (log: RequestLogEntry[]): number => {
      const puts = uploadsOf(log)
      return Math.max(...puts.map((p) => puts.filter((q) => q.at <= p.at && (q.doneAt ?? Infinity) > p.at).length))
    }
    for (const [limit, expected] of [
      [['--max-concurrent-uploaded-layers', '2'], 2],
      [[], 3],
    ] as const) {
      // A fresh registry each time: nothing to mount there, every blob is uploaded.
      const target = await startFakeRegistry()
      try {
        target.rules.add({path: '/blobs/uploads/', method: 'PUT', kind: 'delay', ms: 250})
        const r = await sb.spawn(['images', 'push', '-q', ...limit, `${target.host}/a/app:1`, `${fake.host}/a/app:1`])
        assert.equal(r.code, 0, r.stderr)
        assert.equal(uploadsOf(target.log).length, 7)
        assert.equal(maxInFlight(target.log), expected)
      } finally {
        await target.stop()
      }
    }
  })
})
