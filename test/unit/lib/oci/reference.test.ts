// Table tests for parseReference, ported from distribution/reference normalize_test.go and reference_test.go.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {isValidTag, parseReference, registryHost} from '../../../../src/lib/oci/index.js'

const F64 = 'f'.repeat(64)
const SHA = `sha256:${F64}`
const REDIS_DIGEST = 'sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c'
const BUSYBOX_DIGEST = 'sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa'
const SHA512 = `sha512:${'f'.repeat(128)}`

// input -> canonical string (toString)
const accepted: [string, string][] = [
  // the brief's examples
  ['redis', 'docker.io/library/redis:latest'],
  ['user/repo', 'docker.io/user/repo:latest'],
  ['redis:7', 'docker.io/library/redis:7'],
  [`redis@${REDIS_DIGEST}`, `docker.io/library/redis@${REDIS_DIGEST}`],
  [`redis:7@${REDIS_DIGEST}`, `docker.io/library/redis:7@${REDIS_DIGEST}`],
  ['localhost:5000/x', 'localhost:5000/x:latest'],
  ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest'],
  ['[::1]:5000/x', '[::1]:5000/x:latest'],
  ['localhost/x', 'localhost/x:latest'],
  ['localhost', 'docker.io/library/localhost:latest'],
  ['localhost:5000', 'docker.io/library/localhost:5000'],
  // TestValidateReferenceName (valid)
  ['docker/docker', 'docker.io/docker/docker:latest'],
  ['library/debian', 'docker.io/library/debian:latest'],
  ['debian', 'docker.io/library/debian:latest'],
  ['docker.io/docker/docker', 'docker.io/docker/docker:latest'],
  ['docker.io/library/debian', 'docker.io/library/debian:latest'],
  ['docker.io/debian', 'docker.io/library/debian:latest'],
  ['index.docker.io/docker/docker', 'docker.io/docker/docker:latest'],
  ['index.docker.io/library/debian', 'docker.io/library/debian:latest'],
  ['index.docker.io/debian', 'docker.io/library/debian:latest'],
  ['127.0.0.1:5000/docker/docker', '127.0.0.1:5000/docker/docker:latest'],
  ['127.0.0.1:5000/library/debian', '127.0.0.1:5000/library/debian:latest'],
  ['127.0.0.1:5000/debian', '127.0.0.1:5000/debian:latest'],
  ['192.168.0.1', 'docker.io/library/192.168.0.1:latest'],
  ['192.168.0.1:80', 'docker.io/library/192.168.0.1:80'],
  ['192.168.0.1:8/debian', '192.168.0.1:8/debian:latest'],
  ['192.168.0.2:25000/debian', '192.168.0.2:25000/debian:latest'],
  [
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    'docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev:latest',
  ],
  ['[fc00::1]:5000/docker', '[fc00::1]:5000/docker:latest'],
  ['[fc00::1]:5000/docker/docker', '[fc00::1]:5000/docker/docker:latest'],
  ['[fc00:1:2:3:4:5:6:7]:5000/library/debian', '[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest'],
  [
    'docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
    'docker.io/library/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a:latest',
  ],
  ['Docker/docker', 'Docker/docker:latest'],
  ['DOCKER/docker', 'DOCKER/docker:latest'],
  // TestValidateRemoteName (valid)
  ['docker-rules/docker', 'docker.io/docker-rules/docker:latest'],
  ['docker---rules/docker', 'docker.io/docker---rules/docker:latest'],
  ['doc/docker', 'docker.io/doc/docker:latest'],
  ['d/docker', 'docker.io/d/docker:latest'],
  ['jess/t', 'docker.io/jess/t:latest'],
  ['dock__er/docker', 'docker.io/dock__er/docker:latest'],
  // TestParseAnyReference (named cases)
  ['redis:latest', 'docker.io/library/redis:latest'],
  ['docker.io/library/redis:latest', 'docker.io/library/redis:latest'],
  [`docker.io/library/redis@${REDIS_DIGEST}`, `docker.io/library/redis@${REDIS_DIGEST}`],
  ['dmcgowan/myapp', 'docker.io/dmcgowan/myapp:latest'],
  ['dmcgowan/myapp:latest', 'docker.io/dmcgowan/myapp:latest'],
  [`dmcgowan/myapp@${REDIS_DIGEST}`, `docker.io/dmcgowan/myapp@${REDIS_DIGEST}`],
  [
    'dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9',
    'docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9:latest',
  ],
  ['dbcc1', 'docker.io/library/dbcc1:latest'],
  // TestParseReferenceWithTagAndDigest
  [`busybox:latest@${BUSYBOX_DIGEST}`, `docker.io/library/busybox:latest@${BUSYBOX_DIGEST}`],
  // TestReferenceParse (valid cases, normalized)
  ['test_com', 'docker.io/library/test_com:latest'],
  ['test.com:tag', 'docker.io/library/test.com:tag'],
  ['test.com:5000', 'docker.io/library/test.com:5000'],
  ['test.com/repo:tag', 'test.com/repo:tag'],
  ['test:5000/repo', 'test:5000/repo:latest'],
  ['test:5000/repo:tag', 'test:5000/repo:tag'],
  [`test:5000/repo@${SHA}`, `test:5000/repo@${SHA}`],
  [`test:5000/repo:tag@${SHA}`, `test:5000/repo:tag@${SHA}`],
  ['lowercase:Uppercase', 'docker.io/library/lowercase:Uppercase'],
  ['sub-dom1.foo.com/bar/baz/quux', 'sub-dom1.foo.com/bar/baz/quux:latest'],
  ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com/bar/baz/quux:some-long-tag'],
  ['b.gcr.io/test.example.com/my-app:test.example.com', 'b.gcr.io/test.example.com/my-app:test.example.com'],
  ['xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com/myimage:xn--n3h.com'],
  [`xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`, `xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`],
  ['foo_bar.com:8080', 'docker.io/library/foo_bar.com:8080'],
  ['foo/foo_bar.com:8080', 'docker.io/foo/foo_bar.com:8080'],
  ['192.168.1.1', 'docker.io/library/192.168.1.1:latest'],
  ['192.168.1.1:tag', 'docker.io/library/192.168.1.1:tag'],
  ['192.168.1.1:5000', 'docker.io/library/192.168.1.1:5000'],
  ['192.168.1.1/repo', '192.168.1.1/repo:latest'],
  ['192.168.1.1:5000/repo', '192.168.1.1:5000/repo:latest'],
  ['192.168.1.1:5000/repo:5050', '192.168.1.1:5000/repo:5050'],
  ['[2001:db8::1]/repo', '[2001:db8::1]/repo:latest'],
  ['[2001:db8:1:2:3:4:5:6]/repo:tag', '[2001:db8:1:2:3:4:5:6]/repo:tag'],
  ['[2001:db8::1]:5000/repo', '[2001:db8::1]:5000/repo:latest'],
  ['[2001:db8::1]:5000/repo:tag', '[2001:db8::1]:5000/repo:tag'],
  [`[2001:db8::1]:5000/repo@${SHA}`, `[2001:db8::1]:5000/repo@${SHA}`],
  [`[2001:db8::1]:5000/repo:tag@${SHA}`, `[2001:db8::1]:5000/repo:tag@${SHA}`],
  ['[2001:db8::]:5000/repo', '[2001:db8::]:5000/repo:latest'],
  ['[::1]:5000/repo', '[::1]:5000/repo:latest'],
  // tag grammar edges
  [`redis:${'a'.repeat(128)}`, `docker.io/library/redis:${'a'.repeat(128)}`],
  ['redis:_x', 'docker.io/library/redis:_x'],
  ['redis:1.2-rc_3', 'docker.io/library/redis:1.2-rc_3'],
  // total name length: exactly 255 is fine
  [`example.com/${'a'.repeat(243)}`, `example.com/${'a'.repeat(243)}:latest`],
]

