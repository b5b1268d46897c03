// The checkpoint library's pure parts: image names, the index format and its errors, CRIU version
// rules, the criu_path setting, the checkpoint-label filter rule of images ls, and the rw-layer
// tar (overlay whiteouts and opaque directories become OCI `.wh.` entries).
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {writeTreeTar} from '../../../../src/lib/checkpoint/archive.js'
import {findCriu, findCriuAsync, minimumCriuVersion} from '../../../../src/lib/checkpoint/criu.js'
import {
  Annotation,
  CheckpointMediaType,
  defaultCheckpointName,
  findDescriptor,
  parseCheckpointIndex,
  requiredAnnotation,
  storedImageName,
} from '../../../../src/lib/checkpoint/format.js'
import {interpret} from '../../../../src/lib/config/index.js'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {parseFilters} from '../../../../src/lib/filters/index.js'
import {selectImages} from '../../../../src/lib/images/index.js'
import type {ImageRecord} from '../../../../src/lib/store/index.js'
import {lsetxattr, mknod} from '../../../../src/lib/sys/index.js'

const dir = mkdtempSync(join(tmpdir(), 'berth-ckpt-unit-'))
after(() => rmSync(dir, {recursive: true, force: true}))

describe('checkpoint names', () => {
  test('the default name is containerd.io/checkpoint/<id>:<MM-DD-YYYY-HH:MM:SS> in local time', () => {
    assert.equal(defaultCheckpointName('web', new Date(2026, 0, 5, 7, 8, 9)), 'containerd.io/checkpoint/web:01-05-2026-07:08:09')
  })
  test('a user name is stored normalized; a name that is no reference stays as it is', () => {
    assert.equal(storedImageName('checkpoint/web:1'), 'docker.io/checkpoint/web:1')
    assert.equal(storedImageName('containerd.io/checkpoint/web:01-05-2026-07:08:09'), 'containerd.io/checkpoint/web:01-05-2026-07:08:09')
  })
})

describe('checkpoint index', () => {
  const index = parseCheckpointIndex(
    'sha256:' + 'a'.repeat(64),
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{mediaType: CheckpointMediaType.criu, digest: 'sha256:' + 'b'.repeat(64), size: 1}],
        annotations: {[Annotation.runtime]: 'io.containerd.runc.v2'},
      }),
    ),
  )
  test('descriptors are found by media type', () => {
    assert.equal(findDescriptor(index, CheckpointMediaType.criu)?.size, 1)
    assert.equal(findDescriptor(index, CheckpointMediaType.config, CheckpointMediaType.configProto), undefined)
  })
  test("a missing annotation is NotFound with containerd's words", () => {
    assert.throws(
      () => requiredAnnotation(index, Annotation.snapshotter, 'snapshotter'),
      (err: Error) => errorKind(err) === 'not found' && err.message === 'snapshotter not found in index',
    )
    assert.equal(requiredAnnotation(index, Annotation.runtime, 'runtime'), 'io.containerd.runc.v2')
  })
  test('a blob that is not an index is refused', () => {
    assert.throws(
      () => parseCheckpointIndex('sha256:x', Buffer.from('{}')),
      (err: Error) => errorKind(err) === 'invalid argument',
    )
  })
})

