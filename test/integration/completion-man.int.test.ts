// Completion and manual: `ctr completion bash|zsh|fish`, urfave/cli's --generate-bash-completion
// protocol (what Debian's ctr bash completion sends), bash really completing through the
// generated script, and the man pages built into dist/man rendering with man -l.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, symlinkSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {CTR_BIN, REPO_ROOT, sandbox} from '../helpers/cli.js'

describe('completion', () => {
  const sb = sandbox()
  const bin = join(sb.dir, 'bin')
  before(() => {
    mkdirSync(bin)
    symlinkSync(CTR_BIN, join(bin, 'ctr'))
    sb.ok(['namespaces', 'create', 'team-a'])
    sb.ok(['-n', 'team-a', 'leases', 'create', '--id', 'lease-one'])
  })
  after(() => sb.cleanup())
  const words = (args: string[]) =>
    sb
      .ok([...args, '--generate-bash-completion'])
      .split('\n')
      .filter(Boolean)

  test('--generate-bash-completion answers commands, subcommands, flags and ids, one a line', () => {
    assert.ok(words([]).includes('images') && words([]).includes('run') && words([]).includes('ns'))
    assert.deepEqual(words(['images']).slice(0, 3), ['check', 'convert', 'export'])
    assert.ok(words(['i']).includes('pull'), 'a topic alias completes like its topic')
    const pullFlags = words(['images', 'pull', '--pl'])
    assert.ok(pullFlags.includes('--platform') && pullFlags.includes('--plain-http'), pullFlags.join(' '))
    assert.ok(words(['namespaces', 'rm']).includes('team-a'))
    assert.deepEqual(words(['-n', 'team-a', 'leases', 'rm']), ['lease-one'])
    assert.deepEqual(words(['--namespace=team-a', 'leases', 'rm']), ['lease-one'])
    assert.deepEqual(words(['leases', 'rm']), [])
    assert.deepEqual(words(['completion']), ['bash', 'zsh', 'fish'])
  })

  for (const [shell, marks] of [
    ['bash', ['complete -o default -F _ctr_berth ctr berth', '--generate-bash-completion']],
    ['zsh', ['#compdef ctr berth', 'compdef _ctr_berth ctr berth']],
    ['fish', ["complete -c ctr -f -a '(__ctr_berth_complete)'", '--generate-bash-completion']],
  ] as const) {
    test(`ctr completion ${shell} prints the ${shell} script`, () => {
      const script = sb.ok(['completion', shell])
      for (const m of marks) assert.ok(script.includes(m), `${m} in:\n${script}`)
      if (shell === 'bash') assert.equal(spawnSync('bash', ['-n'], {input: script}).status, 0)
    })
  }

  test('ctr completion with an unknown shell is a usage error', () => {
    const r = sb.run(['completion', 'tcsh'])
    assert.equal(r.code, 2)
    assert.equal(r.stderr, 'ctr: unsupported shell "tcsh": use bash, zsh or fish\n')
  })

  /** Complete `line` (the words before the cursor and the current word) in bash with `setup` sourced. */
  const bashComplete = (setup: string, line: string[]) => {
    const script = `${setup}
complete -p ctr
COMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')})
COMP_CWORD=${line.length - 1}
fn=$(complete -p ctr | sed -E 's/.* -F ([^ ]+) .*/\\1/')
$fn
printf '%s\\n' "\${COMPREPLY[@]}"`
    const r = spawnSync('bash', ['-c', script], {env: {...sb.env, PATH: `${bin}:${process.env['PATH']}`}, encoding: 'utf8'})
    assert.equal(r.status, 0, r.stderr)
    const [spec, ...reply] = r.stdout.trim().split('\n')
    return {spec: spec, reply: reply.sort()}
  }

  test('bash completes through the generated script (complete -p, compgen)', () => {
    const setup = `source <(ctr completion bash)`
    const {spec, reply} = bashComplete(setup, ['ctr', 'ima'])
    assert.match(spec, /^complete -o default -F _ctr_berth ctr$/)
    assert.deepEqual(reply, ['image', 'images'])
    assert.deepEqual(bashComplete(setup, ['ctr', 'images', 'pu']).reply, ['pull', 'push'])
    assert.deepEqual(bashComplete(setup, ['ctr', '-n', 'team-a', 'leases', 'rm', '']).reply, ['lease-one'])
    assert.deepEqual(bashComplete(setup, ['ctr', 'images', 'pull', '--all-p']).reply, ['--all-platforms'])
  })

  test('fish completes through the generated script (complete -C)', () => {
    const complete = (line: string) => {
      const r = spawnSync('fish', ['-c', `source (ctr completion fish | psub); complete -C${JSON.stringify(line)}`], {
        env: {...sb.env, PATH: `${bin}:${process.env['PATH']}`},
        encoding: 'utf8',
      })
      assert.equal(r.status, 0, r.stderr)
      return r.stdout.split('\n').filter(Boolean).sort()
    }
    assert.deepEqual(complete('ctr ima'), ['image', 'images'])
    assert.deepEqual(complete('ctr images pu'), ['pull', 'push'])
    assert.deepEqual(complete('ctr -n team-a leases rm '), ['lease-one'])
    assert.deepEqual(complete('ctr images pull --all-p'), ['--all-platforms'])
  })

  test('zsh runs the generated script: _ctr_berth hands compadd the candidates (zsh filters by prefix)', () => {
    // compadd and compdef exist only inside zsh's completion system: stand-ins print what they get.
    const candidates = (words: string[]) => {
      const script = [
        'compdef() { :; }',
        'compadd() { [[ $1 == -a ]] && print -l -- ${(P)2}; }',
        'source <(ctr completion zsh)',
        `words=(${words.map((w) => `'${w}'`).join(' ')}); CURRENT=${words.length}`,
        '_ctr_berth',
      ].join('\n')
      const r = spawnSync('zsh', ['-c', script], {env: {...sb.env, PATH: `${bin}:${process.env['PATH']}`}, encoding: 'utf8'})
      assert.equal(r.status, 0, r.stderr)
      return r.stdout.split('\n').filter(Boolean)
    }
    assert.ok(candidates(['ctr', 'ima']).includes('images'))
    assert.deepEqual(candidates(['ctr', 'images', 'pu']).slice(0, 3), ['check', 'convert', 'export'])
    assert.deepEqual(candidates(['ctr', '-n', 'team-a', 'leases', 'rm', '']), ['lease-one'])
    assert.ok(candidates(['ctr', 'images', 'pull', '--all-p']).includes('--all-platforms'))
  })

  test("bash completes through urfave/cli's script, as Debian's containerd package ships it", () => {
    // The protocol driver of urfave/cli's autocomplete/bash_autocomplete (contrib/autocomplete/ctr).
    const setup = `_cli_bash_autocomplete() {
  local cur opts
  COMPREPLY=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  if [[ "$cur" == "-"* ]]; then
    opts=$( \${COMP_WORDS[@]:0:$COMP_CWORD} \${cur} --generate-bash-completion )
  else
    opts=$( \${COMP_WORDS[@]:0:$COMP_CWORD} --generate-bash-completion )
  fi
  COMPREPLY=( $(compgen -W "\${opts}" -- \${cur}) )
  return 0
}
complete -o bashdefault -o default -o nospace -F _cli_bash_autocomplete ctr`
    assert.deepEqual(bashComplete(setup, ['ctr', 'snap']).reply, ['snapshot', 'snapshots'])
    assert.deepEqual(bashComplete(setup, ['ctr', 'namespaces', 'rm', 'team']).reply, ['team-a'])
    assert.deepEqual(bashComplete(setup, ['ctr', 'run', '--rm', '--net-h']).reply, ['--net-host'])
  })
})

