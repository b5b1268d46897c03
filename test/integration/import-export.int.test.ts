// `ctr images import` and `ctr images export` end to end with the built CLI: OCI and Docker
// archives (made here, by skopeo from a real registry, and by Berth's own export), every naming
// flag, stdin, platforms, hostile archives (exit 8, nothing recorded), round trips with identical
// digests, archives that skopeo, umoci and GNU tar read, blobs fetched for a platform never
// pulled, and memory: a 150 MiB archive from stdin is never held in memory.
// Runs as root (unpacking mounts nothing, but writes owners); skips elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {createHash, randomBytes} from 'node:crypto'
import {createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {once} from 'node:events'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {chainIds} from '../../src/lib/oci/digest.js'
import {encodeTarHeader, streamOutput, tarPadding, tarTrailer, TarWriter} from '../../src/lib/tar/index.js'
import {containerdDockerManifest, dockerArchive, dockerArchiveEntries, ociArchive, ociArchiveEntries} from '../helpers/archives.js'
import {CTR_BIN, type CtrResult, type Sandbox, sandbox} from '../helpers/cli.js'
import {buildImage, buildIndex, busyboxImage, hostPlatform, sha256, type BuiltImage, type BuiltIndex, type Platform} from '../helpers/oci-image.js'
import {pushImage, type RunningRegistry, startRegistry} from '../helpers/registry.js'
import {runToolOk} from '../helpers/run-tool.js'
import {writeTar, type TarEntry} from '../helpers/tar-writer.js'
import {cleanupSandbox, runtimeSkipReason} from '../helpers/tasks.js'

const isRoot = process.getuid?.() === 0
const skip = !isRoot && !process.env['CI'] ? 'needs root (unpacking keeps owners)' : false
const host = hostPlatform()
const other: Platform = host.architecture === 'amd64' ? {os: 'linux', architecture: 'arm64'} : {os: 'linux', architecture: 'amd64'}
const fmt = (p: Platform) => `${p.os}/${p.architecture}`
const today = () => {
  const d = new Date()
  return `import-${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

let counter = 0
/** Write `archive` into the sandbox and import it from the file. */
function importFile(sb: Sandbox, archive: Buffer, args: string[] = [], ns = 'default'): CtrResult {
  const file = join(sb.dir, `archive-${++counter}.tar`)
  writeFileSync(file, archive)
  return sb.run(['-n', ns, 'images', 'import', ...args, file])
}

/** Import `file` through a pipe on stdin (`cat file | ctr ... -`). */
function importPipe(sb: Sandbox, file: string, args: string[] = [], ns = 'default'): CtrResult {
  const r = spawnSync('sh', ['-c', 'f="$1"; shift; cat "$f" | "$@"', 'sh', file, CTR_BIN, '-n', ns, 'images', 'import', ...args, '-'], {
    env: sb.env,
    encoding: 'utf8',
    timeout: 120_000,
  })
  return {code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr}
}

const lines = (s: string) => s.split('\n').filter(Boolean)
const imageNames = (sb: Sandbox, ns = 'default') => lines(sb.ok(['-n', ns, 'images', 'ls', '-q'])).sort()
const contentDigests = (sb: Sandbox, ns = 'default') => lines(sb.ok(['-n', ns, 'content', 'ls', '-q'])).sort()
const imageRow = (sb: Sandbox, name: string, ns = 'default') => {
  const row = sb
    .ok(['-n', ns, 'images', 'ls'])
    .split('\n')
    .find((l) => l.startsWith(`${name} `))
  return row?.trim().split(/ +/)
}
const ingests = (sb: Sandbox) => {
  try {
    return readdirSync(join(sb.root, 'content', 'ingest'))
  } catch {
    return []
  }
}
const eventsOf = (sb: Sandbox, ns: string, prefix: string) =>
  lines(sb.ok(['events', '--no-follow', '--format', 'json']))
    .map((l) => JSON.parse(l) as {namespace: string; topic: string; event: Record<string, unknown>})
    .filter((e) => e.namespace === ns && e.topic.startsWith(prefix))

/** The store holds nothing of `ns`: no image, no content record, no ingest left behind. */
function assertNothingRecorded(sb: Sandbox, ns: string): void {
  assert.deepEqual(imageNames(sb, ns), [])
  assert.deepEqual(contentDigests(sb, ns), [])
  assert.deepEqual(ingests(sb), [])
}

describe('images import: OCI archives', {skip}, () => {
  let sb: Sandbox
  let image: BuiltImage
  before(async () => {
    sb = sandbox()
    image = await buildImage({
      layers: [
        [
          {path: 'etc/', type: 'dir'},
          {path: 'etc/hello', type: 'file', content: 'hello\n'},
        ],
        [{path: 'etc/motd', type: 'file', content: 'motd\n'}],
      ],
    })
  })
  after(() => sb.cleanup())

  test('a tag-only ref name gets the import-<date> prefix; the image is unpacked and printed as ctr does', () => {
    const r = importFile(sb, ociArchive(image, {annotations: {'org.opencontainers.image.ref.name': 'v1'}}), [], 'a')
    assert.equal(r.code, 0, r.stderr)
    const name = `docker.io/library/${today()}:v1`
    assert.equal(r.stdout, `unpacking ${name} (${image.manifestDigest})...done\n`)
    assert.deepEqual(imageNames(sb, 'a'), [name])
    assert.deepEqual(imageRow(sb, name, 'a')!.slice(1, 3), ['application/vnd.oci.image.manifest.v1+json', image.manifestDigest])
    assert.deepEqual(contentDigests(sb, 'a'), [image.manifestDigest, image.configDigest, ...image.layers.map((l) => l.digest)].sort())
    assert.match(sb.ok(['-n', 'a', 'images', 'check']), /complete \(4\/4\).*true/)
    const chain = chainIds(image.layers.map((l) => l.diffId))
    assert.deepEqual(
      lines(sb.ok(['-n', 'a', 'snapshots', 'ls']))
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
      [...chain].sort(),
    )
    assert.deepEqual(ingests(sb), [])
    const created = eventsOf(sb, 'a', '/images/')
    assert.deepEqual(
      created.map((e) => [e.topic, e.event['name']]),
      [['/images/create', name]],
    )
    assert.ok(eventsOf(sb, 'a', '/content/create').length === 4)
  })

  test('importing again updates the name (/images/update) and keeps its labels; --label adds labels', () => {
    const archive = ociArchive(image, {annotations: {'org.opencontainers.image.ref.name': 'v1'}})
    const name = `docker.io/library/${today()}:v1`
    sb.ok(['-n', 'a', 'images', 'label', name, 'keep=me'])
    const r = importFile(sb, archive, ['--label', 'new=label'], 'a')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(
      eventsOf(sb, 'a', '/images/').map((e) => e.topic),
      ['/images/create', '/images/update', '/images/update'],
    )
    assert.equal(imageRow(sb, name, 'a')!.at(-1), 'keep=me,new=label')
  })

  test('--base-name: tag-only names get it; full names outside it are skipped; --digests adds <base>@<digest>', () => {
    const second = ociArchive(undefined, {
      entries: [
        {built: image, annotations: {'org.opencontainers.image.ref.name': 'v2'}},
        {built: image, annotations: {'org.opencontainers.image.ref.name': 'other/repo:v3'}},
        {built: image, annotations: {'io.containerd.image.name': 'quay.io/x/y:z', 'org.opencontainers.image.ref.name': 'z'}},
      ],
    })
    let r = importFile(sb, second, ['--base-name', 'foo/bar', '--no-unpack'], 'b')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '')
    // io.containerd.image.name is taken as is, whatever the base name (as containerd does).
    assert.deepEqual(imageNames(sb, 'b'), ['docker.io/foo/bar:v2', 'quay.io/x/y:z'])

    r = importFile(sb, second, ['--base-name', 'foo/bar', '--digests', '--no-unpack'], 'c')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(imageNames(sb, 'c'), ['docker.io/foo/bar:v2', `docker.io/foo/bar@${image.manifestDigest}`, 'quay.io/x/y:z'])

    r = importFile(sb, second, ['--base-name', 'foo/bar', '--digests', '--skip-digest-for-named', '--no-unpack'], 'd')
    assert.equal(r.code, 0, r.stderr)
    // The entry named other/repo:v3 was dropped by the prefix filter: unnamed, so it gets its digest name.
    assert.deepEqual(imageNames(sb, 'd'), ['docker.io/foo/bar:v2', `docker.io/foo/bar@${image.manifestDigest}`, 'quay.io/x/y:z'])
  })

  test('unnamed images are not created without --digests; --index-name keeps the index', () => {
    const unnamed = ociArchive(image)
    let r = importFile(sb, unnamed, [], 'e')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '')
    assert.deepEqual(imageNames(sb, 'e'), [])
    r = importFile(sb, unnamed, ['--digests'], 'e')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(imageNames(sb, 'e'), [`docker.io/library/${today()}@${image.manifestDigest}`])
    const entries = ociArchiveEntries(image)
    r = importFile(sb, writeTar(entries), ['--index-name', 'my/index:1', '--no-unpack'], 'f')
    assert.equal(r.code, 0, r.stderr)
    const row = imageRow(sb, 'docker.io/my/index:1', 'f')!
    assert.equal(row[1], 'application/vnd.oci.image.index.v1+json')
    assert.equal(row[2], sha256(entries.find((e) => e.path === 'index.json')!.content as string))
  })

  test('flag errors: --skip-digest-for-named without --digests, --discard-unpacked-layers with --no-unpack', () => {
    const archive = ociArchive(image)
    let r = importFile(sb, archive, ['--skip-digest-for-named'], 'g')
    assert.equal(r.code, 2)
    assert.equal(r.stderr, 'ctr: --skip-digest-for-named must be specified with --digests option\n')
    r = importFile(sb, archive, ['--discard-unpacked-layers', '--no-unpack'], 'g')
    assert.equal(r.code, 2)
    assert.equal(r.stderr, 'ctr: --discard-unpacked-layers and --no-unpack are incompatible options\n')
    r = sb.run(['images', 'import', join(sb.dir, 'missing.tar')])
    assert.equal(r.code, 3)
    assert.match(r.stderr, /^ctr: open .*missing\.tar: no such file or directory\n$/)
  })

  test('index.json before or after the blobs, from a pipe, gzip- and zstd-compressed: all the same image', async () => {
    const named = {annotations: {'org.opencontainers.image.ref.name': 'x:1'}}
    const first = join(sb.dir, 'index-first.tar')
    writeFileSync(first, ociArchive(image, {...named, indexFirst: true}))
    let r = importPipe(sb, first, ['--no-unpack'], 'h1')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(imageNames(sb, 'h1'), ['docker.io/library/x:1'])
    const last = join(sb.dir, 'index-last.tar')
    writeFileSync(last, ociArchive(image, named))
    r = importPipe(sb, last, [], 'h2')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `unpacking docker.io/library/x:1 (${image.manifestDigest})...done\n`)
    await runToolOk('gzip', ['-k', last])
    r = importPipe(sb, `${last}.gz`, ['--no-unpack'], 'h3')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(contentDigests(sb, 'h3'), contentDigests(sb, 'h1'))
    if (spawnSync('sh', ['-c', 'command -v zstd']).status === 0) {
      await runToolOk('zstd', ['-q', '-k', last])
      r = sb.run(['-n', 'h4', 'images', 'import', '--no-unpack', `${last}.zst`])
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(contentDigests(sb, 'h4'), contentDigests(sb, 'h1'))
    }
  })

  test('--discard-unpacked-layers: the layers are unpacked, then left to GC', () => {
    const r = importFile(sb, ociArchive(image, {annotations: {'org.opencontainers.image.ref.name': 'd:1'}}), ['--discard-unpacked-layers'], 'discard')
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(sb.ok(['-n', 'discard', 'content', 'ls']), /gc\.ref\.content\.l\./)
    sb.ok(['gc'])
    assert.deepEqual(contentDigests(sb, 'discard'), [image.manifestDigest, image.configDigest].sort())
    assert.match(sb.ok(['-n', 'discard', 'images', 'check']), /true *$/m) // still unpacked
  })

  test('a blob already in the store is only hashed; a second namespace records it without a second copy', () => {
    const r = importFile(sb, ociArchive(image, {annotations: {'org.opencontainers.image.ref.name': 'y:1'}}), ['--no-unpack'], 'a')
    assert.equal(r.code, 0, r.stderr)
    const files = readdirSync(join(sb.root, 'content', 'blobs', 'sha256'))
    assert.equal(new Set(files).size, files.length)
    assert.ok(files.includes(image.layers[0].digest.slice(7)))
  })
})

describe('images import: platforms', {skip}, () => {
  let sb: Sandbox
  let mine: BuiltImage
  let theirs: BuiltImage
  let index: BuiltIndex
  let archive: Buffer
  let theirsUncompressed: BuiltImage
  before(async () => {
    sb = sandbox()
    mine = await buildImage({layers: [[{path: 'which', type: 'file', content: 'host\n'}]]})
    theirs = await buildImage({layers: [[{path: 'which', type: 'file', content: 'other\n'}]], platform: other})
    index = buildIndex([mine, theirs])
    archive = ociArchive(index, {annotations: {'org.opencontainers.image.ref.name': 'multi:1'}})
    theirsUncompressed = await buildImage({
      layers: [[{path: 'which', type: 'file', content: 'other\n'}]],
      platform: other,
      compression: 'none',
      mediaTypes: 'docker',
    })
  })
  after(() => sb.cleanup())

  test("by default only the host platform's blobs are imported, and it is unpacked", () => {
    const r = importFile(sb, archive, [], 'p1')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, `unpacking docker.io/library/multi:1 (${index.manifestDigest})...done\n`)
    assert.deepEqual(contentDigests(sb, 'p1'), [index.manifestDigest, mine.manifestDigest, mine.configDigest, mine.layers[0].digest].sort())
    assert.match(imageRow(sb, 'docker.io/library/multi:1', 'p1')!.join(' '), new RegExp(`${fmt(host)},${fmt(other)}|${fmt(other)},${fmt(host)}`))
  })

  test('--platform imports exactly that platform; --all-platforms every one', () => {
    let r = importFile(sb, archive, ['--platform', fmt(other), '--no-unpack'], 'p2')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(contentDigests(sb, 'p2'), [index.manifestDigest, theirs.manifestDigest, theirs.configDigest, theirs.layers[0].digest].sort())
    r = importFile(sb, archive, ['--all-platforms'], 'p3')
    assert.equal(r.code, 0, r.stderr)
    assert.equal(contentDigests(sb, 'p3').length, 7)
    assert.match(sb.ok(['-n', 'p3', 'images', 'check']), /complete \(4\/4\).*true/)
  })

  test("a nested index: the filter applies at every level; stdin as a socket (node's child stdio) works too", () => {
    const nested = buildIndex([index])
    const r = spawnSync(CTR_BIN, ['-n', 'p6', 'images', 'import', '-'], {
      input: ociArchive(nested, {annotations: {'org.opencontainers.image.ref.name': 'nested:1'}}),
      env: sb.env,
      encoding: 'utf8',
    })
    assert.equal(r.status, 0, r.stderr)
    assert.equal(r.stdout, `unpacking docker.io/library/nested:1 (${nested.manifestDigest})...done\n`)
    assert.deepEqual(
      contentDigests(sb, 'p6'),
      [nested.manifestDigest, index.manifestDigest, mine.manifestDigest, mine.configDigest, mine.layers[0].digest].sort(),
    )
  })

  test('an archive with no image for the host: a Docker archive (whose entries carry their platform) fails with exit 3 and records nothing', () => {
    const r = importFile(sb, ociArchive(theirs, {annotations: {'org.opencontainers.image.ref.name': 'arm:1'}}), [], 'p4')
    // A manifest without a platform in index.json passes the filter (as in containerd); a Docker
    // archive's entries carry their platform, so it is refused up front:
    assert.equal(r.code, 0, r.stderr)
    const docker = dockerArchive([{image: theirsUncompressed, repoTags: ['arm:1']}])
    const d = importFile(sb, docker, [], 'p5')
    assert.equal(d.code, 3)
    assert.match(
      d.stderr,
      new RegExp(
        `^ctr: image might be filtered out: no image in the archive is for ${fmt(host)} \\(it has ${fmt(other)}\\); use --platform or --all-platforms\\n$`,
      ),
    )
    assertNothingRecorded(sb, 'p5')
  })
})

describe('images import: Docker archives', {skip}, () => {
  let sb: Sandbox
  let base: BuiltImage
  let app: BuiltImage
  before(async () => {
    sb = sandbox()
    const baseLayer = [
      {path: 'etc/', type: 'dir' as const},
      {path: 'etc/os-release', type: 'file' as const, content: 'base\n'},
    ]
    base = await buildImage({layers: [baseLayer], compression: 'none', mediaTypes: 'docker'})
    app = await buildImage({layers: [baseLayer, [{path: 'app', type: 'file', content: 'app\n'}]], compression: 'none', mediaTypes: 'docker'})
  })
  after(() => sb.cleanup())

  test('legacy layout (<id>/layer.tar, shared layers as symlinks): RepoTags normalized, manifests as containerd makes them', () => {
    const archive = dockerArchive([
      {image: base, repoTags: ['base:latest']},
      {image: app, repoTags: ['example.com/team/app:1.0', 'app:latest']},
    ])
    const r = importFile(sb, archive)
    assert.equal(r.code, 0, r.stderr)
    const baseManifest = containerdDockerManifest(base)
    const appManifest = containerdDockerManifest(app)
    assert.equal(
      r.stdout,
      [
        `unpacking docker.io/library/base:latest (${sha256(baseManifest)})...done`,
        `unpacking example.com/team/app:1.0 (${sha256(appManifest)})...done`,
        `unpacking docker.io/library/app:latest (${sha256(appManifest)})...done`,
        '',
      ].join('\n'),
    )
    assert.deepEqual(imageNames(sb), ['docker.io/library/app:latest', 'docker.io/library/base:latest', 'example.com/team/app:1.0'])
    assert.deepEqual(imageRow(sb, 'docker.io/library/app:latest')!.slice(1, 3), ['application/vnd.docker.distribution.manifest.v2+json', sha256(appManifest)])
    assert.deepEqual(Buffer.from(spawnSync(CTR_BIN, ['content', 'get', sha256(appManifest)], {env: sb.env}).stdout), appManifest)
    // The index containerd would make is not kept (no --index-name), nor the legacy json/VERSION files.
    assert.deepEqual(
      contentDigests(sb),
      [sha256(baseManifest), sha256(appManifest), base.configDigest, app.configDigest, ...new Set([...base.layers, ...app.layers].map((l) => l.digest))].sort(),
    )
  })

  test('new layout (<digest>.tar, no symlinks) and from stdin: the same digests', () => {
    const file = join(sb.dir, 'new-layout.tar')
    writeFileSync(file, dockerArchive([{image: app, repoTags: ['app:new']}], {legacy: false}))
    const r = importPipe(sb, file, ['--no-unpack'], 'n')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(imageRow(sb, 'docker.io/library/app:new', 'n')!.slice(2, 3), [sha256(containerdDockerManifest(app))])
  })

  test('--compress-blobs gzips the layers and labels them with their uncompressed digest', () => {
    const r = importFile(sb, dockerArchive([{image: app, repoTags: ['app:gz']}]), ['--compress-blobs'], 'z')
    assert.equal(r.code, 0, r.stderr)
    const digest = imageRow(sb, 'docker.io/library/app:gz', 'z')![2]
    const manifest = JSON.parse(spawnSync(CTR_BIN, ['-n', 'z', 'content', 'get', digest], {env: sb.env, encoding: 'utf8'}).stdout) as {
      layers: Array<{mediaType: string; digest: string}>
    }
    assert.deepEqual(
      manifest.layers.map((l) => l.mediaType),
      ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.docker.image.rootfs.diff.tar.gzip'],
    )
    const ls = sb.ok(['-n', 'z', 'content', 'ls'])
    for (const [i, l] of manifest.layers.entries()) assert.match(ls, new RegExp(`${l.digest}.*containerd.io/uncompressed=${app.layers[i].digest}`))
    // A second import finds the compressed forms and makes the same manifest.
    const again = importFile(sb, dockerArchive([{image: app, repoTags: ['app:gz2']}]), [], 'z')
    assert.equal(again.code, 0, again.stderr)
    assert.equal(imageRow(sb, 'docker.io/library/app:gz2', 'z')![2], digest)
  })

  test("a layer that does not hash to its config's diff_id is DataLoss and records nothing", () => {
    const entries = dockerArchiveEntries([{image: base, repoTags: ['bad:1']}])
    const layer = entries.find((e) => e.path.endsWith('layer.tar'))!
    layer.content = Buffer.from(layer.content as Buffer)
    layer.content[600] ^= 1
    const r = importFile(sb, writeTar(entries), [], 'bad')
    assert.equal(r.code, 8)
    assert.match(r.stderr, /^ctr: layer ".*layer\.tar": content has digest sha256:[0-9a-f]{64}, but the image config says sha256:[0-9a-f]{64}\n$/)
    assertNothingRecorded(sb, 'bad')
  })
})

describe('images import: hostile archives fail with exit 8 and record nothing', {skip}, () => {
  let sb: Sandbox
  let image: BuiltImage
  let good: TarEntry[]
  before(async () => {
    sb = sandbox()
    image = await buildImage({layers: [[{path: 'x', type: 'file', content: 'x\n'}]]})
    good = ociArchiveEntries(image, {annotations: {'org.opencontainers.image.ref.name': 'h:1'}})
  })
  after(() => sb.cleanup())

  const layerPath = () => `blobs/sha256/${image.layers[0].digest.slice(7)}`
  const cases: Array<[string, () => Buffer, RegExp]> = [
    [
      'a tampered blob',
      () => writeTar(good.map((e) => (e.path === layerPath() ? {...e, content: Buffer.concat([e.content as Buffer, Buffer.from('!')])} : e))),
      /content has digest sha256:[0-9a-f]{64}, not the one its name says/,
    ],
    [
      'a missing blob',
      () => writeTar(good.filter((e) => e.path !== layerPath())),
      /layer 0 of manifest sha256:[0-9a-f]{64}: blob sha256:[0-9a-f]{64} is missing from the archive/,
    ],
    ['a truncated archive', () => writeTar(good).subarray(0, 2048 + 700), /tar archive truncated at byte \d+/],
    ['a ../ path', () => writeTar([{path: '../x', type: 'file', content: 'x'}, ...good]), /archive entry "\.\.\/x": path leads out of the archive/],
    [
      'a path with .. inside',
      () => writeTar([...good.slice(0, 1), {path: 'blobs/../../x', type: 'file', content: 'x'}, ...good.slice(1)]),
      /path leads out of the archive/,
    ],
    ['an absolute path', () => writeTar([{path: '/etc/x', type: 'file', content: 'x'}, ...good]), /archive entry "\/etc\/x": absolute path/],
    [
      'a symlink pointing out',
      () => writeTar([...good, {path: 'escape', type: 'symlink', linkname: '../../etc/passwd'}]),
      /symlink "\.\.\/\.\.\/etc\/passwd" points out of the archive/,
    ],
    ['an absolute symlink', () => writeTar([...good, {path: 'abs', type: 'symlink', linkname: '/etc/passwd'}]), /symlink to an absolute path/],
    [
      'a huge size',
      () => {
        const tar = writeTar([{path: 'blobs/sha256/' + 'a'.repeat(64), type: 'file', content: 'tiny'}])
        // Claim 8 GiB (the most the octal field holds), fix the checksum.
        const h = Buffer.from(tar)
        h.write('77777777777\0', 124, 12, 'latin1')
        h.fill(0x20, 148, 156)
        let sum = 0
        for (let i = 0; i < 512; i++) sum += h[i]
        h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1')
        return h
      },
      /claims 8589934591 bytes, more than the whole archive \(2048\)/,
    ],
    ['a duplicate entry', () => writeTar([...good, good.find((e) => e.path === 'index.json')!]), /archive entry "index\.json": duplicate entry/],
    [
      'a manifest whose size lies',
      () => {
        const index = JSON.parse(good.find((e) => e.path === 'index.json')!.content as string) as {manifests: Array<{size: number}>}
        index.manifests[0].size += 1
        return writeTar(good.map((e) => (e.path === 'index.json' ? {...e, content: JSON.stringify(index)} : e)))
      },
      /blob sha256:[0-9a-f]{64}: the archive holds \d+ bytes, the descriptor says \d+/,
    ],
    ['neither a layout nor a Docker archive', () => writeTar([{path: 'hello.txt', type: 'file', content: 'hi'}]), /unrecognized image format/],
    ['not a tar at all', () => randomBytes(4096), /tar archive corrupt at byte 0: invalid header checksum/],
  ]

  for (const [what, make, message] of cases) {
    test(what, () => {
      const ns = `h${cases.findIndex((c) => c[0] === what)}`
      const r = importFile(sb, make(), [], ns)
      assert.equal(r.code, 8, `${what}: ${r.stderr}`)
      assert.match(r.stderr, message)
      assert.equal(lines(r.stderr).length, 1)
      assertNothingRecorded(sb, ns)
    })
  }

  test('from stdin too (a tampered blob)', () => {
    const file = join(sb.dir, 'tampered.tar')
    writeFileSync(file, writeTar(good.map((e) => (e.path === layerPath() ? {...e, content: Buffer.alloc((e.content as Buffer).length, 1)} : e))))
    const r = importPipe(sb, file, [], 'stdin')
    assert.equal(r.code, 8, r.stderr)
    assertNothingRecorded(sb, 'stdin')
    // The namespace was not even created.
    assert.doesNotMatch(sb.ok(['namespaces', 'ls', '-q']), /^stdin$/m)
  })

  test("an archive without end-of-archive blocks imports, as Go's archive/tar (containerd) reads it", () => {
    const file = join(sb.dir, 'no-trailer.tar')
    writeFileSync(file, writeTar(good, {omitTrailer: true}))
    const r = sb.run(['-n', 'notrailer', 'images', 'import', '--no-unpack', file])
    assert.equal(r.code, 0, r.stderr)
    assert.match(sb.ok(['-n', 'notrailer', 'images', 'ls', '-q']), /h:1\n/)
  })
})

describe('images export', {skip}, () => {
  let sb: Sandbox
  let reg: RunningRegistry
  let mine: BuiltImage
  let theirs: BuiltImage
  let index: BuiltIndex
  let ref: string
  before(async () => {
    sb = sandbox()
    reg = await startRegistry()
    mine = await busyboxImage()
    theirs = await buildImage({layers: [[{path: 'which', type: 'file', content: 'other\n'}]], platform: other})
    index = buildIndex([mine, theirs])
    await pushImage(reg, 'library/multi:1', index)
    ref = `${reg.host}/library/multi:1`
    sb.ok(['images', 'pull', '-q', ref])
  })
  after(async () => {
    await reg.stop()
    sb.cleanup()
  })

  const tarList = (file: string) => lines(spawnSync('tar', ['-tf', file], {encoding: 'utf8'}).stdout)
  const tarCat = (file: string, name: string) => spawnSync('tar', ['-xOf', file, name], {encoding: 'utf8'}).stdout

  test('the layout ctr writes: sorted entries, modes, index.json annotations, manifest.json for the host platform', () => {
    const out = join(sb.dir, 'multi.tar')
    const r = sb.run(['images', 'export', out, ref])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, '')
    const blobs = [index.manifestDigest, mine.manifestDigest, mine.configDigest, ...mine.layers.map((l) => l.digest)]
      .map((d) => `blobs/sha256/${d.slice(7)}`)
      .sort()
    assert.deepEqual(tarList(out), ['blobs/', 'blobs/sha256/', ...blobs, 'index.json', 'manifest.json', 'oci-layout'])
    const tv = lines(spawnSync('tar', ['--numeric-owner', '-tvf', out], {encoding: 'utf8', env: {...process.env, TZ: 'UTC'}}).stdout)
    assert.match(tv[0], /^drwxr-xr-x 0\/0 +0 1970-01-01 00:00 blobs\/$/)
    assert.match(tv[2], /^-r--r--r-- 0\/0 /)
    assert.match(tv.at(-3)!, /^-rw-r--r-- 0\/0 .* index\.json$/)
    assert.equal(tarCat(out, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
    assert.equal(
      tarCat(out, 'index.json'),
      '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[' +
        `{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"${index.manifestDigest}","size":${index.manifestBytes.length},` +
        `"annotations":{"containerd.io/distribution.source.127.0.0.1":"library/multi","io.containerd.image.name":"${ref}",` +
        '"org.opencontainers.image.ref.name":"1"}}]}',
    )
    assert.equal(
      tarCat(out, 'manifest.json'),
      `[{"Config":"blobs/sha256/${mine.configDigest.slice(7)}","RepoTags":["${ref}"],"Layers":["blobs/sha256/${mine.layers[0].digest.slice(7)}"]}]`,
    )
  })

  test('skopeo reads it as oci-archive: and docker-archive:, and copies it with the same digests', async () => {
    const out = join(sb.dir, 'skopeo.tar')
    sb.ok(['images', 'export', out, ref])
    const oci = JSON.parse(await runToolOk('skopeo', ['inspect', `oci-archive:${out}`])) as {Digest: string; Layers: string[]; Architecture: string}
    assert.equal(oci.Digest, index.manifestDigest) // the index; its layers are the host manifest's
    assert.deepEqual(
      oci.Layers,
      mine.layers.map((l) => l.digest),
    )
    assert.equal(oci.Architecture, host.architecture)
    const docker = JSON.parse(await runToolOk('skopeo', ['inspect', `docker-archive:${out}`])) as {Layers: string[]; Architecture: string}
    assert.deepEqual(
      docker.Layers,
      mine.layers.map((l) => l.diffId),
    ) // docker-archive: reads the layers uncompressed
    const dir = join(sb.dir, 'skopeo-dir')
    await runToolOk('skopeo', ['copy', '-q', `oci-archive:${out}`, `dir:${dir}`])
    for (const digest of [mine.configDigest, ...mine.layers.map((l) => l.digest)]) {
      assert.equal(sha256(readFileSync(join(dir, digest.slice(7)))), digest)
    }
    assert.equal(sha256(readFileSync(join(dir, 'manifest.json'))), mine.manifestDigest)
  })

  test('umoci unpacks the extracted layout', async () => {
    // umoci 0.4.7 calls a tag naming a multi-platform index ambiguous: give it one image.
    await pushImage(reg, 'library/single:1', mine)
    const single = `${reg.host}/library/single:1`
    sb.ok(['images', 'pull', '-q', single])
    const out = join(sb.dir, 'umoci.tar')
    sb.ok(['images', 'export', out, single])
    const layout = join(sb.dir, 'umoci-layout')
    mkdirSync(layout)
    await runToolOk('tar', ['-xf', out, '-C', layout])
    // umoci reads OCI-typed entries of index.json by their ref name; ours is the tag.
    await runToolOk('umoci', ['unpack', '--image', `${layout}:1`, join(sb.dir, 'bundle')])
    assert.ok(statSync(join(sb.dir, 'bundle', 'rootfs', 'bin', 'busybox')).isFile())
    assert.ok(existsSync(join(sb.dir, 'bundle', 'config.json')))
  })

  test('import -> export -> import gives identical digests, in a store that never saw a registry', () => {
    const out = join(sb.dir, 'roundtrip.tar')
    sb.ok(['images', 'export', out, ref])
    const fresh = sandbox()
    try {
      let r = fresh.run(['images', 'import', out])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, `unpacking ${ref} (${index.manifestDigest})...done\n`)
      assert.deepEqual(imageRow(fresh, ref)!.slice(0, 3), imageRow(sb, ref)!.slice(0, 3))
      assert.deepEqual(contentDigests(fresh), [index.manifestDigest, mine.manifestDigest, mine.configDigest, ...mine.layers.map((l) => l.digest)].sort())
      const again = join(fresh.dir, 'again.tar')
      fresh.ok(['images', 'export', again, ref])
      assert.deepEqual(readFileSync(again), readFileSync(out))
      r = fresh.run(['-n', 'second', 'images', 'import', again])
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(contentDigests(fresh, 'second'), contentDigests(fresh))
    } finally {
      fresh.cleanup()
    }
  })

  test("export to stdout pipes into import; --skip-manifest-json leaves Docker's file out", () => {
    const pipe = spawnSync('sh', ['-c', '"$0" images export --skip-manifest-json - "$1" | "$0" -n piped images import --no-unpack -', CTR_BIN, ref], {
      env: sb.env,
      encoding: 'utf8',
    })
    assert.equal(pipe.status, 0, pipe.stderr)
    assert.deepEqual(imageNames(sb, 'piped'), [ref])
    const out = join(sb.dir, 'nomanifest.tar')
    sb.ok(['images', 'export', '--skip-manifest-json', out, ref])
    assert.ok(!tarList(out).includes('manifest.json'))
  })

  test("a platform never pulled is fetched from the image's registry, and stays with the image", () => {
    assert.ok(!contentDigests(sb).includes(theirs.layers[0].digest))
    const out = join(sb.dir, 'other.tar')
    const r = sb.run(['images', 'export', '--platform', fmt(other), out, ref])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stderr, /^fetching 1 missing blob of .*\nfetching 2 missing blobs of /)
    const names = tarList(out)
    for (const d of [theirs.manifestDigest, theirs.configDigest, theirs.layers[0].digest]) assert.ok(names.includes(`blobs/sha256/${d.slice(7)}`), d)
    assert.ok(!names.includes(`blobs/sha256/${mine.layers[0].digest.slice(7)}`))
    assert.match(tarCat(out, 'manifest.json'), new RegExp(theirs.configDigest.slice(7)))
    // Kept: a GC finds them referenced by the image.
    sb.ok(['gc'])
    assert.ok(contentDigests(sb).includes(theirs.layers[0].digest))
    const all = join(sb.dir, 'all.tar')
    sb.ok(['images', 'export', '--all-platforms', all, ref])
    assert.equal(tarList(all).filter((n) => /^blobs\/sha256\/./.test(n)).length, 7)
  })

  test('when the registry cannot supply a missing blob, the export fails naming it, and leaves no file', async () => {
    const lonely = await buildImage({layers: [[{path: 'z', type: 'file', content: 'z\n'}]], platform: other})
    const lonelyIndex = buildIndex([mine, lonely])
    await pushImage(reg, 'library/lonely:1', lonelyIndex)
    const lonelyRef = `${reg.host}/library/lonely:1`
    sb.ok(['images', 'pull', '-q', lonelyRef])
    await reg.stop()
    const out = join(sb.dir, 'fail.tar')
    const r = sb.run(['images', 'export', '--platform', fmt(other), out, lonelyRef])
    assert.ok(r.code === 5 || r.code === 3 || r.code === 6, `exit ${r.code}: ${r.stderr}`)
    assert.match(
      r.stderr,
      new RegExp(
        `^fetching 1 missing blob of ${lonelyRef.replace(/[.]/g, '\\.')}\\nctr: manifest ${lonely.manifestDigest} of image ` +
          `"${lonelyRef.replace(/[.]/g, '\\.')}" for ${fmt(other)} is not in the content store, and fetching it failed: .+\\n$`,
      ),
    )
    assert.ok(!existsSync(out))
    assert.deepEqual(
      readdirSync(sb.dir).filter((f) => f.startsWith('.fail.tar')),
      [],
    )
    reg = await startRegistry() // for after()
  })

  test('errors: a missing image (exit 3, no file), no image given (exit 2)', () => {
    const out = join(sb.dir, 'none.tar')
    let r = sb.run(['images', 'export', out, 'nosuch:1'])
    assert.equal(r.code, 3)
    assert.equal(r.stderr, 'ctr: image "docker.io/library/nosuch:1": not found\n')
    assert.ok(!existsSync(out))
    r = sb.run(['images', 'export', out])
    assert.equal(r.code, 2)
    assert.equal(r.stderr, 'ctr: please provide both an output filename and an image reference to export\n')
  })
})

describe('images import from skopeo archives, then run it without a registry', {skip: skip || runtimeSkipReason()}, () => {
  let reg: RunningRegistry
  let sb: Sandbox
  let image: BuiltImage
  before(async () => {
    reg = await startRegistry()
    sb = sandbox('berth-rt-')
    image = await busyboxImage({mediaTypes: 'docker'})
    await pushImage(reg, 'library/bb:1', image)
  })
  after(async () => {
    await reg.stop()
    cleanupSandbox(sb)
  })

  test('skopeo docker-archive: and oci-archive: (file and stdin), with every naming flag; then ctr run --rm', async () => {
    const src = `docker://${reg.host}/library/bb:1`
    const da = join(sb.dir, 'skopeo-docker.tar')
    const oa = join(sb.dir, 'skopeo-oci.tar')
    await runToolOk('skopeo', ['copy', '-q', '--src-tls-verify=false', src, `docker-archive:${da}:app/bb:2`])
    await runToolOk('skopeo', ['copy', '-q', '--src-tls-verify=false', src, `oci-archive:${oa}:v9`])

    let r = sb.run(['-n', 'da', 'images', 'import', da])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(imageNames(sb, 'da'), ['docker.io/app/bb:2'])
    r = importPipe(sb, da, ['--digests', '--base-name', 'mine/base'], 'da2')
    assert.equal(r.code, 0, r.stderr)
    const digest = imageRow(sb, 'docker.io/app/bb:2', 'da')![2]
    assert.deepEqual(imageNames(sb, 'da2'), ['docker.io/app/bb:2', `docker.io/mine/base@${digest}`])

    r = importPipe(sb, oa, ['--base-name', 'registry.local/bb', '--index-name', 'bb-index'], 'oa')
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(imageNames(sb, 'oa'), ['docker.io/library/bb-index:latest', 'registry.local/bb:v9'])
    // skopeo converted the Docker manifest to OCI for its layout: the digest is that of its index.json entry.
    const skopeoIndex = JSON.parse(spawnSync('tar', ['-xOf', oa, 'index.json'], {encoding: 'utf8'}).stdout) as {manifests: Array<{digest: string}>}
    assert.equal(imageRow(sb, 'registry.local/bb:v9', 'oa')![2], skopeoIndex.manifests[0].digest)

    // A store that never saw the registry runs what it imported.
    const id = `imp-${randomBytes(3).toString('hex')}`
    r = sb.run(['-n', 'oa', 'run', '--rm', 'registry.local/bb:v9', id, 'echo', 'imported'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout, 'imported\n')
    r = sb.run(['-n', 'da', 'run', '--rm', 'docker.io/app/bb:2', id, 'sh', '-c', 'cat /etc/hostname'])
    assert.equal(r.code, 0, r.stderr)
  })
})

describe('images import keeps memory bounded', {skip}, () => {
  let sb: Sandbox
  before(() => {
    sb = sandbox()
  })
  after(() => sb.cleanup())

  test('a 150 MiB archive from a pipe: peak RSS far below the archive size', async () => {
    // An OCI layout with one uncompressed 150 MiB layer of random data, streamed to a file with
    // index.json last: the importer cannot know what it needs before the end.
    const file = join(sb.dir, 'big.tar')
    const dataSize = 150 * 1024 * 1024
    const layerSize = 512 + dataSize + tarPadding(dataSize) + 1024
    const out = createWriteStream(file)
    const archive = new TarWriter(streamOutput(out))
    const layerHash = createHash('sha256')
    await archive.add({path: 'oci-layout', size: 30}, Buffer.from('{"imageLayoutVersion":"1.0.0"}'))
    // The layer's digest is known only after it is written, and its name carries it: write it
    // under a placeholder name first, then fix the name in place (same length).
    const layerHeaderAt = archive.bytesWritten
    const placeholder = `blobs/sha256/${'0'.repeat(64)}`
    await archive.begin({path: placeholder, size: layerSize})
    const inner = encodeTarHeader({path: 'big', size: dataSize})
    layerHash.update(inner)
    await archive.write(inner)
    for (let left = dataSize; left > 0; ) {
      const chunk = randomBytes(Math.min(left, 4 << 20))
      layerHash.update(chunk)
      await archive.write(chunk)
      left -= chunk.length
    }
    const tail = Buffer.concat([Buffer.alloc(tarPadding(dataSize)), tarTrailer()])
    layerHash.update(tail)
    await archive.write(tail)
    await archive.endEntry()
    const layerDigest = `sha256:${layerHash.digest('hex')}`
    const diffId = layerDigest
    const config = Buffer.from(JSON.stringify({architecture: host.architecture, os: host.os, rootfs: {type: 'layers', diff_ids: [diffId]}}))
    const configDigest = sha256(config)
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length},
        layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layerSize}],
      }),
    )
    const manifestDigest = sha256(manifest)
    await archive.add({path: `blobs/sha256/${configDigest.slice(7)}`, size: config.length}, config)
    await archive.add({path: `blobs/sha256/${manifestDigest.slice(7)}`, size: manifest.length}, manifest)
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            digest: manifestDigest,
            size: manifest.length,
            annotations: {'org.opencontainers.image.ref.name': 'big:1'},
          },
        ],
      }),
    )
    await archive.add({path: 'index.json', size: index.length}, index)
    await archive.finish()
    out.end()
    await once(out, 'close')
    const {open} = await import('node:fs/promises')
    const fh = await open(file, 'r+')
    await fh.write(Buffer.from(encodeTarHeader({path: `blobs/sha256/${layerDigest.slice(7)}`, size: layerSize})), 0, 512, layerHeaderAt)
    await fh.close()
    const archiveBytes = statSync(file).size

    // stdin is a pipe (a FIFO here, so that the spawned process is ctr itself, whose
    // /proc/<pid>/status can be read while it runs); cat fills it.
    const fifo = join(sb.dir, 'stdin.fifo')
    spawnSync('mkfifo', [fifo])
    const child = spawn('sh', ['-c', 'exec "$0" images import - < "$1"', CTR_BIN, fifo], {env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
    const feeder = spawn('sh', ['-c', 'cat "$0" > "$1"', file, fifo], {stdio: 'ignore'})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    let hwm = 0
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        if (m) hwm = Math.max(hwm, Number(m[1]) * 1024)
      } catch {
        // exited
      }
    }, 20)
    const [code] = (await once(child, 'close')) as [number]
    clearInterval(poll)
    if (feeder.exitCode === null) await once(feeder, 'close')
    assert.equal(code, 0, stderr)
    assert.equal(stdout, `unpacking docker.io/library/big:1 (${manifestDigest})...done\n`)
    assert.ok(hwm > 0, 'no memory reading')
    assert.ok(hwm < archiveBytes * 0.6, `peak RSS ${(hwm / 2 ** 20).toFixed(1)} MiB for a ${(archiveBytes / 2 ** 20).toFixed(1)} MiB archive`)
    assert.match(sb.ok(['images', 'check']), /complete \(3\/3\).*true/)
  })
})
