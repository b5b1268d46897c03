import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {interpret, loadConfig, parseDuration} from '../../../src/lib/config/index.js'
import {describe as text, errorKind} from '../../../src/lib/errors/index.js'

const dir = mkdtempSync(join(tmpdir(), 'berth-config-'))
after(() => rmSync(dir, {recursive: true, force: true}))

describe('config', () => {
  test('defaults', () => {
    const c = interpret({})
    assert.equal(c.contentSharingPolicy, 'shared')
    assert.equal(c.eventRetentionRows, 100_000)
    assert.equal(c.eventRetentionSeconds, 7 * 24 * 3600)
  })
  test('a file sets the policy and retention', async () => {
    const path = join(dir, 'a.toml')
    writeFileSync(path, 'content_sharing_policy = "isolated"\n[events]\nretention = "1h"\nmax_rows = 50\n')
    const c = await loadConfig(path)
    assert.equal(c.source, path)
    assert.equal(c.contentSharingPolicy, 'isolated')
    assert.equal(c.eventRetentionSeconds, 3600)
    assert.equal(c.eventRetentionRows, 50)
  })
  test('bad values are refused', async () => {
    const path = join(dir, 'b.toml')
    writeFileSync(path, 'content_sharing_policy = "everyone"\n')
    await assert.rejects(loadConfig(path), (err) => errorKind(err) === 'invalid argument' && text(err).includes('content_sharing_policy'))
    writeFileSync(path, 'this is = not toml [\n')
    await assert.rejects(loadConfig(path), (err) => errorKind(err) === 'invalid argument')
  })
  test('a missing explicit file is not found', async () => {
    await assert.rejects(loadConfig(join(dir, 'missing.toml')), (err) => errorKind(err) === 'not found')
  })
  test('durations', () => {
    assert.equal(parseDuration('168h'), 168 * 3600e3)
    assert.equal(parseDuration('1h30m10s'), 5410e3)
    assert.equal(parseDuration('250ms'), 250)
    assert.equal(parseDuration('7d'), 7 * 86400e3)
    assert.throws(
      () => parseDuration('7 days'),
      (err) => errorKind(err) === 'invalid argument',
    )
  })
})