// input -> message after `invalid reference "<input>": `
const rejected: [string, string][] = [
  ['', 'invalid reference format'],
  ['Foo:bar', 'repository name must be lowercase'],
  ['Uppercase:tag', 'repository name must be lowercase'],
  ['test:5000/Uppercase/lowercase:tag', 'repository name must be lowercase'],
  ['docker/Docker', 'repository name must be lowercase'],
  ['docker.io/docker/Docker', 'repository name must be lowercase'],
  ['https://github.com/docker/docker', 'invalid reference format'],
  ['-docker', 'invalid reference format'],
  ['-docker/docker', 'invalid reference format'],
  ['-docker.io/docker/docker', 'invalid reference format'],
  ['docker///docker', 'invalid reference format'],
  ['docker.io/docker///docker', 'invalid reference format'],
  ['[fc00::1]', 'invalid reference format'],
  ['[fc00::1]:5000', 'invalid reference format'],
  ['fc00::1:5000/debian', 'invalid reference format'],
  ['[fe80::1%eth0]:5000/debian', 'invalid reference format'],
  ['[2001:db8:3:4::192.0.2.33]:5000/debian', 'invalid reference format'],
  ['1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a', 'cannot specify 64-byte hexadecimal strings'],
  ['docker-/docker', 'invalid reference format'],
  ['-docker-/docker', 'invalid reference format'],
  ['____/____', 'invalid reference format'],
  ['_docker/_docker', 'invalid reference format'],
  ['dock..er/docker', 'invalid reference format'],
  ['dock_.er/docker', 'invalid reference format'],
  ['dock-.er/docker', 'invalid reference format'],
  ['docker/', 'invalid reference format'],
  [
    'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_' +
      'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_' +
      'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_' +
      'this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker',
    'repository name must not be more than 255 characters',
  ],
  [':justtag', 'invalid reference format'],
  [`@${SHA}`, 'invalid reference format'],
  ['repo@sha256:ffffffffffffffffffffffffffffffffff', 'invalid checksum digest length'],
  [`validname@invaliddigest:${F64}`, 'unsupported digest algorithm'],
  [`repo@sha256:${'F'.repeat(64)}`, 'invalid checksum digest format'],
  ['repo@sha256:abc', 'invalid reference format'],
  [`${'a/'.repeat(128)}a:tag`, 'repository name must not be more than 255 characters'],
  [`${'a/'.repeat(127)}a:tag-puts-this-over-max`, 'repository name must not be more than 255 characters'],
  [`example.com/${'a'.repeat(244)}`, 'repository name must not be more than 255 characters'],
  ['aa/asdf$$^/aa', 'invalid reference format'],
  ['[2001:db8::1]', 'invalid reference format'],
  ['[2001:db8::1]:5000', 'invalid reference format'],
  ['[2001:db8::1]:tag', 'invalid reference format'],
  ['[fe80::1%eth0]:5000/repo', 'invalid reference format'],
  ['[fe80::1%@invalidzone]:5000/repo', 'invalid reference format'],
  [`redis:${'a'.repeat(129)}`, 'invalid reference format'],
  ['redis:-x', 'invalid reference format'],
  ['redis:.x', 'invalid reference format'],
  ['redis:', 'invalid reference format'],
  ['redis@', 'invalid reference format'],
  [' redis', 'invalid reference format'],
  ['redis ', 'invalid reference format'],
]

