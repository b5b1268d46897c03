// Table tests for platform parsing, normalization, formatting and matching, ported from containerd/platforms tests.
import {describe, test} from 'node:test'
import assert from 'node:assert/strict'
import {describe as describeError, errorKind} from '../../../../src/lib/errors/index.js'
import {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  parsePlatform,
  platformFromOci,
  platformMatcher,
  platformToOci,
  sortByPreference,
  strictPlatformMatcher,
  type HostFacts,
  type OciPlatform,
  type Platform,
} from '../../../../src/lib/oci/index.js'

const host = hostPlatform()
const hostVariant = host.architecture === 'arm' && host.variant !== 'v7' ? host.variant : undefined
const withHostArch = (os: string, extra: Partial<Platform> = {}): Platform => ({
  os,
  architecture: host.architecture,
  ...(hostVariant === undefined ? {} : {variant: hostVariant}),
  ...extra,
})
const p = (os: string, architecture: string, variant?: string): Platform => (variant === undefined ? {os, architecture} : {os, architecture, variant})
const join = (...parts: (string | undefined)[]): string => parts.filter((s) => s).join('/')

describe('parsePlatform (TestParseSelector)', () => {
  // input, expected, other platforms the result must match, formatted
  const cases: [string, Platform, Platform[], string][] = [
    ['linux/arm64', p('linux', 'arm64'), [p('linux', 'aarch64'), p('linux', 'aarch64', 'v8'), p('linux', 'arm64', 'v8')], 'linux/arm64'],
    ['linux/arm64/v8', p('linux', 'arm64', 'v8'), [p('linux', 'aarch64'), p('linux', 'aarch64', 'v8'), p('linux', 'arm64')], 'linux/arm64/v8'],
    ['linux/arm', p('linux', 'arm'), [p('linux', 'arm', 'v7'), p('linux', 'armhf'), p('linux', 'arm', '7')], 'linux/arm'],
    ['linux/arm/v6', p('linux', 'arm', 'v6'), [p('linux', 'armel')], 'linux/arm/v6'],
    ['linux/arm/v7', p('linux', 'arm', 'v7'), [p('linux', 'arm'), p('linux', 'armhf')], 'linux/arm/v7'],
    ['arm', p(host.os, 'arm'), [], join(host.os, 'arm')],
    ['armel', p(host.os, 'arm', 'v6'), [], join(host.os, 'arm/v6')],
    ['armhf', p(host.os, 'arm'), [], join(host.os, 'arm')],
    ['Aarch64', p(host.os, 'arm64'), [], join(host.os, 'arm64')],
    ['x86_64', p(host.os, 'amd64'), [], join(host.os, 'amd64')],
    ['Linux/x86_64', p('linux', 'amd64'), [], 'linux/amd64'],
    ['linux/x86-64', p('linux', 'amd64'), [p('linux', 'x86_64')], 'linux/amd64'],
    ['i386', p(host.os, '386'), [], join(host.os, '386')],
    ['linux', withHostArch('linux'), [], join('linux', host.architecture, hostVariant)],
    ['s390x', p(host.os, 's390x'), [], join(host.os, 's390x')],
    ['linux/s390x', p('linux', 's390x'), [], 'linux/s390x'],
    ['linux/ppc64le', p('linux', 'ppc64le'), [], 'linux/ppc64le'],
    ['linux/riscv64', p('linux', 'riscv64'), [], 'linux/riscv64'],
    ['macOS', withHostArch('darwin'), [], join('darwin', host.architecture, hostVariant)],
    ['windows', withHostArch('windows'), [], join('windows', host.architecture, hostVariant)],
    ['windows()', withHostArch('windows'), [], join('windows', host.architecture, hostVariant)],
    ['windows(10.0.17763)', withHostArch('windows', {osVersion: '10.0.17763'}), [], join('windows', host.architecture, hostVariant)],
    [
      'windows(10.0.17763+win32k)',
      withHostArch('windows', {osVersion: '10.0.17763', osFeatures: ['win32k']}),
      [],
      join('windows', host.architecture, hostVariant),
    ],
    ['linux(+gpu)', withHostArch('linux', {osFeatures: ['gpu']}), [], join('linux', host.architecture, hostVariant)],
    ['linux(+gpu+simd)', withHostArch('linux', {osFeatures: ['gpu', 'simd']}), [], join('linux', host.architecture, hostVariant)],
    ['linux(+unsorted+erofs)', withHostArch('linux', {osFeatures: ['unsorted', 'erofs']}), [], join('linux', host.architecture, hostVariant)],
    ['windows(10.0.17763%2Bbuild.42)', withHostArch('windows', {osVersion: '10.0.17763+build.42'}), [], join('windows', host.architecture, hostVariant)],
    ['windows(50%25done)', withHostArch('windows', {osVersion: '50%done'}), [], join('windows', host.architecture, hostVariant)],
    // variant spellings
    ['linux/amd64/v1', p('linux', 'amd64'), [p('linux', 'amd64', 'v1')], 'linux/amd64'],
    ['linux/amd64/v3', p('linux', 'amd64', 'v3'), [], 'linux/amd64/v3'],
    ['linux/arm64/8', p('linux', 'arm64', 'v8'), [p('linux', 'arm64')], 'linux/arm64/v8'],
    ['linux/arm64/v9.0', p('linux', 'arm64', 'v9'), [p('linux', 'arm64', 'v9')], 'linux/arm64/v9'],
    ['linux/aarch64/V8', p('linux', 'arm64', 'v8'), [], 'linux/arm64/v8'],
    ['linux/arm/7', p('linux', 'arm', 'v7'), [p('linux', 'arm')], 'linux/arm/v7'],
    ['linux/arm/5', p('linux', 'arm', 'v5'), [], 'linux/arm/v5'],
    ['linux/armhf/v7', p('linux', 'arm', 'v7'), [], 'linux/arm/v7'],
    ['LINUX/AMD64', p('linux', 'amd64'), [], 'linux/amd64'],
    ['freebsd/amd64', p('freebsd', 'amd64'), [], 'freebsd/amd64'],
    // two components: known-ness is not checked
    ['plan9/mystery', p('plan9', 'mystery'), [], 'plan9/mystery'],
  ]
  for (const [input, expected, matches, formatted] of cases) {
    test(input, () => {
      const parsed = parsePlatform(input)
      assert.deepEqual(parsed, expected)
      const m = platformMatcher([parsed])
      assert.ok(m.match(expected), 'matches its own result')
      for (const other of matches) assert.ok(m.match(other), `matches ${JSON.stringify(other)}`)
      assert.equal(formatPlatform(parsed), formatted)
      // the formatted output is stable when parsed again
      assert.equal(formatPlatform(parsePlatform(formatted)), formatted)
    })
  }
})

