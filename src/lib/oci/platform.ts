// Platforms (os/architecture/variant) as containerd/platforms parses, normalizes, formats and matches them; no I/O.
import {InvalidArgument} from '../errors/index.js'

/** A platform with Go names (`linux`, `arm64`, `v8`), as used for matching. */
export interface Platform {
  os: string
  architecture: string
  variant?: string
  osVersion?: string
  osFeatures?: string[]
}

/** A platform as it appears in OCI JSON (descriptor `platform`, image config): note the dotted keys. */
export interface OciPlatform {
  architecture: string
  os: string
  'os.version'?: string
  'os.features'?: string[]
  variant?: string
}

const KNOWN_OS = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'hurd',
  'illumos',
  'ios',
  'js',
  'linux',
  'nacl',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'windows',
  'zos',
])

const KNOWN_ARCH = new Set([
  '386',
  'amd64',
  'amd64p32',
  'arm',
  'armbe',
  'arm64',
  'arm64be',
  'ppc64',
  'ppc64le',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'mips64p32',
  'mips64p32le',
  'ppc',
  'riscv',
  'riscv64',
  's390',
  's390x',
  'sparc',
  'sparc64',
  'wasm',
])

const SPECIFIER_RE = /^[A-Za-z0-9_.-]+$/
const OS_RE = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$/
// The patterns as containerd prints them in its errors (Go syntax).
const SPECIFIER_RE_TEXT = '^[A-Za-z0-9_.-]+$'
const OS_RE_TEXT = '^([A-Za-z0-9_-]+)(?:\\(([A-Za-z0-9_.%-]*)((?:\\+[A-Za-z0-9_.%-]+)*)\\))?$'

const NODE_OS: Readonly<Record<string, string>> = {win32: 'windows', sunos: 'solaris'}
const NODE_ARCH: Readonly<Record<string, string>> = {x64: 'amd64', ia32: '386', mipsel: 'mipsle'}

/** A copy without empty optional fields, so that equal platforms compare deep-equal. */
function compact(p: Platform): Platform {
  const out: Platform = {os: p.os, architecture: p.architecture}
  if (p.variant) out.variant = p.variant
  if (p.osVersion) out.osVersion = p.osVersion
  if (p.osFeatures && p.osFeatures.length > 0) out.osFeatures = p.osFeatures
  return out
}

/** What `hostPlatform` reads from the process; tests pass their own. */
export interface HostFacts {
  /** `process.platform`. */
  platform: string
  /** `process.arch`. */
  arch: string
  /** `process.config.variables.arm_version` (`'7'`), when Node was built for arm. */
  armVersion?: string
  /** `os.endianness() === 'LE'`. */
  littleEndian: boolean
}

function processFacts(): HostFacts {
  // process.config is built on first access (a few milliseconds): read it only where it matters.
  const armVersion = process.arch === 'arm' ? (process.config.variables as unknown as Record<string, unknown>)['arm_version'] : undefined
  return {
    platform: process.platform,
    arch: process.arch,
    ...(armVersion === undefined ? {} : {armVersion: String(armVersion)}),
    littleEndian: new Uint8Array(new Uint16Array([1]).buffer)[0] === 1, // os.endianness() without loading node:os
  }
}

/**
 * The platform this process runs on, in Go names: x64 -> amd64, ia32 -> 386, arm64 -> arm64 variant v8, arm -> arm
 * with the variant Node was built for (`process.config.variables.arm_version`, default v7), ppc64 -> ppc64le on
 * little-endian hosts, win32 -> windows. Like containerd's `DefaultSpec()` on most builds, amd64 gets no
 * micro-architecture variant (that would need /proc/cpuinfo). Never throws.
 */
export function hostPlatform(facts: HostFacts = processFacts()): Platform {
  const os = NODE_OS[facts.platform] ?? facts.platform
  let architecture = NODE_ARCH[facts.arch] ?? facts.arch
  let variant: string | undefined
  if (architecture === 'ppc64' && facts.littleEndian) architecture = 'ppc64le'
  if (architecture === 'arm64') variant = 'v8'
  if (architecture === 'arm') variant = /^[0-9]+$/.test(facts.armVersion ?? '') ? `v${facts.armVersion}` : 'v7'
  return variant === undefined ? {os, architecture} : {os, architecture, variant}
}

function normalizeOs(os: string): string {
  if (os === '') return hostPlatform().os
  const lower = os.toLowerCase()
  return lower === 'macos' ? 'darwin' : lower
}

