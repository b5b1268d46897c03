// The spec template: render round trip and atomic, private writes.
import assert from 'node:assert/strict'
import {mkdtempSync, readdirSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {
  CAPABILITIES,
  DEFAULT_ROOT_PATH,
  TEMPLATE_FILE,
  buildSpec,
  readTemplate,
  renderSpec,
  writeBundleSpec,
  writeTemplate,
  type RuntimeSpec,
} from '../../../../src/lib/runtime/index.js'

const tmp = mkdtempSync(join(tmpdir(), 'berth-template-'))
after(() => rmSync(tmp, {recursive: true, force: true}))

const spec: RuntimeSpec = buildSpec(
  {namespace: 'default', id: 'tpl', image: {config: {Cmd: ['/bin/sh'], Env: ['SECRET=1']}}, hostname: 'h', annotations: {a: 'b'}, readOnly: true},
  {user: {uid: 1, gid: 2, additionalGids: [3]}, host: {nofileHard: 4096, capabilities: CAPABILITIES, hostname: 'x'}},
)

describe('renderSpec', () => {
  test('replaces only root.path', () => {
    const rendered = JSON.parse(renderSpec(JSON.stringify(spec), {rootfs: '/run/berth/mnt/tpl'})) as RuntimeSpec
    assert.deepEqual(rendered.root, {path: '/run/berth/mnt/tpl', readonly: true})
    assert.deepEqual({...rendered, root: spec.root}, spec)
    assert.deepEqual(Object.keys(rendered), Object.keys(spec))
  })
  test('is idempotent and pure', () => {
    const template = JSON.stringify(spec)
    const once = renderSpec(template, {rootfs: '/a'})
    assert.equal(renderSpec(once, {rootfs: '/a'}), once)
    assert.equal(JSON.parse(renderSpec(once, {rootfs: '/b'})).root.path, '/b')
    assert.equal(JSON.parse(template).root.path, DEFAULT_ROOT_PATH)
  })
  const bad: Array<[string, string, string]> = [
    ['relative rootfs', JSON.stringify(spec), 'invalid argument'],
    ['not JSON', '{', 'data loss'],
    ['not an object', '[]', 'data loss'],
    ['no root', '{"ociVersion":"1.0.2"}', 'data loss'],
    ['root not an object', '{"root":"x"}', 'data loss'],
  ]
  for (const [name, text, kind] of bad) {
    test(`rejects ${name}`, () =>
      assert.throws(
        () => renderSpec(text, {rootfs: name === 'relative rootfs' ? 'mnt' : '/mnt'}),
        (e) => errorKind(e) === kind,
      ))
  }
})

describe('writeTemplate / readTemplate', () => {
  test('round trip through the container directory', () => {
    const dir = mkdtempSync(join(tmp, 'c-'))
    writeTemplate(dir, spec)
    assert.deepEqual(JSON.parse(readTemplate(dir)), spec)
    assert.equal(statSync(join(dir, TEMPLATE_FILE)).mode & 0o777, 0o600)
    assert.deepEqual(readdirSync(dir), [TEMPLATE_FILE], 'no temp files left behind')
  })
  test('overwrites atomically and accepts JSON text', () => {
    const dir = mkdtempSync(join(tmp, 'c-'))
    writeTemplate(dir, spec)
    writeTemplate(dir, '{"root":{"path":"rootfs"}}')
    assert.equal(readTemplate(dir), '{"root":{"path":"rootfs"}}')
    assert.deepEqual(readdirSync(dir), [TEMPLATE_FILE])
  })
  test('template → render → bundle config.json', () => {
    const dir = mkdtempSync(join(tmp, 'c-'))
    const bundle = mkdtempSync(join(tmp, 'b-'))
    writeTemplate(dir, spec)
    writeBundleSpec(bundle, renderSpec(readTemplate(dir), {rootfs: '/mnt/x'}))
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')) as RuntimeSpec
    assert.equal(config.root.path, '/mnt/x')
    assert.deepEqual(config.process, spec.process)
  })
  test('missing template is not found', () => {
    assert.throws(
      () => readTemplate(join(tmp, 'nope')),
      (e: Error) => errorKind(e) === 'not found' && e.message.includes(TEMPLATE_FILE),
    )
  })
  test('missing directory fails without leaving anything', () => {
    assert.throws(() => writeTemplate(join(tmp, 'missing', 'dir'), spec), /ENOENT/)
  })
})