describe('parsePlatform rejects (TestParseSelectorInvalid)', () => {
  const OS_RE = '"^([A-Za-z0-9_-]+)(?:\\\\(([A-Za-z0-9_.%-]*)((?:\\\\+[A-Za-z0-9_.%-]+)*)\\\\))?$"'
  const COMPONENT_RE = '"^[A-Za-z0-9_.-]+$"'
  const cases: [string, string][] = [
    ['', `"" is an invalid OS component of "": OSAndVersion specifier component must match ${OS_RE}`],
    ['/linux/arm', `"" is an invalid OS component of "/linux/arm": OSAndVersion specifier component must match ${OS_RE}`],
    ['linux/arm/', `"" is an invalid component of "linux/arm/": platform specifier component must match ${COMPONENT_RE}`],
    ['linux /arm', `"linux " is an invalid OS component of "linux /arm": OSAndVersion specifier component must match ${OS_RE}`],
    ['linux/&arm', `"&arm" is an invalid component of "linux/&arm": platform specifier component must match ${COMPONENT_RE}`],
    ['linux/arm/foo/bar', '"linux/arm/foo/bar": cannot parse platform specifier'],
    // split into at most four parts as Go's SplitN does, so the fourth keeps its slash
    ['linux/arm/v7/x/y', `"x/y" is an invalid component of "linux/arm/v7/x/y": platform specifier component must match ${COMPONENT_RE}`],
    ['*', '"*": wildcards not yet supported'],
    ['linux/*', '"linux/*": wildcards not yet supported'],
    ['foo', '"foo": unknown operating system or architecture'],
    ['linux(', `"linux(" is an invalid OS component of "linux(": OSAndVersion specifier component must match ${OS_RE}`],
    ['windows(%zz)', '"windows(%zz)" has an invalid OS version "%zz"'],
  ]
  for (const [input, message] of cases) {
    test(JSON.stringify(input), () => {
      assert.throws(
        () => parsePlatform(input),
        (err: unknown) => {
          assert.equal(errorKind(err), 'invalid argument')
          assert.equal((err as Error).message, message)
          assert.equal(describeError(err), `${message}: invalid argument`)
          return true
        },
      )
    })
  }
})

