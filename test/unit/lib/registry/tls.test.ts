// TLS against a local https front of the fake registry with a self-signed certificate made by openssl at test time:
// accepted with --tlscacert, -k, or hosts.toml `ca`/`skip_verify`; refused without; and a localhost registry speaking
// plain HTTP is reached after trying https.
import assert from 'node:assert/strict'
import {copyFileSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {request as httpRequest} from 'node:http'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {after, afterEach, before, describe, test} from 'node:test'
import {MediaType} from '../../../../src/lib/oci/index.js'
import {createRegistry} from '../../../../src/lib/registry/index.js'
import {startFakeRegistry, type FakeRegistry} from '../../../helpers/fake-registry.js'
import {missingTools, runToolOk} from '../../../helpers/run-tool.js'
import {buildFixtures, collect, isolated, ref, rejectsWith, tempDir, type Fixtures} from './fixtures.js'

const skip = missingTools({'/usr/bin/openssl': 'openssl'})

describe('registry client over TLS', {skip}, () => {
  const tmp = tempDir('berth-tls-')
  let fx: Fixtures
  let fake: FakeRegistry
  let server: Server
  let host: string
  let certPath: string
  let hostsCount = 0

  before(async () => {
    fx = await buildFixtures()
    fake = await startFakeRegistry({images: {'test/app:v1': fx.ociImage}})
    certPath = join(tmp.dir, 'cert.pem')
    const keyPath = join(tmp.dir, 'key.pem')
    await runToolOk('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '2',
      '-subj',
      '/CN=berth-test',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ])
    // An https front that forwards every request to the fake registry.
    server = createServer({key: readFileSync(keyPath), cert: readFileSync(certPath)}, (req, res) => {
      const upstream = httpRequest({host: '127.0.0.1', port: fake.port, path: req.url, method: req.method, headers: req.headers}, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      upstream.on('error', () => res.destroy())
      req.pipe(upstream)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  after(async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
    await fake.stop()
    tmp.cleanup()
  })
  afterEach(() => fake.clearLog())

  /** A hosts dir whose `<host>/hosts.toml` is `toml`, with the certificate copied next to it. */
  const hostsDir = (toml: string): string => {
    const root = join(tmp.dir, `hosts-${hostsCount++}`)
    const dir = join(root, host)
    mkdirSync(dir, {recursive: true})
    copyFileSync(certPath, join(dir, 'registry.pem'))
    writeFileSync(join(dir, 'hosts.toml'), toml)
    return root
  }

  const pull = async (options: Parameters<typeof isolated>[0]): Promise<void> => {
    const reg = createRegistry(isolated(options))
    const r = await reg.resolve(ref(host, 'test/app:v1'))
    assert.equal(r.descriptor.digest, fx.ociImage.manifestDigest)
    const config = {mediaType: MediaType.ociConfig, digest: fx.ociImage.configDigest, size: fx.ociImage.configBytes.length}
    assert.deepEqual(await collect((await reg.fetchBlob(r.ref, config)).stream), fx.ociImage.configBytes)
  }

  test('--tlscacert makes the self-signed certificate trusted', async () => {
    await pull({tlsCaCert: [certPath]})
    assert.equal(fake.log.length, 2)
  })

  test('-k skips verification', async () => {
    await pull({skipVerify: true})
  })

  test('hosts.toml ca (relative to the file) and skip_verify', async () => {
    await pull({hostsDir: hostsDir(`server = "https://${host}"\nca = "registry.pem"\n`)})
    await pull({hostsDir: hostsDir(`server = "https://${host}"\nskip_verify = true\n`)})
    await pull({hostsDir: hostsDir(`[host."https://${host}"]\n  ca = "registry.pem"\n`)})
  })

  test('without a CA the certificate is refused, at once (no retries)', async () => {
    const reg = createRegistry(isolated({hostsDir: hostsDir(`server = "https://${host}"\n`)}))
    await rejectsWith(
      reg.resolve(ref(host, 'test/app:v1')),
      'unavailable',
      new RegExp(`${host.replace(/\./g, '\\.')}.*tls: .*(self[- ]signed|certificate)`, 'i'),
    )
    assert.equal(reg.stats.requests, 1)
    assert.equal(fake.log.length, 0)
  })

  test('the NODE_EXTRA_CA_CERTS file deferred by bin/run.js (BERTH_NODE_EXTRA_CA_CERTS) is trusted, with or without other CAs', async () => {
    const https = hostsDir(`server = "https://${host}"\n`)
    await pull({hostsDir: https, env: {BERTH_NODE_EXTRA_CA_CERTS: certPath}})
    await pull({hostsDir: https, extraCaFile: certPath, tlsCaCert: [certPath]})
  })

  test('an unreadable deferred CA file is ignored with a warning, as node does', async () => {
    const warnings: string[] = []
    const onWarning = (w: Error): void => void warnings.push(w.message)
    process.on('warning', onWarning)
    try {
      await pull({skipVerify: true, extraCaFile: '/nonexistent/extra.pem'})
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', onWarning)
    }
    assert.deepEqual(warnings, [
      "Ignoring extra certs from `/nonexistent/extra.pem`, load failed: ENOENT: no such file or directory, open '/nonexistent/extra.pem'",
    ])
  })

  test('a CA file that cannot be read is InvalidArgument', async () => {
    await rejectsWith(
      createRegistry(isolated({tlsCaCert: ['/nonexistent/ca.pem']})).resolve(ref(host, 'test/app:v1')),
      'invalid argument',
      /unable to read CA cert "\/nonexistent\/ca\.pem"/,
    )
  })

  test('with TLS options a localhost registry on plain HTTP is still reached (https tried first, remembered)', async () => {
    const reg = createRegistry(isolated({skipVerify: true}))
    const r = await reg.resolve(ref(fake.host, 'test/app:v1'))
    await reg.fetchManifest(r.ref, r.descriptor)
    assert.equal(fake.log.length, 2)
    assert.equal(reg.stats.requests, 3) // one failed TLS handshake, then plain HTTP for the rest
  })
})
