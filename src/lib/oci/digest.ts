// Content digests (`algorithm:hex`) as go-digest validates them, restricted to sha256 and sha512 with lowercase hex.
import {createHash} from 'node:crypto'
import {InvalidArgument} from '../errors/index.js'
import {sha256Hex} from './sha256.js'

/** A validated `algorithm:hex` string, e.g. `sha256:e3b0c442…`. */
export type Digest = string

/** Supported algorithms and the length of their hex encoding (OCI image-spec "Registered algorithms"). */
export const DIGEST_ALGORITHMS: Readonly<Record<string, number>> = Object.freeze({sha256: 64, sha512: 128})

// go-digest's DigestRegexp: tells a malformed digest apart from a well-formed one with an unknown algorithm.
const WELL_FORMED = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/
const LOWER_HEX = /^[a-f0-9]+$/

/** The reason `s` is not a supported digest, worded as go-digest's errors, or undefined when it is valid. */
export function digestProblem(s: string): string | undefined {
  const colon = s.indexOf(':')
  if (colon <= 0 || colon === s.length - 1) return 'invalid checksum digest format'
  const algorithm = s.slice(0, colon)
  const encoded = s.slice(colon + 1)
  const length = Object.hasOwn(DIGEST_ALGORITHMS, algorithm) ? DIGEST_ALGORITHMS[algorithm] : undefined
  if (length === undefined) {
    return WELL_FORMED.test(s) ? 'unsupported digest algorithm' : 'invalid checksum digest format'
  }
  if (encoded.length !== length) return 'invalid checksum digest length'
  if (!LOWER_HEX.test(encoded)) return 'invalid checksum digest format'
  return undefined
}

/** True when `s` is a valid sha256/sha512 digest. Never throws. */
export function isDigest(s: unknown): s is Digest {
  return typeof s === 'string' && digestProblem(s) === undefined
}

/**
 * Validate `s` as `algorithm:hex` (sha256 with 64 or sha512 with 128 lowercase hex digits).
 * @returns `s` unchanged, typed as a Digest.
 * @throws InvalidArgument `invalid digest "<s>": <go-digest reason>`.
 */
export function parseDigest(s: string): Digest {
  const problem = digestProblem(s)
  if (problem !== undefined) throw new InvalidArgument(`invalid digest ${JSON.stringify(s)}: ${problem}`)
  return s
}

/** The algorithm part of a digest (`sha256`). @throws InvalidArgument when `d` is not a valid digest. */
export function digestAlgorithm(d: Digest): string {
  return parseDigest(d).slice(0, d.indexOf(':'))
}

/** The hex part of a digest. @throws InvalidArgument when `d` is not a valid digest. */
export function digestHex(d: Digest): string {
  return parseDigest(d).slice(d.indexOf(':') + 1)
}

/** The sha256 digest of `data` (strings are hashed as UTF-8). Never throws. */
export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`
}

/**
 * Layer chain IDs from diff IDs, bottom first (image-spec config.md "Layer ChainID"):
 * `ChainID(L0) = DiffID(L0)`, `ChainID(L0..n) = sha256(ChainID(L0..n-1) + " " + DiffID(Ln))`.
 * @throws InvalidArgument when a diff ID is not a valid digest.
 */
export function chainIds(diffIds: readonly Digest[]): Digest[] {
  const out: Digest[] = []
  for (const diffId of diffIds) {
    parseDigest(diffId)
    const previous = out[out.length - 1]
    // Plain-JS SHA-256 (sha256.ts): a short string each, and no node:crypto to load for a pull that shares every layer.
    out.push(previous === undefined ? diffId : `sha256:${sha256Hex(`${previous} ${diffId}`)}`)
  }
  return out
}