describe('parseReference', () => {
  for (const [input, canonical] of accepted) {
    test(`accepts ${JSON.stringify(input.length > 80 ? `${input.slice(0, 80)}…` : input)}`, () => {
      const ref = parseReference(input)
      assert.equal(ref.toString(), canonical)
      assert.equal(String(ref), canonical)
      assert.equal(`${ref.domain}/${ref.path}`, ref.name)
      assert.ok(Object.isFrozen(ref))
      // the canonical form is a fixed point
      assert.equal(parseReference(canonical).toString(), canonical)
    })
  }

  for (const [input, reason] of rejected) {
    test(`rejects ${JSON.stringify(input.length > 80 ? `${input.slice(0, 80)}…` : input)}`, () => {
      assert.throws(
        () => parseReference(input),
        (err: unknown) => {
          assert.equal(errorKind(err), 'invalid argument')
          assert.equal((err as Error).message, `invalid reference ${JSON.stringify(input)}: ${reason}`)
          return true
        },
      )
    })
  }

  test('fields of a reference with tag and digest', () => {
    const ref = parseReference(`busybox:latest@${BUSYBOX_DIGEST}`)
    assert.deepEqual(
      {domain: ref.domain, path: ref.path, tag: ref.tag, digest: ref.digest, name: ref.name},
      {domain: 'docker.io', path: 'library/busybox', tag: 'latest', digest: BUSYBOX_DIGEST, name: 'docker.io/library/busybox'},
    )
    assert.equal(ref.familiarString(), `busybox:latest@${BUSYBOX_DIGEST}`)
  })

  test('a digest-only reference gets no default tag', () => {
    const ref = parseReference(`redis@${REDIS_DIGEST}`)
    assert.equal(ref.tag, undefined)
    assert.equal(ref.digest, REDIS_DIGEST)
    assert.equal('tag' in ref, false)
  })

  test('JSON form carries the data fields', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(parseReference('quay.io/a/b:1'))), {
      domain: 'quay.io',
      path: 'a/b',
      tag: '1',
      name: 'quay.io/a/b',
    })
  })
})

describe('domain and path (TestNormalizedSplitHostname)', () => {
  const cases: [string, string, string][] = [
    ['test.com/foo', 'test.com', 'foo'],
    ['test_com/foo', 'docker.io', 'test_com/foo'],
    ['docker/migrator', 'docker.io', 'docker/migrator'],
    ['test.com:8080/foo', 'test.com:8080', 'foo'],
    ['test-com:8080/foo', 'test-com:8080', 'foo'],
    ['foo', 'docker.io', 'library/foo'],
    ['xn--n3h.com/foo', 'xn--n3h.com', 'foo'],
    ['xn--n3h.com:18080/foo', 'xn--n3h.com:18080', 'foo'],
    ['docker.io/foo', 'docker.io', 'library/foo'],
    ['docker.io/library/foo', 'docker.io', 'library/foo'],
    ['docker.io/library/foo/bar', 'docker.io', 'library/foo/bar'],
    ['localhost/foo', 'localhost', 'foo'],
    ['[::1]:5000/foo/bar', '[::1]:5000', 'foo/bar'],
  ]
  for (const [input, domain, path] of cases) {
    test(input, () => {
      const ref = parseReference(input)
      assert.equal(ref.domain, domain)
      assert.equal(ref.path, path)
    })
  }
})