describe('CRIU', () => {
  test('kernels from 6.13 need criu 4.2', () => {
    assert.equal(minimumCriuVersion([6, 18]), '4.2')
    assert.equal(minimumCriuVersion([6, 13]), '4.2')
    assert.equal(minimumCriuVersion([6, 1]), '3.17')
    assert.equal(minimumCriuVersion([7, 0]), '4.2')
  })
  test('criu_path is read from the config, and a path that does not run fails with what to install', () => {
    assert.equal(interpret({criu_path: '/opt/criu'}).criuPath, '/opt/criu')
    assert.equal(interpret({}).criuPath, undefined)
    assert.throws(
      () => interpret({criu_path: 3}),
      (err: Error) => errorKind(err) === 'invalid argument',
    )
    assert.throws(
      () => findCriu({criuPath: join(dir, 'no-criu')}),
      (err: Error) => errorKind(err) === 'failed precondition' && /does not run: run scripts\/setup\.sh as root/.test(err.message),
    )
  })
  test('a CRIU too old for the kernel is refused', () => {
    const fake = join(dir, 'old-criu')
    writeFileSync(fake, '#!/bin/sh\necho "Version: 3.17.1"\n', {mode: 0o755})
    assert.throws(
      () => findCriu({criuPath: fake}),
      (err: Error) => errorKind(err) === 'failed precondition' && (minimumCriuVersion() === '3.17' || /needs criu >= 4\.2/.test(err.message)),
    )
  })
  test('the version of an unchanged CRIU is remembered in the cache dir; a changed program is asked again', async () => {
    const fake = join(dir, 'counted-criu')
    const calls = join(dir, 'counted-calls')
    const cache = join(dir, 'criu-cache')
    const script = (version: string) => `#!/bin/sh\necho x >> ${calls}\necho "Version: ${version}"\n`
    writeFileSync(fake, script('4.2.1'), {mode: 0o755})
    const ran = () => readFileSync(calls, 'utf8').split('\n').filter(Boolean).length
    assert.equal((await findCriuAsync({criuPath: fake}, cache)).version, '4.2.1')
    assert.equal((await findCriuAsync({criuPath: fake}, cache)).version, '4.2.1')
    assert.equal(ran(), 1, 'asked once')
    assert.equal(statSync(join(cache, 'criu-version.json')).mode & 0o777, 0o600)
    writeFileSync(fake, script('4.2.10'), {mode: 0o755}) // another size: mtimes may not tick between two writes
    assert.equal((await findCriuAsync({criuPath: fake}, cache)).version, '4.2.10')
    assert.equal(ran(), 2, 'a rewritten program is asked again')
    await findCriuAsync({criuPath: fake})
    assert.equal(ran(), 3, 'no cache dir: asked every time')
    await assert.rejects(findCriuAsync({criuPath: join(dir, 'no-criu')}, cache), (err: Error) => /does not run/.test(err.message))
  })
})

describe('images ls and checkpoint images', () => {
  const image = (name: string, labels: Record<string, string> = {}): ImageRecord => ({
    name,
    target: {mediaType: 'x', digest: 'sha256:' + 'c'.repeat(64), size: 1},
    labels,
    createdAt: 0,
    updatedAt: 0,
  })
  const images = [image('docker.io/library/a:1'), image('containerd.io/checkpoint/w:1', {'containerd.io/checkpoint': 'true'})]
  const names = (filters: string[], all = false) => selectImages(images, parseFilters(filters), {all}).map((i) => i.name)
  test('hidden by default, shown by --all', () => {
    assert.deepEqual(names([]), ['docker.io/library/a:1'])
    assert.deepEqual(names([], true), ['docker.io/library/a:1', 'containerd.io/checkpoint/w:1'])
  })
  test('a filter on the label shows them, in both spellings', () => {
    assert.deepEqual(names(['labels."containerd.io/checkpoint"==true']), ['containerd.io/checkpoint/w:1'])
    assert.deepEqual(names(['labels.containerd."io/checkpoint"==true']), ['containerd.io/checkpoint/w:1'])
    assert.deepEqual(names(['labels."containerd.io/checkpoint"!=true']), ['docker.io/library/a:1'])
  })
  test('other filters keep them hidden', () => {
    assert.deepEqual(names(['name~=o']), ['docker.io/library/a:1'])
  })
})

describe('rw layer tar', {skip: process.getuid?.() !== 0 && !process.env['CI'] ? 'needs root (mknod, trusted xattrs)' : false}, () => {
  test('overlay whiteouts become .wh. files and opaque directories get .wh..wh..opq', async () => {
    const upper = join(dir, 'upper')
    mkdirSync(join(upper, 'etc', 'opaque'), {recursive: true})
    writeFileSync(join(upper, 'etc', 'file'), 'hello')
    mknod(join(upper, 'etc', 'gone'), 0o020000 | 0o644, 0, 0)
    lsetxattr(join(upper, 'etc', 'opaque'), 'trusted.overlay.opaque', Buffer.from('y'))
    const out = join(dir, 'rw.tar.gz')
    const blob = await writeTreeTar(upper, out, {gzip: true, overlay: true})
    assert.match(blob.digest, /^sha256:[0-9a-f]{64}$/)
    const listing = spawnSync('tar', ['-tzvf', out], {encoding: 'utf8'}).stdout
    const entries = listing
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(/\s+/).at(-1))
    assert.deepEqual(entries, ['etc/', 'etc/file', 'etc/.wh.gone', 'etc/opaque/', 'etc/opaque/.wh..wh..opq'])
    assert.equal(spawnSync('sh', ['-c', `sha256sum < ${out}`], {encoding: 'utf8'}).stdout.split(' ')[0], blob.digest.slice(7))
  })
})