describe('man pages', () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {man: string[]; files: string[]}

  test('package.json ships every built page (npm installs the "man" field)', () => {
    assert.ok(pkg.man.includes('./dist/man/ctr.1') && pkg.man.includes('./dist/man/ctr-images.1'))
    for (const page of pkg.man) assert.ok(existsSync(join(REPO_ROOT, page)), page)
    assert.ok(pkg.files.includes('dist'))
  })

  for (const [page, expect] of [
    ['ctr.1', [/^NAME\n {7}ctr - /m, /GLOBAL OPTIONS\n/, /-n, --namespace=VALUE/, /images +manage images/, /ctr-images\(1\)/]],
    ['ctr-images.1', [/^NAME\n {7}ctr-images - manage images/m, /^ {3}pull\n {7}ctr images pull \[flags\] REF\n/m, /--platform=VALUE/]],
    ['ctr-run.1', [/ctr run \[flags\] IMAGE\|ROOTFS ID \[COMMAND\] \[ARG\.\.\.\]/, /--rm/]],
  ] as const) {
    test(`man -l renders ${page}`, () => {
      const r = spawnSync('man', ['-l', join(REPO_ROOT, 'dist', 'man', page)], {
        env: {...process.env, MANWIDTH: '100', MANPAGER: 'cat', PAGER: 'cat', MAN_KEEP_FORMATTING: ''},
        encoding: 'utf8',
      })
      assert.equal(r.status, 0, r.stderr)
      assert.equal(r.stderr, '')
      const text = r.stdout.replace(/.\u0008/g, '') // overstrike bold and underline
      for (const e of expect) assert.match(text, e)
    })
  }
})