describe('platformMatcher (TestOnly)', () => {
  const cases: [string, string[], string[]][] = [
    ['linux/amd64', ['linux/amd64', 'linux/386'], ['linux/amd64/v2', 'linux/arm/v7', 'linux/arm64', 'windows/amd64', 'windows/arm']],
    [
      'linux/amd64/v2',
      ['linux/amd64', 'linux/amd64/v1', 'linux/amd64/v2', 'linux/386'],
      ['linux/amd64/v3', 'linux/amd64/v4', 'linux/arm/v7', 'linux/arm64', 'windows/amd64', 'windows/arm'],
    ],
    ['linux/386', ['linux/386'], ['linux/amd64', 'linux/arm/v7', 'linux/arm64', 'windows/amd64', 'windows/arm']],
    ['windows/amd64', ['windows/amd64', 'windows(10.0.17763)/amd64'], ['linux/amd64', 'linux/arm/v7', 'linux/arm64', 'windows/arm']],
    [
      'linux/arm/v8',
      ['linux/arm', 'linux/arm/v5', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm/v8'],
      ['linux/amd64', 'linux/arm/v4', 'linux/arm64', 'windows/amd64', 'windows/arm'],
    ],
    [
      'linux/arm/v7',
      ['linux/arm', 'linux/arm/v5', 'linux/arm/v6', 'linux/arm/v7'],
      ['linux/amd64', 'linux/arm/v4', 'linux/arm/v8', 'linux/arm64', 'windows/amd64', 'windows/arm'],
    ],
    [
      'linux/arm/v6',
      ['linux/arm/v5', 'linux/arm/v6'],
      ['linux/amd64', 'linux/arm', 'linux/arm/v4', 'linux/arm/v7', 'linux/arm/v8', 'linux/arm64', 'windows/amd64', 'windows/arm'],
    ],
    [
      'linux/arm/v5',
      ['linux/arm/v5'],
      ['linux/amd64', 'linux/arm', 'linux/arm/v4', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm/v8', 'linux/arm64', 'windows/amd64', 'windows/arm'],
    ],
    [
      'linux/arm/v4',
      ['linux/arm/v4'],
      ['linux/amd64', 'linux/arm', 'linux/arm/v5', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm/v8', 'linux/arm64', 'windows/amd64', 'windows/arm'],
    ],
    [
      'linux/arm64/v9',
      [
        'linux/arm',
        'linux/arm/v5',
        'linux/arm/v6',
        'linux/arm/v7',
        'linux/arm/v8',
        'linux/arm64',
        'linux/arm64/v8',
        'linux/arm64/v8.1',
        'linux/arm64/v8.2',
        'linux/arm64/v8.3',
        'linux/arm64/v8.4',
        'linux/arm64/v8.5',
        'linux/arm64/v9',
        'linux/arm64/v9.0',
      ],
      ['linux/amd64', 'linux/arm/v4', 'windows/amd64', 'windows/arm', 'linux/arm64/v8.6'],
    ],
    [
      'linux/arm64/v8.1',
      ['linux/arm', 'linux/arm/v5', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm/v8', 'linux/arm64', 'linux/arm64/v8', 'linux/arm64/v8.1'],
      ['linux/amd64', 'linux/arm/v4', 'linux/arm/v9', 'linux/arm64/v9', 'windows/amd64', 'windows/arm'],
    ],
    [
      'linux/arm64',
      ['linux/arm', 'linux/arm/v5', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm/v8', 'linux/arm64', 'linux/arm64/v8'],
      ['linux/amd64', 'linux/arm/v4', 'linux/arm/v9', 'linux/arm64/v9', 'windows/amd64', 'windows/arm'],
    ],
    // os features: the candidate's features must be a subset of the wanted ones
    ['linux(+gpu+simd)/amd64', ['linux/amd64', 'linux(+gpu)/amd64', 'linux(+simd+gpu)/amd64'], ['linux(+erofs)/amd64']],
  ]
  for (const [wanted, yes, no] of cases) {
    test(wanted, () => {
      const m = platformMatcher([parsePlatform(wanted)])
      for (const s of yes) assert.equal(m.match(parsePlatform(s)), true, `${wanted} should match ${s}`)
      for (const s of no) assert.equal(m.match(parsePlatform(s)), false, `${wanted} should not match ${s}`)
    })
  }
})

describe('platformMatcher preference order', () => {
  const cases: [string[], string[]][] = [
    [['linux/arm64'], ['linux/arm64', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    [['linux/arm64/v8'], ['linux/arm64', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    [['linux/arm/v7'], ['linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    [['linux/amd64'], ['linux/amd64', 'linux/386']],
    [['linux/amd64/v3'], ['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64', 'linux/386']],
    [['linux/arm64/v8.2'], ['linux/arm64/v8.2', 'linux/arm64/v8.1', 'linux/arm64', 'linux/arm/v8', 'linux/arm/v7', 'linux/arm/v6', 'linux/arm/v5']],
    [
      ['linux/arm64/v9.1'],
      [
        'linux/arm64/v9.1',
        'linux/arm64/v9',
        'linux/arm64/v8.6',
        'linux/arm64/v8.5',
        'linux/arm64/v8.4',
        'linux/arm64/v8.3',
        'linux/arm64/v8.2',
        'linux/arm64/v8.1',
        'linux/arm64',
        'linux/arm/v8',
        'linux/arm/v7',
        'linux/arm/v6',
        'linux/arm/v5',
      ],
    ],
    // several wanted platforms chain in order, without repeats
    [
      ['linux/amd64', 'linux/386', 'linux/arm/v6'],
      ['linux/amd64', 'linux/386', 'linux/arm/v6', 'linux/arm/v5'],
    ],
  ]
  for (const [wanted, order] of cases) {
    test(wanted.join(' + '), () => {
      const m = platformMatcher(wanted.map(parsePlatform))
      assert.deepEqual(m.candidates.map(formatPlatform), order)
      order.forEach((s, i) => assert.equal(m.rank(parsePlatform(s)), i))
    })
  }

  test('less orders matches before non-matches', () => {
    const m = platformMatcher([parsePlatform('linux/arm64')])
    const [arm64, armv7, amd64] = ['linux/arm64', 'linux/arm/v7', 'linux/amd64'].map(parsePlatform) as [Platform, Platform, Platform]
    assert.equal(m.less(arm64, armv7), true)
    assert.equal(m.less(armv7, arm64), false)
    assert.equal(m.less(armv7, amd64), true)
    assert.equal(m.less(amd64, armv7), false)
    assert.equal(m.less(amd64, amd64), false)
    assert.equal(m.less(arm64, arm64), false)
    assert.equal(m.rank(amd64), -1)
  })

  test('no wanted platform means the host', () => {
    assert.deepEqual(platformMatcher().candidates, platformMatcher([host]).candidates)
    assert.deepEqual(platformMatcher([]).candidates, platformMatcher([host]).candidates)
    assert.equal(platformMatcher().match(host), true)
  })
})

describe('sortByPreference', () => {
  const d = (name: string, platform?: OciPlatform): {name: string; platform?: OciPlatform} => (platform === undefined ? {name} : {name, platform})
  const index = [
    d('amd64', {os: 'linux', architecture: 'amd64'}),
    d('armv7', {os: 'linux', architecture: 'arm', variant: 'v7'}),
    d('arm64', {os: 'linux', architecture: 'arm64', variant: 'v8'}),
    d('armv6', {os: 'linux', architecture: 'arm', variant: 'v6'}),
    d('attestation', {os: 'unknown', architecture: 'unknown'}),
    d('no-platform'),
    d('arm64-again', {os: 'linux', architecture: 'arm64'}),
    d('windows', {os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1'}),
    d('i386', {os: 'linux', architecture: '386'}),
  ]
  const cases: [string[], string[]][] = [
    [['linux/arm64'], ['arm64', 'arm64-again', 'armv7', 'armv6', 'no-platform']],
    [['linux/arm/v7'], ['armv7', 'armv6', 'no-platform']],
    [['linux/amd64'], ['amd64', 'i386', 'no-platform']],
    [['linux/386'], ['i386', 'no-platform']],
    [
      ['linux/arm/v6', 'linux/amd64'],
      ['armv6', 'amd64', 'i386', 'no-platform'],
    ],
    [['windows/amd64'], ['windows', 'no-platform']],
    [['linux/s390x'], ['no-platform']],
  ]
  for (const [wanted, names] of cases) {
    test(wanted.join(' + '), () => {
      const sorted = sortByPreference(index, platformMatcher(wanted.map(parsePlatform)))
      assert.deepEqual(
        sorted.map((x) => x.name),
        names,
      )
    })
  }

  test('defaults to the host matcher and does not modify its input', () => {
    const copy = structuredClone(index)
    const sorted = sortByPreference(index)
    assert.deepEqual(index, copy)
    assert.ok(sorted.every((x) => x.platform === undefined || platformMatcher().match(platformFromOci(x.platform))))
  })
})

describe('normalizePlatform', () => {
  const cases: [Platform, Platform][] = [
    [{os: 'Linux', architecture: 'AArch64', variant: '8'}, p('linux', 'arm64')],
    [p('linux', 'arm64', 'v8.0'), p('linux', 'arm64')],
    [p('linux', 'arm64', '9.0'), p('linux', 'arm64', 'v9')],
    [p('linux', 'arm'), p('linux', 'arm', 'v7')],
    [p('linux', 'arm', '6'), p('linux', 'arm', 'v6')],
    [p('linux', 'armel'), p('linux', 'arm', 'v6')],
    [p('linux', 'armhf'), p('linux', 'arm', 'v7')],
    [p('linux', 'amd64', 'v1'), p('linux', 'amd64')],
    [p('linux', 'x86_64', 'v1'), p('linux', 'amd64')],
    [p('linux', 'i386', 'whatever'), p('linux', '386')],
    [p('macos', 'amd64'), p('darwin', 'amd64')],
    [p('', 'amd64'), p(host.os, 'amd64')],
    [
      {os: 'linux', architecture: 'amd64', osFeatures: ['b', 'a', 'b']},
      {os: 'linux', architecture: 'amd64', osFeatures: ['a', 'b']},
    ],
    [
      {os: 'windows', architecture: 'amd64', osVersion: '10.0'},
      {os: 'windows', architecture: 'amd64', osVersion: '10.0'},
    ],
  ]
  for (const [input, expected] of cases) test(JSON.stringify(input), () => assert.deepEqual(normalizePlatform(input), expected))
})

describe('formatPlatform', () => {
  const cases: [Platform, string][] = [
    [p('linux', 'amd64'), 'linux/amd64'],
    [p('linux', 'arm64', 'v8'), 'linux/arm64/v8'],
    [p('', 'amd64'), 'unknown'],
    [{os: 'windows', architecture: 'amd64', osVersion: '10.0'}, 'windows/amd64'],
  ]
  for (const [input, expected] of cases) test(expected, () => assert.equal(formatPlatform(input), expected))
})

describe('OCI JSON form', () => {
  const cases: [Platform, OciPlatform][] = [
    [p('linux', 'amd64'), {architecture: 'amd64', os: 'linux'}],
    [p('linux', 'arm', 'v7'), {architecture: 'arm', os: 'linux', variant: 'v7'}],
    [
      {os: 'windows', architecture: 'amd64', osVersion: '10.0.17763.1', osFeatures: ['win32k']},
      {architecture: 'amd64', os: 'windows', 'os.version': '10.0.17763.1', 'os.features': ['win32k']},
    ],
  ]
  for (const [platform, oci] of cases) {
    test(formatPlatform(platform), () => {
      assert.deepEqual(platformToOci(platform), oci)
      assert.deepEqual(platformFromOci(oci), platform)
    })
  }
})

describe('hostPlatform', () => {
  const facts = (platform: string, arch: string, extra: Partial<HostFacts> = {}): HostFacts => ({platform, arch, littleEndian: true, ...extra})
  const cases: [HostFacts, Platform][] = [
    [facts('linux', 'x64'), p('linux', 'amd64')],
    [facts('linux', 'arm64'), p('linux', 'arm64', 'v8')],
    [facts('linux', 'arm', {armVersion: '7'}), p('linux', 'arm', 'v7')],
    [facts('linux', 'arm', {armVersion: '6'}), p('linux', 'arm', 'v6')],
    [facts('linux', 'arm'), p('linux', 'arm', 'v7')],
    [facts('linux', 'arm', {armVersion: 'default'}), p('linux', 'arm', 'v7')],
    [facts('linux', 'ia32'), p('linux', '386')],
    [facts('linux', 'ppc64'), p('linux', 'ppc64le')],
    [facts('aix', 'ppc64', {littleEndian: false}), p('aix', 'ppc64')],
    [facts('linux', 's390x'), p('linux', 's390x')],
    [facts('linux', 'riscv64'), p('linux', 'riscv64')],
    [facts('linux', 'loong64'), p('linux', 'loong64')],
    [facts('linux', 'mipsel'), p('linux', 'mipsle')],
    [facts('win32', 'x64'), p('windows', 'amd64')],
    [facts('darwin', 'arm64'), p('darwin', 'arm64', 'v8')],
    [facts('sunos', 'x64'), p('solaris', 'amd64')],
  ]
  for (const [input, expected] of cases) test(`${input.platform}/${input.arch}`, () => assert.deepEqual(hostPlatform(input), expected))

  test('the real host formats, parses back and matches itself', () => {
    const formatted = formatPlatform(host)
    assert.equal(formatPlatform(parsePlatform(formatted)), formatted)
    assert.equal(platformMatcher([parsePlatform(formatted)]).match(host), true)
  })
})

describe('strictPlatformMatcher (containerd OnlyStrict / Ordered)', () => {
  const p = (os: string, architecture: string, variant?: string): Platform => (variant ? {os, architecture, variant} : {os, architecture})
  test('only the given platforms, normalized; none of what they could also run', () => {
    const m = strictPlatformMatcher([p('linux', 'amd64')])
    assert.equal(m.match(p('linux', 'amd64')), true)
    assert.equal(m.match(p('linux', 'x86_64')), true)
    assert.equal(m.match(p('linux', '386')), false)
    assert.equal(platformMatcher([p('linux', 'amd64')]).match(p('linux', '386')), true)
    const arm = strictPlatformMatcher([p('linux', 'arm64')])
    assert.equal(arm.match(p('linux', 'arm64', 'v8')), true)
    assert.equal(arm.match(p('linux', 'arm', 'v7')), false)
  })

  test('ranked in the order given', () => {
    const m = strictPlatformMatcher([p('linux', 'arm64'), p('linux', 'amd64')])
    assert.equal(m.less(p('linux', 'arm64'), p('linux', 'amd64')), true)
    assert.equal(m.less(p('linux', 'amd64'), p('linux', 'arm64')), false)
    assert.equal(m.less(p('linux', 'amd64'), p('linux', 's390x')), true)
  })

  test('no list means the host', () => {
    assert.equal(strictPlatformMatcher().match(host), true)
  })
})