/** containerd's normalizeArch: lowercases and maps aliases (`aarch64`, `x86_64`, `armhf`, `armel`, `i386`). */
function normalizeArch(arch: string, variant: string): [string, string] {
  let a = arch.toLowerCase()
  let v = variant.toLowerCase()
  switch (a) {
    case 'i386':
      a = '386'
      v = ''
      break
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      a = 'amd64'
      if (v === 'v1') v = ''
      break
    case 'aarch64':
    case 'arm64':
      a = 'arm64'
      if (v === '8' || v === 'v8' || v === 'v8.0') v = ''
      else if (v === '9' || v === '9.0' || v === 'v9.0') v = 'v9'
      break
    case 'armhf':
      a = 'arm'
      v = 'v7'
      break
    case 'armel':
      a = 'arm'
      v = 'v6'
      break
    case 'arm':
      if (v === '' || v === '7') v = 'v7'
      else if (v === '5' || v === '6' || v === '8') v = `v${v}`
      break
  }
  return [a, v]
}

/**
 * The canonical form used for comparison (containerd `Normalize`): lowercased names, aliases mapped, arm64 v8 and
 * amd64 v1 written without variant, arm without variant written v7, os features sorted and deduplicated.
 */
export function normalizePlatform(p: Platform): Platform {
  const [architecture, variant] = normalizeArch(p.architecture, p.variant ?? '')
  const out: Platform = {...p, os: normalizeOs(p.os), architecture, variant}
  if (p.osFeatures && p.osFeatures.length > 0) out.osFeatures = [...new Set(p.osFeatures)].sort()
  return compact(out)
}

function decodeOsOption(specifier: string, value: string, what: string): string {
  if (!value.includes('%')) return value
  try {
    return decodeURIComponent(value)
  } catch (cause) {
    throw new InvalidArgument(`${JSON.stringify(specifier)} has an invalid OS ${what} ${JSON.stringify(value)}`, {cause, suffixKind: true})
  }
}

/**
 * Parse a platform specifier `<os>[(<os.version>[+<feature>]*)]|<arch>|<os>/<arch>[/<variant>]` as containerd's
 * `platforms.Parse` does: a lone known OS takes the host architecture, a lone architecture the host OS; `aarch64`,
 * `x86_64`, `armhf` (arm, v7 left implicit), `armel` (arm/v6) are mapped; `linux/arm64/v8` keeps `v8`; `linux/arm64`
 * gets no variant.
 * @throws InvalidArgument (message ends with `: invalid argument`) for wildcards, bad characters, an unknown lone
 * word, or more than three components.
 */
export function parsePlatform(specifier: string): Platform {
  const fail = (what: string): never => {
    throw new InvalidArgument(what, {suffixKind: true})
  }
  if (specifier.includes('*')) fail(`${JSON.stringify(specifier)}: wildcards not yet supported`)
  const parts = splitN(specifier, '/', 4)
  const first = parts[0] ?? ''
  const osOptions = OS_RE.exec(first)
  if (osOptions === null) {
    return fail(
      `${JSON.stringify(first)} is an invalid OS component of ${JSON.stringify(specifier)}: OSAndVersion specifier component must match ` +
        `${JSON.stringify(OS_RE_TEXT)}`,
    )
  }
  for (const part of parts.slice(1)) {
    if (!SPECIFIER_RE.test(part)) {
      fail(
        `${JSON.stringify(part)} is an invalid component of ${JSON.stringify(specifier)}: platform specifier component must match ` +
          `${JSON.stringify(SPECIFIER_RE_TEXT)}`,
      )
    }
  }
  let os = normalizeOs(osOptions[1] ?? '')
  const osVersion = decodeOsOption(specifier, osOptions[2] ?? '', 'version')
  const osFeatures =
    (osOptions[3] ?? '') === ''
      ? []
      : (osOptions[3] ?? '')
          .slice(1)
          .split('+')
          .map((f) => decodeOsOption(specifier, f, 'feature'))
  const build = (architecture: string, variant: string): Platform => compact({os, architecture, variant, osVersion, osFeatures})

  switch (parts.length) {
    case 1: {
      if (KNOWN_OS.has(os)) {
        const host = hostPlatform()
        return build(host.architecture, host.architecture === 'arm' && host.variant !== 'v7' ? (host.variant ?? '') : '')
      }
      let [architecture, variant] = normalizeArch(first, '')
      if (architecture === 'arm' && variant === 'v7') variant = ''
      if (KNOWN_ARCH.has(architecture)) {
        os = hostPlatform().os
        return build(architecture, variant)
      }
      return fail(`${JSON.stringify(specifier)}: unknown operating system or architecture`)
    }
    case 2: {
      let [architecture, variant] = normalizeArch(parts[1] ?? '', '')
      if (architecture === 'arm' && variant === 'v7') variant = ''
      return build(architecture, variant)
    }
    case 3: {
      let [architecture, variant] = normalizeArch(parts[1] ?? '', parts[2] ?? '')
      if (architecture === 'arm64' && variant === '') variant = 'v8'
      return build(architecture, variant)
    }
    default:
      return fail(`${JSON.stringify(specifier)}: cannot parse platform specifier`)
  }
}

