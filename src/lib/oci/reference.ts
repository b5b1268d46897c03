// Image references parsed and normalized as Docker's distribution/reference `ParseNormalizedNamed` + `TagNameOnly`:
// every result has a domain, a lowercase path and a tag or digest (or both).
import {InvalidArgument} from '../errors/index.js'
import {digestProblem, type Digest} from './digest.js'

/** The domain familiar names resolve to. */
export const DEFAULT_DOMAIN = 'docker.io'
/** The tag added to a reference that has neither tag nor digest. */
export const DEFAULT_TAG = 'latest'
/** The longest accepted repository name (`domain/path`), in characters. */
export const NAME_TOTAL_LENGTH_MAX = 255

const LEGACY_DEFAULT_DOMAIN = 'index.docker.io'
const OFFICIAL_REPO_PREFIX = 'library/'
const DOCKER_HUB_REGISTRY = 'registry-1.docker.io'

// The grammar, built from the same pieces as distribution/reference regexp.go:
//   reference   := name [ ":" tag ] [ "@" digest ]
//   name        := [domain '/'] path-component ['/' path-component]*
//   domain      := (domain-name | '[' ipv6 ']') [':' port]
//   path-component := [a-z0-9]+ (separator [a-z0-9]+)*, separator := [._] | __ | -+
//   tag         := [\w][\w.-]{0,127}
const optional = (...res: string[]): string => `(?:${res.join('')})?`
const anyTimes = (...res: string[]): string => `(?:${res.join('')})*`
const capture = (...res: string[]): string => `(${res.join('')})`
const anchored = (...res: string[]): string => `^${res.join('')}$`

const alphanumeric = '[a-z0-9]+'
const separator = '(?:[._]|__|[-]+)'
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const optionalPort = '(?::[0-9]+)?'
const tagPat = '[\\w][\\w.-]{0,127}'
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}'
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]'
const domainName = domainNameComponent + anyTimes('\\.', domainNameComponent)
const host = `(?:${domainName}|${ipv6address})`
const domainAndPort = host + optionalPort
const pathComponent = alphanumeric + anyTimes(separator, alphanumeric)
const remoteName = pathComponent + anyTimes('/', pathComponent)
const namePat = optional(domainAndPort, '/') + remoteName

const REFERENCE_RE = new RegExp(anchored(capture(namePat), optional(':', capture(tagPat)), optional('@', capture(digestPat))))
const ANCHORED_NAME_RE = new RegExp(anchored(optional(capture(domainAndPort), '/'), capture(remoteName)))
const ANCHORED_IDENTIFIER_RE = /^[a-f0-9]{64}$/
const ANCHORED_TAG_RE = new RegExp(anchored(tagPat))

/** A parsed, normalized image reference. Frozen. */
export interface ImageReference {
  /** Registry domain as written (`docker.io`, `localhost:5000`, `[::1]:5000`); `index.docker.io` becomes `docker.io`. */
  readonly domain: string
  /** Repository path (`library/redis`). */
  readonly path: string
  /** Tag; `latest` when the input had neither tag nor digest. */
  readonly tag?: string
  readonly digest?: Digest
  /** `domain/path`. */
  readonly name: string
  /** The canonical reference: `name[:tag][@digest]`. */
  toString(): string
  /** The name as Docker shows it: `redis`, `user/repo`, `quay.io/x/y`. */
  familiarName(): string
  /** The familiar name with tag and digest: `redis:latest`. */
  familiarString(): string
  /** The host to contact for this repository (see `registryHost`). */
  registryHost(): string
}

/** The registry host serving a domain: `docker.io` is served by `registry-1.docker.io`; others serve themselves. */
export function registryHost(domain: string): string {
  return domain === DEFAULT_DOMAIN ? DOCKER_HUB_REGISTRY : domain
}

