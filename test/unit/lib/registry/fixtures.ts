// Shared fixtures of the registry client tests: four small images (OCI manifest and index, Docker manifest and list),
// isolated client options, a tiny HTTP server for behaviours the fake registry does not have, and error assertions by
// kind.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe as describeError, errorKind, type ErrorKind} from '../../../../src/lib/errors/index.js'
import {parseReference, type Descriptor, type ImageReference} from '../../../../src/lib/oci/index.js'
import type {RegistryOptions} from '../../../../src/lib/registry/index.js'
import {buildImage, buildIndex, type Built, type BuiltImage, type BuiltIndex} from '../../../helpers/oci-image.js'

/** The four top-level kinds a registry serves. */
export interface Fixtures {
  ociImage: BuiltImage
  dockerImage: BuiltImage
  ociIndex: BuiltIndex
  dockerList: BuiltIndex
}

const arm64 = {architecture: 'arm64', os: 'linux', variant: 'v8'}
const amd64 = {architecture: 'amd64', os: 'linux'}

/** Builds the four fixtures (tiny layers, so this takes milliseconds). */
export async function buildFixtures(): Promise<Fixtures> {
  const ociImage = await buildImage({layers: [[{path: 'hello.txt', type: 'file', content: 'hello oci\n'}]], platform: amd64})
  const ociArm = await buildImage({layers: [[{path: 'hello.txt', type: 'file', content: 'hello oci arm\n'}]], platform: arm64})
  const dockerImage = await buildImage({layers: [[{path: 'hello.txt', type: 'file', content: 'hello docker\n'}]], mediaTypes: 'docker', platform: amd64})
  const dockerArm = await buildImage({layers: [[{path: 'hello.txt', type: 'file', content: 'hello docker arm\n'}]], mediaTypes: 'docker', platform: arm64})
  return {ociImage, dockerImage, ociIndex: buildIndex([ociImage, ociArm]), dockerList: buildIndex([dockerImage, dockerArm])}
}

/** `[name, fixture key]` pairs used as `test/<name>:v1` in the registries. */
export const KINDS = [
  ['oci-manifest', 'ociImage'],
  ['docker-manifest', 'dockerImage'],
  ['oci-index', 'ociIndex'],
  ['docker-list', 'dockerList'],
] as const

/** The descriptor of a built artifact (without platform). */
export function topDescriptor(built: Built): Descriptor {
  return {mediaType: built.mediaType, digest: built.manifestDigest, size: built.manifestBytes.length}
}

/** `host/path[:tag|@digest]` parsed. */
export function ref(host: string, pathAndObject: string): ImageReference {
  return parseReference(`${host}/${pathAndObject}`)
}

/** A temporary directory removed by `cleanup()`. */
export function tempDir(prefix = 'berth-registry-client-'): {dir: string; cleanup(): void} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {dir, cleanup: () => rmSync(dir, {recursive: true, force: true})}
}

/** Client options isolated from this machine: no hosts dir, no credentials files, quick retries. */
export function isolated(extra: RegistryOptions = {}): RegistryOptions {
  return {
    hostsDir: '/nonexistent/berth-hosts',
    dockerConfigPath: '/nonexistent/berth-docker-config.json',
    authJsonPath: '/nonexistent/berth-auth.json',
    env: {PATH: process.env['PATH'] ?? '/usr/bin:/bin'},
    retryBaseMs: 5,
    ...extra,
  }
}

/** Asserts that `p` rejects with a Berth error of `kind` whose user-facing text matches `pattern`. @returns the error. */
export async function rejectsWith(p: Promise<unknown>, kind: ErrorKind, pattern?: RegExp): Promise<Error> {
  let caught: unknown
  try {
    await p
  } catch (err) {
    caught = err
  }
  assert.ok(caught !== undefined, `expected a ${kind} error, got success`)
  assert.equal(errorKind(caught), kind, `expected ${kind}, got ${errorKind(caught)}: ${describeError(caught)}`)
  if (pattern !== undefined) assert.match(describeError(caught), pattern)
  return caught as Error
}

/** A tiny HTTP server on 127.0.0.1 for one test. */
export interface MiniServer {
  host: string
  url: string
  port: number
  requests: {method: string; url: string; range?: string; authorization?: string; headers: IncomingMessage['headers']}[]
  /** TCP connections accepted so far. */
  connections(): number
  stop(): Promise<void>
}

/** Starts a plain HTTP server with `handler`, logging requests. */
export async function startMiniServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<MiniServer> {
  const requests: MiniServer['requests'] = []
  const server: Server = createServer((req, res) => {
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(req.headers.range ? {range: req.headers.range} : {}),
      ...(req.headers.authorization ? {authorization: req.headers.authorization} : {}),
      headers: req.headers,
    })
    handler(req, res)
  })
  let connections = 0
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.address() as AddressInfo).port
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => connections,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Collects a stream into one buffer. */
export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of stream) chunks.push(Buffer.from(c))
  return Buffer.concat(chunks)
}
