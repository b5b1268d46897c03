// containerd's distribution-source labels: the key (hostname without port), appending a repository (sorted, no
// duplicates), and choosing the repository to mount from.
import assert from 'node:assert/strict'
import {test} from 'node:test'
import {parseReference} from '../../../../src/lib/oci/index.js'
import {appendDistributionSource, distributionSourceKey, selectMountCandidate} from '../../../../src/lib/registry/index.js'

test('the key names the registry hostname without its port', () => {
  assert.equal(distributionSourceKey('docker.io'), 'containerd.io/distribution.source.docker.io')
  assert.equal(distributionSourceKey('127.0.0.1:5000'), 'containerd.io/distribution.source.127.0.0.1')
  assert.equal(distributionSourceKey('localhost:5000'), 'containerd.io/distribution.source.localhost')
  assert.equal(distributionSourceKey('[::1]:5000'), 'containerd.io/distribution.source.[::1]')
})

test('appending keeps the list sorted and without duplicates', () => {
  const cases: [string | undefined, string, string][] = [
    [undefined, 'library/redis', 'library/redis'],
    ['', 'a/b', 'a/b'],
    ['library/redis', 'library/redis', 'library/redis'],
    ['library/redis', 'a/redis', 'a/redis,library/redis'],
    ['a,c', 'b', 'a,b,c'],
    ['c,a', 'a', 'a,c'],
  ]
  for (const [current, repo, want] of cases) assert.equal(appendDistributionSource(current, repo), want, `${current} + ${repo}`)
})

test('the mount candidate shares the most leading components with the target, never the target itself', () => {
  const key = 'containerd.io/distribution.source.127.0.0.1'
  const target = parseReference('127.0.0.1:5000/team/app/web:1')
  assert.equal(selectMountCandidate(target, undefined), undefined)
  assert.equal(selectMountCandidate(target, {[key]: ''}), undefined)
  assert.equal(selectMountCandidate(target, {[key]: 'team/app/web'}), undefined)
  assert.equal(selectMountCandidate(target, {[key]: 'library/busybox'}), 'library/busybox')
  assert.equal(selectMountCandidate(target, {[key]: 'library/busybox,team/app/api,team/base'}), 'team/app/api')
  // Ties go to the last one in the (sorted) list, as containerd picks.
  assert.equal(selectMountCandidate(target, {[key]: 'a/x,b/y'}), 'b/y')
  // Another registry's label does not count.
  assert.equal(selectMountCandidate(target, {'containerd.io/distribution.source.docker.io': 'team/app/api'}), undefined)
})