/** Go's strings.SplitN. */
function splitN(s: string, sep: string, n: number): string[] {
  const all = s.split(sep)
  if (all.length <= n) return all
  return [...all.slice(0, n - 1), all.slice(n - 1).join(sep)]
}

/** `os/arch[/variant]` as containerd's `platforms.Format` prints it (`unknown` without an os). Never throws. */
export function formatPlatform(p: Platform): string {
  if (!p.os) return 'unknown'
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/')
}

/** The OCI JSON form of a platform (dotted `os.version`/`os.features` keys, empty fields left out). */
export function platformToOci(p: Platform): OciPlatform {
  const out: OciPlatform = {architecture: p.architecture, os: p.os}
  if (p.osVersion) out['os.version'] = p.osVersion
  if (p.osFeatures && p.osFeatures.length > 0) out['os.features'] = [...p.osFeatures]
  if (p.variant) out.variant = p.variant
  return out
}

/** A platform from its OCI JSON form (descriptor `platform` or image config fields); missing strings become ''. */
export function platformFromOci(p: Partial<OciPlatform>): Platform {
  return compact({
    os: p.os ?? '',
    architecture: p.architecture ?? '',
    variant: p.variant,
    osVersion: p['os.version'],
    osFeatures: p['os.features'],
  })
}

/** Matches platforms and orders them by preference. */
export interface PlatformMatcher {
  /** True when `p` is one of the accepted platforms. */
  match(p: Platform): boolean
  /** The preference rank of `p`, 0 best, -1 when not accepted. */
  rank(p: Platform): number
  /** True when `a` is strictly preferred over `b` (containerd's `MatchComparer.Less`). */
  less(a: Platform, b: Platform): boolean
  /** The accepted platforms, best first (each wanted platform followed by what it can also run). */
  readonly candidates: readonly Platform[]
}

/** containerd's platformVector: the platform followed by the ones it can also run, best first. */
function platformVector(p: Platform): Platform[] {
  const base = {os: p.os, osVersion: p.osVersion, osFeatures: p.osFeatures}
  const vector: Platform[] = [p]
  const variantNumber = (v: string | undefined): number => {
    const s = (v ?? '').replace(/^v/, '')
    return /^[0-9]+$/.test(s) ? Number(s) : NaN
  }
  switch (p.architecture) {
    case 'amd64': {
      const level = variantNumber(p.variant)
      if (level > 1) for (let l = level - 1; l >= 1; l--) vector.push(compact({...base, architecture: 'amd64', variant: `v${l}`}))
      vector.push(compact({...base, architecture: '386'}))
      break
    }
    case 'arm': {
      const level = variantNumber(p.variant)
      if (level > 5) for (let l = level - 1; l >= 5; l--) vector.push(compact({...base, architecture: 'arm', variant: `v${l}`}))
      break
    }
    case 'arm64': {
      let variant = p.variant || 'v8'
      const [majorText = '', minorText] = variant.split(/\.(.*)/s)
      let major = variantNumber(majorText)
      if (major >= 8) {
        let minor = 0
        if (variant.length === 4 && minorText !== undefined && /^[0-9]+$/.test(minorText)) minor = Number(minorText)
        const push = (maj: number, min: number): void => {
          vector.push(compact({...base, architecture: 'arm64', variant: min === 0 ? `v${maj}` : `v${maj}.${min}`}))
        }
        if (major === 9) {
          for (let m = minor - 1; m >= 0; m--) push(9, m)
          // v9.0 diverged from v8.5: v9.x runs v8.{x+5} and below.
          minor += 5
          major = 8
          vector.push(compact({...base, architecture: 'arm64', variant: `v8.${minor}`}))
        }
        for (let m = minor - 1; m >= 0; m--) push(major, m)
      }
      if (variant.startsWith('v8.') || variant.startsWith('v9.')) variant = 'v8'
      vector.push(...platformVector(compact({...base, architecture: 'arm', variant})))
      break
    }
  }
  return vector
}

