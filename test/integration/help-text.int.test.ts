// Help as ctr's reads: the root help lists the global flags, usage lines are ctr's (`run` is
// `IMAGE|ROOTFS ID [COMMAND] [ARG...]`, no list of every flag), descriptions are wrapped once.
import assert from 'node:assert/strict'
import {after, describe, test} from 'node:test'
import {sandbox} from '../helpers/cli.js'

describe('help text', () => {
  const sb = sandbox()
  after(() => sb.cleanup())
  const help = (args: string[]) => {
    const r = sb.run(args, {env: {OCLIF_COLUMNS: '80'}})
    assert.equal(r.code, 0, r.stderr)
    return r.stdout
  }

  test('root --help lists the global flags', () => {
    const text = help(['--help'])
    const section = text.slice(text.indexOf('GLOBAL FLAGS\n'))
    for (const flag of [
      '-n, --namespace=<value>',
      '--root=<value>',
      '--state=<value>',
      '--berth-config=<value>',
      '--debug',
      '-a, --address=<value>',
      '--timeout=<value>',
      '--connect-timeout=<value>',
      '-h, --help',
      '-v, --version',
    ]) {
      assert.ok(section.includes(flag), `${flag} in:\n${section}`)
    }
    assert.match(section, /\[env: CONTAINERD_NAMESPACE\]/)
  })

  test("usage lines are ctr's", () => {
    assert.match(help(['run', '--help']), /USAGE\n {2}\$ ctr run \[flags\] IMAGE\|ROOTFS ID \[COMMAND\] \[ARG\.\.\.\]\n/)
    assert.match(help(['containers', 'create', '--help']), /USAGE\n {2}\$ ctr containers create \[flags\] IMAGE\|ROOTFS ID \[COMMAND\] \[ARG\.\.\.\]\n/)
    assert.match(help(['tasks', 'exec', '--help']), /USAGE\n {2}\$ ctr tasks exec \[flags\] CONTAINER CMD \[ARG\.\.\.\]\n/)
    assert.match(help(['images', 'pull', '--help']), /USAGE\n {2}\$ ctr images pull \[flags\] REF\n/)
  })

  test('descriptions are wrapped once, to the terminal', () => {
    const text = help(['run', '--help'])
    const description = text
      .slice(text.indexOf('DESCRIPTION\n') + 'DESCRIPTION\n'.length)
      .split('\n\n')[1]
      .split('\n')
    assert.ok(description.length >= 3, description.join('\n'))
    // Every line but the paragraph's last is filled close to 80 columns: no short lines left
    // over from the source's own line breaks.
    for (const line of description.slice(0, -1)) assert.ok(line.length > 60, `short line ${JSON.stringify(line)}`)
  })
})
