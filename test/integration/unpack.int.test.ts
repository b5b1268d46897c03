// `ctr images pull` unpacks into overlayfs snapshots, end to end with the built CLI against
// Debian's docker-registry: chain IDs, events, sharing across namespaces (and not under the
// isolated policy), diff ID checks, a pull killed mid-unpack, a 128-layer image that mounts and
// runs, hostile layers through the whole path, `images mount`/`unmount`, the snapshots commands,
// and GC of snapshots. Runs as root (mounts); skips elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {chainIds} from '../../src/lib/oci/digest.js'
import {CTR_BIN, type Sandbox, sandbox} from '../helpers/cli.js'
import {buildImage, busyboxImage, busyboxLayerEntries, generatedLayers, type BuiltImage} from '../helpers/oci-image.js'
import {pushImage, type RunningRegistry, startRegistry} from '../helpers/registry.js'

const isRoot = process.getuid?.() === 0
const skip = !isRoot && !process.env['CI'] ? 'needs root (mounts)' : false

const chainOf = (img: BuiltImage) => chainIds(img.layers.map((l) => l.diffId)).at(-1)!
const dirsOn = (sb: Sandbox, sn = 'overlayfs') => {
  try {
    return readdirSync(join(sb.root, 'snapshots', sn)).sort()
  } catch {
    return []
  }
}
const events = (sb: Sandbox, ns: string, topicPrefix: string) =>
  sb
    .ok(['events', '--no-follow', '--format', 'json'])
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as {namespace: string; topic: string; event: Record<string, string>})
    .filter((e) => e.namespace === ns && e.topic.startsWith(topicPrefix))
const busybox = (root: string, ...args: string[]) => spawnSync('chroot', [root, '/bin/busybox', ...args], {encoding: 'utf8'})

