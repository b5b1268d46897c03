// Why a process could not be executed: Berth's own look-up in a rootfs (checkExecutable) and runc's
// exec errors give the same reasons, and `ctr run` maps them to 127 / 126 (else 125).
import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {execFailureStatus, exitCodeFor, runFailureStatus} from '../../../../src/cli/exit-codes.js'
import {describe as text, FailedPrecondition, InvalidArgument} from '../../../../src/lib/errors/index.js'
import {execFailureReason, runcExecFailure, runtimeStartError} from '../../../../src/lib/runtime/exec-failure.js'
import {checkExecutable} from '../../../../src/lib/runtime/lookpath.js'
import type {Process} from '../../../../src/lib/runtime/oci-spec.js'

describe("runc's exec errors", () => {
  test('the four answers of exec.LookPath, and nothing else', () => {
    const cases: [string, string | undefined][] = [
      ['runc run failed: unable to start container process: exec: "nosuch": executable file not found in $PATH', 'not found'],
      ['unable to start container process: exec: "/nosuch": stat /nosuch: no such file or directory', 'not found'],
      ['unable to start container process: exec: "/etc/passwd": permission denied', 'cannot invoke'],
      ['unable to start container process: exec: "/bin": is a directory', 'cannot invoke'],
      ['unable to start container process: error during container init: error mounting "proc": permission denied', undefined],
      ['container_linux.go:380: starting container process caused: no such file or directory', undefined],
      ['', undefined],
    ]
    assert.deepEqual(
      cases.map(([m]) => runcExecFailure(m)),
      cases.map(([, r]) => r),
    )
  })

  test('runtimeStartError keeps the message and the kind; the reason rides along', () => {
    const e = runtimeStartError('OCI runtime create failed: exec: "x": executable file not found in $PATH')
    assert.equal(text(e), 'OCI runtime create failed: exec: "x": executable file not found in $PATH')
    assert.equal(exitCodeFor(e), 5, 'an ordinary failed precondition for every other command')
    assert.equal(execFailureReason(e), 'not found')
    assert.equal(execFailureReason(runtimeStartError('OCI runtime create failed: cgroup trouble')), undefined)
  })

  test("ctr run's statuses: 127, 126, else 125", () => {
    assert.equal(runFailureStatus(runtimeStartError('exec: "x": executable file not found in $PATH')), 127)
    assert.equal(runFailureStatus(runtimeStartError('exec: "/x": is a directory')), 126)
    assert.equal(runFailureStatus(new FailedPrecondition('something else')), 125)
    assert.equal(runFailureStatus(new InvalidArgument('bad')), 125)
    assert.equal(execFailureStatus(new Error('foreign')), undefined)
  })
})

describe("Berth's look-up in the rootfs (checkExecutable)", () => {
  const root = mkdtempSync(join(tmpdir(), 'berth-lookpath-'))
  after(() => rmSync(root, {recursive: true, force: true}))
  mkdirSync(join(root, 'bin'))
  mkdirSync(join(root, 'dir'))
  writeFileSync(join(root, 'bin', 'prog'), '#!/bin/sh\n')
  chmodSync(join(root, 'bin', 'prog'), 0o755)
  writeFileSync(join(root, 'bin', 'plain'), 'data\n')
  chmodSync(join(root, 'bin', 'plain'), 0o644)
  const env = ['PATH=/dir:/bin']
  const outcome = (args: string[], mounts: {destination: string; source: string; type: string}[] = []): [string, string] | 'ok' => {
    try {
      checkExecutable(root, {args, env, cwd: '/'} as Process, mounts, 'OCI runtime create failed')
      return 'ok'
    } catch (err) {
      return [String(execFailureReason(err)), text(err)]
    }
  }
  const msg = (cmd: string, why: string) => `OCI runtime create failed: unable to start container process: exec: ${JSON.stringify(cmd)}: ${why}`

  test('found, on $PATH or by path', () => {
    assert.equal(outcome(['prog']), 'ok')
    assert.equal(outcome(['/bin/prog']), 'ok')
    assert.equal(outcome(['bin/prog']), 'ok')
  })

  test("by path: missing is not found; a directory or a file without x bits cannot be invoked (runc's words)", () => {
    assert.deepEqual(outcome(['/nosuch']), ['not found', msg('/nosuch', 'stat /nosuch: no such file or directory')])
    assert.deepEqual(outcome(['/bin/plain']), ['cannot invoke', msg('/bin/plain', 'permission denied')])
    assert.deepEqual(outcome(['/dir']), ['cannot invoke', msg('/dir', 'is a directory')])
  })

  test('on $PATH a directory or a non-executable file is passed over, as exec.LookPath does: not found', () => {
    assert.deepEqual(outcome(['plain']), ['not found', msg('plain', 'executable file not found in $PATH')])
    assert.deepEqual(outcome(['nosuch']), ['not found', msg('nosuch', 'executable file not found in $PATH')])
  })

  test('a path under a mount is left to runc', () => {
    assert.equal(outcome(['/data/nosuch'], [{destination: '/data', source: '/tmp', type: 'bind'}]), 'ok')
  })
})
