// `ctr plugins ls` layout: ctr's tabwriter (4, 8, 4, ' ') table and its --detailed form.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {formatPluginDetails, formatPluginTable, prettyPlatforms} from '../../../src/cli/plugins.js'
import {pluginStatus, type PluginInfo} from '../../../src/lib/introspection/index.js'

const content: PluginInfo = {type: 'io.containerd.content.v1', id: 'content', requires: [], platforms: [], exports: {root: '/r/content'}, capabilities: []}
const overlay: PluginInfo = {
  type: 'io.containerd.snapshotter.v1',
  id: 'overlayfs',
  requires: [],
  platforms: [{os: 'linux', architecture: 'amd64'}],
  exports: {root: '/r/s'},
  capabilities: [],
  initError: {code: 'Unknown', message: 'failed to mount overlay: EPERM: skip plugin'},
}
const sp = (n: number) => ' '.repeat(n)

describe('plugins rendering', () => {
  test('status: ok, skip (ErrSkipPlugin), error', () => {
    assert.equal(pluginStatus(content), 'ok')
    assert.equal(pluginStatus(overlay), 'skip')
    assert.equal(pluginStatus({...content, initError: {code: 'Unknown', message: 'broken'}}), 'error')
  })

  test('platforms: formatted, deduplicated, sorted; - when none', () => {
    assert.equal(prettyPlatforms(content), '-')
    const arm = {os: 'linux', architecture: 'arm64', variant: 'v8'}
    assert.equal(prettyPlatforms({...content, platforms: [arm, {os: 'linux', architecture: 'amd64'}, arm]}), 'linux/amd64,linux/arm64/v8')
  })

  test('the table: every column is its widest cell plus 4', () => {
    assert.equal(
      formatPluginTable([content, overlay]),
      `TYPE${sp(28)}ID${sp(11)}PLATFORMS${sp(6)}STATUS${sp(4)}\n` +
        `io.containerd.content.v1${sp(8)}content${sp(6)}-${sp(14)}ok${sp(8)}\n` +
        `io.containerd.snapshotter.v1${sp(4)}overlayfs${sp(4)}linux/amd64${sp(4)}skip${sp(6)}\n`,
    )
  })

  test("--detailed: ctr's Fprintln lines through the same tabwriter", () => {
    // Column 0 is one block over every line ("Platforms:" is widest: 10 + 4); the second column
    // is a block per run of lines with a cell there (exports with the separator, the error's).
    assert.equal(
      formatPluginDetails([content, overlay]),
      [
        `Type:${sp(9)} io.containerd.content.v1`,
        `ID:${sp(11)} content`,
        `Exports:${sp(6)}`,
        `${sp(14)} root ${sp(4)} /r/content`,
        `${sp(14)}${sp(10)}${sp(4)}`,
        `Type:${sp(9)} io.containerd.snapshotter.v1`,
        `ID:${sp(11)} overlayfs`,
        `Platforms:${sp(4)} linux/amd64`,
        `Exports:${sp(6)}`,
        `${sp(14)} root ${sp(4)} /r/s`,
        `Error:${sp(8)}`,
        `${sp(14)} Code:${sp(7)} Unknown`,
        `${sp(14)} Message:${sp(4)} failed to mount overlay: EPERM: skip plugin`,
        '',
      ].join('\n'),
    )
  })
})