describe('familiar names (TestParseRepositoryInfo)', () => {
  // [remote path, familiar, full, ambiguous spellings, domain]
  const cases: [string, string, string, string[], string][] = [
    ['fooo/bar', 'fooo/bar', 'docker.io/fooo/bar', ['index.docker.io/fooo/bar'], 'docker.io'],
    ['library/ubuntu', 'ubuntu', 'docker.io/library/ubuntu', ['library/ubuntu'], 'docker.io'],
    ['nonlibrary/ubuntu', 'nonlibrary/ubuntu', 'docker.io/nonlibrary/ubuntu', [], 'docker.io'],
    ['other/library', 'other/library', 'docker.io/other/library', [], 'docker.io'],
    ['private/moonbase', '127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase', [], '127.0.0.1:8000'],
    ['privatebase', '127.0.0.1:8000/privatebase', '127.0.0.1:8000/privatebase', [], '127.0.0.1:8000'],
    ['private/moonbase', 'example.com/private/moonbase', 'example.com/private/moonbase', [], 'example.com'],
    ['privatebase', 'example.com/privatebase', 'example.com/privatebase', [], 'example.com'],
    ['private/moonbase', 'example.com:8000/private/moonbase', 'example.com:8000/private/moonbase', [], 'example.com:8000'],
    ['privatebasee', 'example.com:8000/privatebasee', 'example.com:8000/privatebasee', [], 'example.com:8000'],
    ['library/ubuntu-12.04-base', 'ubuntu-12.04-base', 'docker.io/library/ubuntu-12.04-base', ['index.docker.io/library/ubuntu-12.04-base'], 'docker.io'],
    ['library/foo', 'foo', 'docker.io/library/foo', ['docker.io/foo'], 'docker.io'],
    ['library/foo/bar', 'library/foo/bar', 'docker.io/library/foo/bar', [], 'docker.io'],
    ['store/foo/bar', 'store/foo/bar', 'docker.io/store/foo/bar', [], 'docker.io'],
    ['bar', 'Foo/bar', 'Foo/bar', [], 'Foo'],
    ['bar', 'FOO/bar', 'FOO/bar', [], 'FOO'],
  ]
  for (const [path, familiar, full, ambiguous, domain] of cases) {
    for (const input of [familiar, full, ...ambiguous]) {
      test(input, () => {
        const ref = parseReference(input)
        assert.equal(ref.familiarName(), familiar)
        assert.equal(ref.name, full)
        assert.equal(ref.domain, domain)
        assert.equal(ref.path, path)
        assert.equal(ref.familiarString(), `${familiar}:latest`)
      })
    }
  }
})

describe('registry host', () => {
  const cases: [string, string][] = [
    ['redis', 'registry-1.docker.io'],
    ['index.docker.io/library/redis', 'registry-1.docker.io'],
    ['docker.io/user/repo', 'registry-1.docker.io'],
    ['quay.io/coreos/etcd', 'quay.io'],
    ['localhost:5000/x', 'localhost:5000'],
    ['[::1]:5000/x', '[::1]:5000'],
  ]
  for (const [input, host] of cases) {
    test(input, () => {
      assert.equal(parseReference(input).registryHost(), host)
      assert.equal(registryHost(parseReference(input).domain), host)
    })
  }
})

describe('isValidTag', () => {
  const cases: [string, boolean][] = [
    ['latest', true],
    ['1.0', true],
    ['TAG5', true],
    ['_under', true],
    ['a'.repeat(128), true],
    ['a'.repeat(129), false],
    ['-foo', false],
    ['.foo', false],
    ['', false],
    ['a:b', false],
  ]
  for (const [tag, ok] of cases) test(JSON.stringify(tag.length > 20 ? `${tag.slice(0, 20)}…` : tag), () => assert.equal(isValidTag(tag), ok))
})

describe('pathological input stays fast', () => {
  for (const input of ['a'.repeat(200_000) + '!', 'a-'.repeat(100_000) + '!', 'a.'.repeat(100_000) + '/x!', 'a__'.repeat(60_000) + '_']) {
    test(`${input.slice(0, 6)}… (${input.length} chars)`, () => {
      const start = process.hrtime.bigint()
      assert.throws(() => parseReference(input))
      assert.ok(process.hrtime.bigint() - start < 2_000_000_000n)
    })
  }
})
