// Parsers of ctr's textual run/create flag values, with ctr's error texts.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {isCdiDeviceName, parseIdMapping, parseLogUri, parseNamespaceFlag, parseRlimitNofile} from '../../../../src/lib/runtime/index.js'

const invalid = (fn: () => unknown, message: string | RegExp) =>
  assert.throws(fn, (e: Error) => {
    assert.equal(errorKind(e), 'invalid argument')
    if (typeof message === 'string') assert.equal(e.message, message)
    else assert.match(e.message, message)
    return true
  })

describe('parseNamespaceFlag (--with-ns)', () => {
  test('nstype:path, split at the first colon', () => {
    assert.deepEqual(parseNamespaceFlag('network:/run/netns/a'), {type: 'network', path: '/run/netns/a'})
    assert.deepEqual(parseNamespaceFlag('ipc:/x:y'), {type: 'ipc', path: '/x:y'})
    for (const t of ['pid', 'mount', 'uts', 'user', 'cgroup']) assert.equal(parseNamespaceFlag(`${t}:/p`).type, t)
  })
  test("ctr's errors", () => {
    invalid(() => parseNamespaceFlag('/run/netns/a'), "joining a Linux namespace using --with-ns requires the format 'nstype:path'")
    invalid(() => parseNamespaceFlag('net:/run/netns/a'), 'the Linux namespace type specified in --with-ns is not valid: net')
    invalid(() => parseNamespaceFlag('network:netns/a'), /must be absolute/)
  })
})

describe('parseIdMapping (--uidmap, --gidmap)', () => {
  test('container-id:host-id:size, in Go ParseUint base 0', () => {
    assert.deepEqual(parseIdMapping('0:100000:65536'), {containerID: 0, hostID: 100000, size: 65536})
    assert.deepEqual(parseIdMapping('0x10:0o20:0b11'), {containerID: 16, hostID: 16, size: 3})
    assert.deepEqual(parseIdMapping('010:1:1'), {containerID: 8, hostID: 1, size: 1})
  })
  test("ctr's errors", () => {
    invalid(() => parseIdMapping('0:1'), 'user namespace mappings require the format `container-id:host-id:size`')
    invalid(() => parseIdMapping('0:1:2:3'), 'user namespace mappings require the format `container-id:host-id:size`')
    invalid(() => parseIdMapping('a:1:2'), 'invalid container id for user namespace remapping: strconv.ParseUint: parsing "a": invalid syntax')
    invalid(() => parseIdMapping('0:-1:2'), /^invalid host id/)
    invalid(() => parseIdMapping('0:1:4294967296'), /^invalid size/)
    invalid(() => parseIdMapping('0:1:0'), /size must not be 0/)
  })
})

describe('parseRlimitNofile', () => {
  test('soft[:hard]', () => {
    assert.deepEqual(parseRlimitNofile('1024'), {soft: 1024, hard: 1024})
    assert.deepEqual(parseRlimitNofile('512:2048'), {soft: 512, hard: 2048})
  })
  test("ctr's error", () => {
    invalid(() => parseRlimitNofile('x'), 'failed to parse rlimit-nofile "x": strconv.ParseUint: parsing "x": invalid syntax')
    invalid(() => parseRlimitNofile('1:'), 'failed to parse rlimit-nofile "1:": strconv.ParseUint: parsing "": invalid syntax')
  })
})

describe('isCdiDeviceName', () => {
  const table: Array<[string, boolean]> = [
    ['nvidia.com/gpu=all', true],
    ['vendor.com/class=dev-0', true],
    ['example.com/net=eth0:1', true],
    ['/dev/zero', false],
    ['/dev/dri/card0', false],
    ['gpu=0', false],
    ['zero', false],
  ]
  for (const [v, want] of table) test(`${v} -> ${want}`, () => assert.equal(isCdiDeviceName(v), want))
})

describe('parseLogUri', () => {
  test('file:// and file: with an absolute path', () => {
    assert.deepEqual(parseLogUri('file:///var/log/x.log'), {file: '/var/log/x.log'})
    assert.deepEqual(parseLogUri('file:/tmp/a%20b'), {file: '/tmp/a b'})
  })
  test('binary:// with its query as arguments, a key alone when its value is empty', () => {
    assert.deepEqual(parseLogUri('binary:///usr/bin/logger'), {binary: '/usr/bin/logger', args: []})
    assert.deepEqual(parseLogUri('binary:///opt/log?dir=/var/log/x&verbose'), {binary: '/opt/log', args: ['dir', '/var/log/x', 'verbose']})
  })
  test('refusals', () => {
    invalid(() => parseLogUri('binary://host/logger'), /no host/)
    invalid(() => parseLogUri('fifo:///tmp/x'), 'unknown STDIO scheme fifo')
    invalid(() => parseLogUri('/tmp/x.log'), /not a URI/)
    invalid(() => parseLogUri('file://host/x'), /no host/)
    invalid(() => parseLogUri('file:///tmp/'), /absolute path of a file/)
  })
})
