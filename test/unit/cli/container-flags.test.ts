// The command line of run and containers create: where the container command begins, what goes
// with --config and --rootfs, and how flags become createContainer's options.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {endFlagsAfterPositionals} from '../../../src/cli/command-args.js'
import {containerFlags, containerPositionals, createOptionsFrom, parseAnnotationArgs, type ContainerFlagValues} from '../../../src/cli/container-flags.js'
import {globalFlags} from '../../../src/cli/flags.js'
import {errorKind} from '../../../src/lib/errors/index.js'

const flags = {...globalFlags, ...containerFlags, rm: {type: 'boolean' as const}, detach: {type: 'boolean' as const, char: 'd'}}
const split = (line: string) => endFlagsAfterPositionals(line.split(' '), flags, containerPositionals)
const invalid = (fn: () => unknown, message: string | RegExp) =>
  assert.throws(fn, (e: Error) => {
    assert.equal(errorKind(e), 'invalid argument', e.message)
    if (typeof message === 'string') assert.equal(e.message, message)
    else assert.match(e.message, message)
    return true
  })

describe('where the container command begins', () => {
  const table: Array<[string, string]> = [
    ['--rm img id sh -c echo', '--rm img id -- sh -c echo'],
    ['img id echo -d --rm', 'img id -- echo -d --rm'],
    ['-c spec.json id', '-c spec.json id'],
    ['--config spec.json id extra -c x', '--config spec.json id -- extra -c x'],
    ['--config=spec.json id x', '--config=spec.json id -- x'],
    ['-cspec.json id x', '-cspec.json id -- x'],
    ['-tc spec.json id x', '-tc spec.json id -- x'],
    ['--cpu-quota -1 img id true', '--cpu-quota -1 img id -- true'],
    ['--rootfs /srv/r id sh -c x', '--rootfs /srv/r id -- sh -c x'],
    ['img id -- sh', 'img id -- sh'],
  ]
  for (const [line, want] of table) test(line, () => assert.equal(split(line).join(' '), want))
})

describe('createOptionsFrom', () => {
  const make = (argv: string[], f: ContainerFlagValues & {'dump-config'?: string} = {}, command: 'run' | 'create' = 'run') =>
    createOptionsFrom(command, 'default', {defaultSnapshotter: 'overlayfs'}, argv, f)
  test('image mode: IMAGE ID COMMAND', () => {
    const o = make(['busybox', 'c1', 'echo', 'hi'], {label: ['a=1', 'b'], 'snapshotter-label': ['x=y'], 'sync-fs': true})
    assert.equal(o.image, 'docker.io/library/busybox:latest')
    assert.equal(o.id, 'c1')
    assert.deepEqual(o.spec!.args, ['echo', 'hi'])
    assert.deepEqual(o.labels, {a: '1', b: 'true'})
    assert.deepEqual(o.snapshotterLabels, {x: 'y'})
    assert.equal(o.syncFs, true)
    assert.equal(o.snapshotter, 'overlayfs')
    assert.deepEqual(o.runtime, {})
  })
  test('--rootfs: the first argument is a host directory, made absolute', () => {
    const o = make(['rel/root', 'c1', 'true'], {rootfs: true})
    assert.equal(o.image, undefined)
    assert.equal(o.rootfs, `${process.cwd()}/rel/root`)
  })
  test('--config: the ID alone; the spec-shaping flags are refused', () => {
    const o = make(['c1'], {config: 'spec.json', label: ['a=1'], runtime: 'io.containerd.runc.v1', 'no-pivot': true})
    assert.equal(o.specFile, `${process.cwd()}/spec.json`)
    assert.equal(o.id, 'c1')
    assert.deepEqual(o.runtime, {name: 'io.containerd.runc.v1', noPivot: true})
    invalid(() => make(['c1', 'extra'], {config: 'spec.json'}), 'with spec config file, only container id should be provided')
    invalid(() => make([], {config: 'spec.json'}), 'container id must be provided')
    invalid(() => make(['c1'], {config: 'spec.json', env: ['A=1']}), '--env cannot be used with --config: the spec file is used as is')
    invalid(() => make(['c1'], {config: 'spec.json', cgroup: ''}), /^--cgroup cannot/)
    invalid(() => make(['c1'], {config: 'spec.json', rootfs: true}), /^--rootfs cannot/)
  })
  test('positionals missing', () => {
    invalid(() => make([]), 'image ref must be provided')
    invalid(() => make(['busybox']), 'container id must be provided')
  })
  test('--rootfs has no image: --platform refused', () =>
    invalid(() => make(['/r', 'c1'], {rootfs: true, platform: 'linux/amd64'}), /^--platform cannot be used with --rootfs/))
  test('create refuses --pid-file (no task to start)', () =>
    invalid(() => make(['busybox', 'c1'], {'pid-file': '/tmp/p'}, 'create'), /containers create starts no task/))
  test('values: --cgroup "" is null, --with-ns, --uidmap, --rlimit-nofile, cpu flags, --device', () => {
    const o = make(['busybox', 'c1'], {
      cgroup: '',
      'with-ns': ['network:/run/netns/a'],
      uidmap: ['0:100000:65536'],
      gidmap: ['0:100000:65536'],
      'rlimit-nofile': '100:200',
      'cpu-quota': 50000,
      'cpu-period': 100000,
      'cpuset-cpus': '0',
      device: ['/dev/zero'],
      seccomp: true,
      'seccomp-profile': '/p.json',
    })
    const s = o.spec!
    assert.equal(s.cgroupsPath, null)
    assert.deepEqual(s.joinNamespaces, [{type: 'network', path: '/run/netns/a'}])
    assert.deepEqual(s.uidMappings, [{containerID: 0, hostID: 100000, size: 65536}])
    assert.deepEqual(s.rlimitNofile, {soft: 100, hard: 200})
    assert.deepEqual([s.cpuQuota, s.cpuPeriod, s.cpusetCpus], [50000, 100000, '0'])
    assert.deepEqual(s.devicePaths, ['/dev/zero'])
    assert.deepEqual([s.seccomp, s.seccompProfile], [true, '/p.json'])
  })
  test('refused flags travel to the lib, which says why', () => {
    const o = make(['busybox', 'c1'], {gpus: ['0'], sandbox: 's', 'blockio-class': 'x', 'remap-labels': true})
    assert.deepEqual(o.unsupported, {gpus: [0], sandbox: 's', blockioClass: 'x', remapLabels: true})
  })
  test('--dump-config "" stays empty (the lib refuses it), a path is made absolute', () => {
    assert.equal(make(['busybox', 'c1'], {'dump-config': ''}).dumpConfig, '')
    assert.equal(make(['busybox', 'c1'], {'dump-config': 'out.json'}).dumpConfig, `${process.cwd()}/out.json`)
  })
})

describe('parseAnnotationArgs (ctr AnnotationArgs)', () => {
  test('k=v only', () => {
    assert.deepEqual(parseAnnotationArgs(['a=1', 'b=x=y', 'c=']), {a: '1', b: 'x=y', c: ''})
    invalid(() => parseAnnotationArgs(['bare']), 'invalid key=value format annotation: bare')
  })
})