/** distribution/reference splitDockerDomain: decide whether the first component is a registry domain. */
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf('/')
  if (slash < 0) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name]
  const maybeDomain = name.slice(0, slash)
  const maybeRemote = name.slice(slash + 1)
  let domain: string
  let remote: string
  if (maybeDomain === 'localhost') [domain, remote] = [maybeDomain, maybeRemote]
  else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) [domain, remote] = [DEFAULT_DOMAIN, maybeRemote]
  else if (/[.:]/.test(maybeDomain)) [domain, remote] = [maybeDomain, maybeRemote]
  // Namespaces cannot be uppercase, so an uppercase first component is taken as a domain (Docker does the same).
  else if (maybeDomain.toLowerCase() !== maybeDomain) [domain, remote] = [maybeDomain, maybeRemote]
  else [domain, remote] = [DEFAULT_DOMAIN, name]
  if (domain === DEFAULT_DOMAIN && !remote.includes('/')) remote = OFFICIAL_REPO_PREFIX + remote
  return [domain, remote]
}

function familiarNameOf(domain: string, path: string): string {
  if (domain !== DEFAULT_DOMAIN) return `${domain}/${path}`
  if (path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = path.slice(OFFICIAL_REPO_PREFIX.length)
    if (!rest.includes('/')) return rest
  }
  return path
}

function makeReference(domain: string, path: string, tag: string | undefined, digest: Digest | undefined): ImageReference {
  const name = `${domain}/${path}`
  const suffix = (tag === undefined ? '' : `:${tag}`) + (digest === undefined ? '' : `@${digest}`)
  const ref: ImageReference = {
    domain,
    path,
    ...(tag === undefined ? {} : {tag}),
    ...(digest === undefined ? {} : {digest}),
    name,
    toString: () => name + suffix,
    familiarName: () => familiarNameOf(domain, path),
    familiarString: () => familiarNameOf(domain, path) + suffix,
    registryHost: () => registryHost(domain),
  }
  return Object.freeze(ref)
}

/**
 * Parse and normalize an image reference: `redis` -> `docker.io/library/redis:latest`, `user/repo` ->
 * `docker.io/user/repo:latest`, `index.docker.io/x` -> `docker.io/library/x:latest`; `name:tag@digest` keeps both.
 * The first component is a domain when it contains `.` or `:`, is `localhost`, or has uppercase letters.
 * @throws InvalidArgument `invalid reference "<s>": <reason>`, reasons as distribution/reference words them
 * (`repository name must be lowercase`, `invalid reference format`, `repository name must not be more than 255
 * characters`, `cannot specify 64-byte hexadecimal strings`, go-digest's digest errors).
 */
export function parseReference(s: string): ImageReference {
  const fail = (reason: string): never => {
    throw new InvalidArgument(`invalid reference ${JSON.stringify(s)}: ${reason}`)
  }
  if (ANCHORED_IDENTIFIER_RE.test(s)) fail('cannot specify 64-byte hexadecimal strings')
  const [splitDomain, remainder] = splitDockerDomain(s)
  const colon = remainder.indexOf(':')
  const remote = colon < 0 ? remainder : remainder.slice(0, colon)
  if (remote.toLowerCase() !== remote) fail('repository name must be lowercase')

  const full = `${splitDomain}/${remainder}`
  const m = REFERENCE_RE.exec(full)
  if (m === null) {
    const lower = full.toLowerCase()
    if (lower !== full && REFERENCE_RE.test(lower)) fail('repository name must be lowercase')
    return fail('invalid reference format')
  }
  const name = m[1] ?? ''
  if (name.length > NAME_TOTAL_LENGTH_MAX) fail(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`)
  const nameMatch = ANCHORED_NAME_RE.exec(name)
  const domain = nameMatch?.[1] ?? ''
  const path = nameMatch?.[2] ?? name
  const tag = m[2]
  const digest = m[3]
  if (digest !== undefined) {
    const problem = digestProblem(digest)
    if (problem !== undefined) fail(problem)
  }
  return makeReference(domain, path, tag === undefined && digest === undefined ? DEFAULT_TAG : tag, digest)
}

/** True when `tag` matches the tag grammar `[\w][\w.-]{0,127}`. Never throws. */
export function isValidTag(tag: string): boolean {
  return ANCHORED_TAG_RE.test(tag)
}

/**
 * The stored form of an image name a user typed: normalized as pulls store names (`ck/web:1` ->
 * `docker.io/ck/web:1`), or the text itself when it is no reference — containerd stores any name,
 * e.g. checkpoint images' `containerd.io/checkpoint/<id>:<MM-DD-YYYY-HH:MM:SS>`.
 */
export function storedImageName(name: string): string {
  try {
    return parseReference(name).toString()
  } catch {
    return name
  }
}