describe('pull unpacks into snapshots', {skip}, () => {
  let reg: RunningRegistry
  let sb: Sandbox
  let image: BuiltImage
  let ref: string
  const mounts: string[] = []
  before(async () => {
    reg = await startRegistry()
    sb = sandbox()
    image = await busyboxImage({extraLayers: [[{path: 'etc/motd', type: 'file', content: 'hello from layer 1\n'}], [{path: 'etc/.wh.hostname', type: 'file'}]]})
    ref = `${reg.host}/library/busybox:3`
    await pushImage(reg, 'library/busybox:3', image)
  })
  after(async () => {
    for (const m of mounts) spawnSync('umount', ['-R', m])
    await reg.stop()
    sb.cleanup()
  })

  test('pull unpacks: --print-chainid, snapshots ls, images check UNPACKED, events', () => {
    const r = sb.run(['images', 'pull', '--print-chainid', ref])
    assert.equal(r.code, 0, r.stderr)
    const chain = chainIds(image.layers.map((l) => l.diffId))
    assert.match(
      r.stdout,
      new RegExp(`^unpacking linux/\\w+ ${image.manifestDigest}\\.\\.\\.\\nimage chain ID: ${chain.at(-1)}\\ndone: [0-9.]+(ms|s|µs)\\t\\n$`),
    )
    const ls = sb.ok(['snapshots', 'ls']).trimEnd().split('\n')
    assert.match(ls[0], /^KEY +PARENT +KIND +$/)
    assert.deepEqual(
      ls.slice(1).map((l) => l.trim().split(/ +/)),
      [
        [chain[0], 'Committed'],
        [chain[1], chain[0], 'Committed'],
        [chain[2], chain[1], 'Committed'],
      ].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    )
    assert.match(sb.ok(['images', 'check']), /complete \(5\/5\).* true +\n$/)
    assert.equal(sb.ok(['images', 'check', '-q']), `${ref}\n`)
    const ev = events(sb, 'default', '/snapshot/')
    assert.deepEqual(
      ev.map((e) => e.topic),
      ['/snapshot/prepare', '/snapshot/commit', '/snapshot/prepare', '/snapshot/commit', '/snapshot/prepare', '/snapshot/commit'],
    )
    assert.match(ev[0].event['key'], new RegExp(`^extract-\\d+-\\S+ ${chain[0]}$`))
    assert.deepEqual(ev[1].event, {key: ev[0].event['key'], name: chain[0], snapshotter: 'overlayfs'})
    assert.equal(ev[2].event['parent'], chain[0])
    const info = JSON.parse(sb.ok(['snapshots', 'info', chain[1]])) as Record<string, unknown>
    assert.equal(info['Kind'], 'Committed')
    assert.equal(info['Parent'], chain[0])
    assert.deepEqual(info['Labels'], {'containerd.io/snapshot/diff-id': image.layers[1].diffId, 'containerd.io/snapshot/parent-chain-id': chain[0]})
    // the config now references the chain, the layers their uncompressed digests
    assert.match(sb.ok(['content', 'ls']), new RegExp(`containerd.io/gc.ref.snapshot.overlayfs=${chain[2]}`))
    assert.match(sb.ok(['content', 'ls']), new RegExp(`containerd.io/uncompressed=${image.layers[0].diffId}`))
  })

  test('images mount shows the merged tree (whiteouts applied) and runs; unmount --rm removes the view', () => {
    const target = join(sb.dir, 'mnt')
    mounts.push(target)
    assert.equal(sb.ok(['images', 'mount', ref, target]), `${target}\n`)
    assert.equal(readFileSync(join(target, 'etc/motd'), 'utf8'), 'hello from layer 1\n')
    assert.equal(existsSync(join(target, 'etc/hostname')), false, "the whiteout in layer 2 hides layer 0's file")
    assert.equal(readlinkSync(join(target, 'bin/ls')), 'busybox')
    const ls = busybox(target, 'ls', '/etc')
    assert.equal(ls.status, 0, ls.stderr)
    assert.deepEqual(ls.stdout.trim().split(/\s+/).sort(), ['group', 'motd', 'passwd'])
    assert.throws(() => writeFileSync(join(target, 'x'), 'y'), /EROFS/)
    assert.match(sb.ok(['snapshots', 'ls']), new RegExp(`^${target} +${chainOf(image)} +View +$`, 'm'))
    assert.equal(sb.ok(['images', 'unmount', '--rm', target]), `${target}\n`)
    assert.equal(existsSync(join(target, 'bin')), false)
    assert.doesNotMatch(sb.ok(['snapshots', 'ls']), /View/)
  })

  test('images mount --rw writes into the active snapshot only', () => {
    const target = join(sb.dir, 'rw')
    mounts.push(target)
    sb.ok(['images', 'mount', '--rw', ref, target])
    writeFileSync(join(target, 'etc/new'), 'new\n')
    rmSync(join(target, 'etc/motd'))
    const usage = sb.ok(['snapshots', 'usage', target]).split('\n')[1].trim().split(/ +/)
    assert.equal(usage[0], target)
    assert.ok(Number(usage.at(-1)) >= 3, `inodes of the upper layer: ${usage}`) // fs/, etc/, etc/new, the motd whiteout
    sb.ok(['images', 'unmount', '--rm', target])
    // lower layers untouched: a fresh view still has motd
    const view = join(sb.dir, 'view2')
    mounts.push(view)
    sb.ok(['images', 'mount', ref, view])
    assert.equal(existsSync(join(view, 'etc/motd')), true)
    assert.equal(existsSync(join(view, 'etc/new')), false)
    sb.ok(['images', 'unmount', '--rm', view])
  })

  test('a second namespace records the chain without extracting; the isolated policy extracts again', () => {
    const before = dirsOn(sb)
    const r = sb.run(['-n', 'second', 'images', 'pull', ref])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(dirsOn(sb), before, 'no new snapshot directory')
    assert.match(sb.ok(['-n', 'second', 'images', 'check']), / true +\n$/)
    assert.equal(sb.ok(['-n', 'second', 'snapshots', 'ls']), sb.ok(['snapshots', 'ls']))
    assert.equal(events(sb, 'second', '/snapshot/commit').length, 3)

    const iso = sandbox()
    try {
      iso.writeConfig('content_sharing_policy = "isolated"\n')
      iso.ok(['-n', 'a', 'images', 'pull', '-q', ref])
      const one = dirsOn(iso)
      iso.ok(['-n', 'b', 'images', 'pull', '-q', ref])
      assert.equal(dirsOn(iso).length, one.length * 2, 'isolated: b extracts its own copy')
      iso.ok(['namespaces', 'label', 'a', 'containerd.io/namespace.shareable=true'])
      iso.ok(['-n', 'c', 'images', 'pull', '-q', ref])
      assert.equal(dirsOn(iso).length, one.length * 2, 'a shareable namespace shares even when isolated')
    } finally {
      iso.cleanup()
    }
  })

  test('snapshots prepare/view/mounts/commit/tree/label/usage/rm behave as ctr', () => {
    const chain = chainOf(image)
    assert.equal(sb.ok(['snapshots', 'prepare', 'work', chain]), '')
    const mountsOut = sb.ok(['snapshots', 'mounts', '/tmp/target', 'work'])
    assert.match(mountsOut, /^mount -t overlay overlay \/tmp\/target -o index=off,workdir=\/.+\/work,upperdir=\/.+\/fs,lowerdir=\/.+\/fs:\/.+\/fs:\/.+\/fs\n$/)
    // The printed command works as is.
    const target = join(sb.dir, 'manual')
    mkdirSync(target)
    mounts.push(target)
    const cmd = mountsOut.trim().replace('/tmp/target', target).split(' ')
    const m = spawnSync(cmd[0], cmd.slice(1), {encoding: 'utf8'})
    assert.equal(m.status, 0, m.stderr)
    writeFileSync(join(target, 'committed-file'), 'x')
    assert.equal(spawnSync('umount', [target]).status, 0)
    sb.ok(['snapshots', 'commit', 'mine', 'work'])
    assert.match(sb.ok(['snapshots', 'ls']), /^mine +sha256:\S+ +Committed +$/m)
    assert.equal(sb.ok(['snapshots', 'view', '--target', '/tmp/v', 'v1', 'mine']).split(' ')[0], 'mount')
    const tree = sb.ok(['snapshots', 'tree'])
    assert.match(tree, new RegExp(`^ ${chainIds(image.layers.map((l) => l.diffId))[0]}\\n  \\\\_ `))
    assert.match(tree, /\n {6}\\_ mine\n {8}\\_ v1\n/)
    assert.equal(sb.ok(['snapshots', 'label', 'mine', 'a=b']).split(',').includes('a=b'), true)
    const rm = sb.run(['snapshots', 'rm', 'mine'])
    assert.equal(rm.code, 5)
    assert.equal(rm.stderr, 'ctr: failed to remove "mine": cannot remove snapshot with child: failed precondition\n')
    sb.ok(['snapshots', 'rm', 'v1', 'mine'])
    const usage = sb.ok(['snapshots', 'usage', '-b', chain]).split('\n')
    assert.match(usage[0], /^KEY +SIZE +INODES +$/)
    assert.match(usage[1], new RegExp(`^${chain} +\\d+ +\\d+ +$`))
    const missing = sb.run(['snapshots', 'info', 'nope'])
    assert.equal(missing.code, 3)
    assert.equal(missing.stderr, 'ctr: snapshot "nope": not found\n')
    const zfs = sb.run(['snapshots', 'ls', '--snapshotter', 'zfs'])
    assert.notEqual(zfs.code, 0)
    assert.equal(zfs.stderr, 'ctr: snapshotter "zfs" is not supported (use overlayfs or native): not implemented\n')
  })

  test('images rm and gc remove the snapshots and their directories once no namespace needs them', () => {
    sb.ok(['-n', 'second', 'images', 'rm', ref])
    assert.equal(sb.ok(['-n', 'second', 'snapshots', 'ls']).trim().split('\n').length, 1, 'only the header')
    assert.ok(dirsOn(sb).length >= 3, 'default still holds the directories')
    const dry = sb.ok(['gc', '--dry-run'])
    assert.doesNotMatch(dry, /would remove\s+snapshot\s/)
    sb.ok(['images', 'rm', ref])
    assert.equal(dirsOn(sb).length, 0)
    const removed = events(sb, 'default', '/snapshot/remove')
    assert.ok(removed.length >= 3)
  })
})

