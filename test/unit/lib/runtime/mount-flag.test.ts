// Table tests for parseMountFlag (ctr's --mount syntax, Go encoding/csv quoting).
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {parseMountFlag, type Mount} from '../../../../src/lib/runtime/index.js'

describe('parseMountFlag', () => {
  const good: Array<[string, Mount]> = [
    ['type=bind,src=/tmp,dst=/host,options=rbind:ro', {destination: '/host', type: 'bind', source: '/tmp', options: ['rbind', 'ro']}],
    ['type=bind,source=/a,destination=/b,options=bind', {destination: '/b', type: 'bind', source: '/a', options: ['bind']}],
    ['dst=/b,src=/a,type=bind,options=ro', {destination: '/b', type: 'bind', source: '/a', options: ['rbind', 'ro']}],
    ['type=bind,src=/a,dst=/b', {destination: '/b', type: 'bind', source: '/a', options: ['rbind']}],
    ['src=/a,dst=/b,options=rbind:rw', {destination: '/b', type: 'bind', source: '/a', options: ['rbind', 'rw']}],
    ['type=tmpfs,dst=/scratch,options=size=64m:mode=1777', {destination: '/scratch', type: 'tmpfs', options: ['size=64m', 'mode=1777']}],
    ['type=tmpfs,source=tmpfs,dst=/t', {destination: '/t', type: 'tmpfs', source: 'tmpfs'}],
    ['type=bind,src=/a,dst=/b,options=', {destination: '/b', type: 'bind', source: '/a', options: ['rbind']}],
    ['type=bind,src=/a,dst=/b,options=rbind::ro:', {destination: '/b', type: 'bind', source: '/a', options: ['rbind', 'ro']}],
    ['type=bind,src=/x,src=/a,dst=/b,options=rbind', {destination: '/b', type: 'bind', source: '/a', options: ['rbind']}],
    ['"type=bind","src=/with,comma","dst=/b",options=rbind', {destination: '/b', type: 'bind', source: '/with,comma', options: ['rbind']}],
    ['type=bind,"src=/say ""hi""",dst=/b,options=rbind', {destination: '/b', type: 'bind', source: '/say "hi"', options: ['rbind']}],
    ['type=bind,src=/a,dst=/b with space,options=rbind', {destination: '/b with space', type: 'bind', source: '/a', options: ['rbind']}],
    ['type=bind,src=/a=b,dst=/c,options=rbind', {destination: '/c', type: 'bind', source: '/a=b', options: ['rbind']}],
  ]
  for (const [spec, want] of good) test(`parses ${spec}`, () => assert.deepEqual(parseMountFlag(spec), want))

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['type=bind,src=/a,dst', /expected key=val, got "dst"/],
    ['bind', /expected key=val/],
    ['type=bind,src=/a,dst=/b,mode=ro', /mount option "mode" not supported/],
    ['type=bind,src=/a,target=/b', /mount option "target" not supported/],
    ['type=bind,src=/a', /destination \(dst\) is required/],
    ['type=bind,src=/a,dst=', /destination \(dst\) is required/],
    ['type=bind,src=/a,dst=relative', /must be an absolute path/],
    ['type=bind,dst=/b', /needs a source/],
    ['type=bind,src=rel,dst=/b', /source "rel" must be an absolute path/],
    ['src=/a,dst=/b', /type is required/],
    ['type=bind,src=/a",dst=/b', /bare " in non-quoted-field/],
    ['"type=bind,src=/a,dst=/b', /extraneous or missing " in quoted-field/],
    ['"type=bind"x,src=/a,dst=/b', /extraneous or missing " in quoted-field/],
  ]
  for (const [spec, message] of bad) {
    test(`rejects ${JSON.stringify(spec)}`, () =>
      assert.throws(
        () => parseMountFlag(spec),
        (err: Error) => errorKind(err) === 'invalid argument' && message.test(err.message),
      ))
  }
})