/** containerd's matcher: same os/architecture/variant, and the candidate's os features a subset of the wanted ones. */
function sameNormalized(wanted: Platform, candidate: Platform): boolean {
  if (wanted.os !== candidate.os || wanted.architecture !== candidate.architecture) return false
  if ((wanted.variant ?? '') !== (candidate.variant ?? '')) return false
  const have = new Set(wanted.osFeatures ?? [])
  return (candidate.osFeatures ?? []).every((f) => have.has(f))
}

/**
 * containerd's `platforms.NewMatcher` / `DefaultStrict`: true when `candidate` normalizes to the same os,
 * architecture and variant as one of `wanted` (an empty list means the host platform) — no compatible variants.
 * Never throws.
 */
export function matchesStrictly(wanted: readonly Platform[], candidate: Platform): boolean {
  const n = normalizePlatform(candidate)
  return (wanted.length > 0 ? wanted : [hostPlatform()]).some((w) => sameNormalized(normalizePlatform(w), n))
}

/**
 * A matcher accepting each wanted platform and every platform it can run, ordered best first, as containerd's
 * `platforms.Only` (arm64 v8 also runs arm v8..v5; arm vN runs v(N-1)..v5; amd64 vN runs v(N-1)..v1 and 386),
 * chained over the wanted list in order. An empty or missing list means the host platform.
 * Windows os.version matching is not implemented (any version matches). Never throws.
 */
export function platformMatcher(wanted: readonly Platform[] = []): PlatformMatcher {
  const list = wanted.length > 0 ? wanted : [hostPlatform()]
  const candidates: Platform[] = []
  const seen = new Set<string>()
  for (const w of list) {
    for (const c of platformVector(normalizePlatform(w))) {
      const n = normalizePlatform(c)
      const key = JSON.stringify([n.os, n.architecture, n.variant ?? '', n.osFeatures ?? []])
      if (!seen.has(key)) {
        seen.add(key)
        candidates.push(n)
      }
    }
  }
  return rankedMatcher(candidates, sameNormalized)
}

/** A matcher that ranks a platform by the first of `candidates` it is `same` as (normalized first). */
function rankedMatcher(candidates: Platform[], same: (candidate: Platform, p: Platform) => boolean): PlatformMatcher {
  const rank = (p: Platform): number => {
    const n = normalizePlatform(p)
    return candidates.findIndex((c) => same(c, n))
  }
  return Object.freeze({
    candidates: Object.freeze(candidates),
    rank,
    match: (p: Platform) => rank(p) >= 0,
    less: (a: Platform, b: Platform) => {
      const ra = rank(a)
      const rb = rank(b)
      return ra >= 0 && (rb < 0 || ra < rb)
    },
  })
}

/**
 * The descriptors a matcher accepts, best platform first (stable for equal ranks), followed by descriptors that carry
 * no platform, in their original order — containerd's FilterPlatforms + LimitManifests order, so `[0]` is the
 * manifest to pull. Descriptors whose platform does not match are left out. `matcher` defaults to the host's.
 * Never throws.
 */
export function sortByPreference<T extends {platform?: Partial<OciPlatform> | undefined}>(
  descriptors: readonly T[],
  matcher: PlatformMatcher = platformMatcher(),
): T[] {
  const ranked: {d: T; rank: number; i: number}[] = []
  descriptors.forEach((d, i) => {
    if (d.platform === undefined) ranked.push({d, rank: Number.POSITIVE_INFINITY, i})
    else {
      const r = matcher.rank(platformFromOci(d.platform))
      if (r >= 0) ranked.push({d, rank: r, i})
    }
  })
  ranked.sort((a, b) => a.rank - b.rank || a.i - b.i)
  return ranked.map((r) => r.d)
}

/**
 * containerd's `OnlyStrict` / `Ordered` matcher: exactly the wanted platforms (normalized os,
 * architecture and variant equal; no compatible ones such as 386 for amd64), ranked in the order
 * given. An empty or missing list means the host platform. Never throws.
 */
export function strictPlatformMatcher(wanted: readonly Platform[] = []): PlatformMatcher {
  const same = (a: Platform, b: Platform): boolean => a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '')
  const candidates: Platform[] = []
  for (const w of wanted.length > 0 ? wanted : [hostPlatform()]) {
    const n = normalizePlatform(w)
    if (!candidates.some((c) => same(c, n))) candidates.push(n)
  }
  return rankedMatcher(candidates, same)
}