describe('unpack failures and hard cases', {skip}, () => {
  let reg: RunningRegistry
  let sb: Sandbox
  before(async () => {
    reg = await startRegistry()
    sb = sandbox()
  })
  after(async () => {
    await reg.stop()
    sb.cleanup()
  })

  test('a diff ID mismatch is DataLoss naming the layer index, and nothing is committed', async () => {
    const good = await busyboxImage({extraLayers: [[{path: 'a', type: 'file', content: 'a'}], [{path: 'b', type: 'file', content: 'b'}]]})
    const diffIds = good.layers.map((l) => l.diffId)
    diffIds[2] = `sha256:${'e'.repeat(64)}`
    const bad = await busyboxImage({
      extraLayers: [[{path: 'a', type: 'file', content: 'a'}], [{path: 'b', type: 'file', content: 'b'}]],
      config: {rootfs: {type: 'layers', diff_ids: diffIds}},
    })
    await pushImage(reg, 'bad/diffid:1', bad)
    const r = sb.run(['images', 'pull', '-q', `${reg.host}/bad/diffid:1`])
    assert.equal(r.code, 8, r.stderr)
    assert.match(
      r.stderr,
      /^ctr: layer 2 \(sha256:[0-9a-f]{64}\): wrong diff id "sha256:[0-9a-f]{64}" calculated on extraction, want "sha256:e{64}": data loss\n$/,
    )
    assert.equal(sb.ok(['snapshots', 'ls']).trim().split('\n').length, 1)
    assert.deepEqual(dirsOn(sb), [])
    assert.equal(sb.ok(['images', 'ls', '-q']), '')
  })

  test('a pull killed while unpacking is repeated and completes; gc clears the debris', async () => {
    const layers = generatedLayers({count: 4, bytesPerLayer: 12 << 20, seed: 'kill-unpack'})
    const img = await buildImage({layers: [busyboxLayerEntries(), ...layers]})
    await pushImage(reg, 'big/kill:1', img)
    const ref = `${reg.host}/big/kill:1`
    const child = spawn(CTR_BIN, ['-n', 'k', 'images', 'pull', '-q', ref], {env: sb.env, stdio: 'ignore'})
    // Kill once extraction has started: the first snapshot directory appears.
    const deadline = Date.now() + 30_000
    while (dirsOn(sb).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5))
    child.kill('SIGKILL')
    await new Promise((r) => child.on('close', r))
    const r = await sb.spawn(['-n', 'k', 'images', 'pull', '-q', ref])
    assert.equal(r.code, 0, r.stderr)
    assert.match(sb.ok(['-n', 'k', 'images', 'check']), / true +\n$/)
    const target = join(sb.dir, 'killed')
    sb.ok(['-n', 'k', 'images', 'mount', ref, target])
    try {
      const last = layers
        .at(-1)!
        .filter((e) => e.type === 'file')
        .at(-1)!
      assert.equal(statSync(join(target, last.path)).size, (last.content as Buffer).length)
    } finally {
      sb.ok(['-n', 'k', 'images', 'unmount', '--rm', target])
    }
    sb.ok(['gc'])
    const recorded = new Set(sb.ok(['-n', 'k', 'snapshots', 'ls']).trim().split('\n').slice(1))
    assert.equal(dirsOn(sb).length, recorded.size, 'one directory per recorded snapshot after gc')
  })

  test('a 128-layer image unpacks, mounts and runs ls', async () => {
    const extra = Array.from({length: 127}, (_, i) => [{path: `layers/l${String(i).padStart(3, '0')}`, type: 'file' as const, content: `${i}\n`}])
    const img = await busyboxImage({extraLayers: extra})
    assert.equal(img.layers.length, 128)
    await pushImage(reg, 'deep/image:128', img)
    const ref = `${reg.host}/deep/image:128`
    const r = sb.run(['-n', 'deep', 'images', 'pull', '-q', '--print-chainid', ref])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.trim(), `image chain ID: ${chainOf(img)}`)
    const target = join(sb.dir, 'deep')
    sb.ok(['-n', 'deep', 'images', 'mount', ref, target])
    try {
      const ls = busybox(target, 'ls', '/layers')
      assert.equal(ls.status, 0, ls.stderr)
      assert.equal(ls.stdout.trim().split(/\s+/).length, 127)
      assert.equal(readFileSync(join(target, 'layers/l126'), 'utf8'), '126\n')
    } finally {
      sb.ok(['-n', 'deep', 'images', 'unmount', '--rm', target])
    }
  })

  test('hostile layers through pull: nothing outside the snapshot is touched', async () => {
    const sentinel = join(sb.dir, 'host-sentinel')
    mkdirSync(sentinel)
    writeFileSync(join(sentinel, 'keep'), 'original')
    const layer = [
      {path: `../../../../../../../../${sentinel}/escaped-dotdot`, type: 'file' as const, content: 'x'},
      {path: `${sentinel}/escaped-abs`, type: 'file' as const, content: 'x'},
      {path: 'rootlink', type: 'symlink' as const, linkname: '/'},
      {path: `rootlink${sentinel}/escaped-link`, type: 'file' as const, content: 'x'},
      {path: 'up', type: 'symlink' as const, linkname: '../../../../../../../..'},
      {path: `up${sentinel}/keep`, type: 'file' as const, content: 'overwritten'},
      {path: 'hl', type: 'hardlink' as const, linkname: `../../../../../../..${sentinel}/keep`},
    ]
    const img = await busyboxImage({extraLayers: [layer]})
    await pushImage(reg, 'evil/image:1', img)
    const ref = `${reg.host}/evil/image:1`
    const r = sb.run(['-n', 'evil', 'images', 'pull', '-q', ref])
    assert.deepEqual(readdirSync(sentinel), ['keep'], r.stderr)
    assert.equal(readFileSync(join(sentinel, 'keep'), 'utf8'), 'original')
    if (r.code === 0) {
      const target = join(sb.dir, 'evil')
      sb.ok(['-n', 'evil', 'images', 'mount', ref, target])
      try {
        assert.equal(readFileSync(join(target, sentinel, 'escaped-dotdot'), 'utf8'), 'x')
        assert.equal(readFileSync(join(target, sentinel, 'escaped-abs'), 'utf8'), 'x')
        assert.equal(readlinkSync(join(target, 'rootlink')), '/')
      } finally {
        sb.ok(['-n', 'evil', 'images', 'unmount', '--rm', target])
      }
    }
  })

  test('the native snapshotter unpacks the same tree', async () => {
    const img = await busyboxImage({
      extraLayers: [
        [{path: 'etc/motd', type: 'file', content: 'm'}],
        [
          {path: 'etc/.wh.motd', type: 'file'},
          {path: 'etc/new', type: 'file', content: 'n'},
        ],
      ],
    })
    await pushImage(reg, 'native/image:1', img)
    const ref = `${reg.host}/native/image:1`
    sb.ok(['-n', 'nat', 'images', 'pull', '-q', '--snapshotter', 'native', ref])
    assert.match(sb.ok(['-n', 'nat', 'images', 'check', '--snapshotter', 'native']), / true +\n$/)
    assert.match(sb.ok(['-n', 'nat', 'images', 'check']), / false +\n$/, 'not unpacked in overlayfs')
    const target = join(sb.dir, 'native')
    sb.ok(['-n', 'nat', 'images', 'mount', '--snapshotter', 'native', ref, target])
    try {
      assert.equal(existsSync(join(target, 'etc/motd')), false)
      assert.equal(readFileSync(join(target, 'etc/new'), 'utf8'), 'n')
      assert.equal(busybox(target, 'true').status, 0)
    } finally {
      sb.ok(['-n', 'nat', 'images', 'unmount', '--rm', '--snapshotter', 'native', target])
    }
  })
})
