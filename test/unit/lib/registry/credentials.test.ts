// Credentials and challenges: `--user`, Docker's config.json (auths, credHelpers, credsStore through a fake
// `docker-credential-test` on PATH), containers' auth.json, WWW-Authenticate parsing, registry error messages, and
// the client pulling with each credential source.
import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {parseChallenges, serverMessage} from '../../../../src/lib/registry/auth.js'
import {CredentialStore, parseUserFlag} from '../../../../src/lib/registry/credentials.js'
import {createRegistry} from '../../../../src/lib/registry/index.js'
import {startFakeRegistry, type FakeRegistry} from '../../../helpers/fake-registry.js'
import {buildFixtures, isolated, ref, rejectsWith, tempDir} from './fixtures.js'

const tmp = tempDir('berth-creds-')
after(() => tmp.cleanup())
const b64 = (s: string) => Buffer.from(s).toString('base64')
let n = 0

function writeJson(doc: unknown): string {
  const path = join(tmp.dir, `file-${n++}.json`)
  writeFileSync(path, JSON.stringify(doc))
  return path
}

/** A `docker-credential-<name>` script: logs the server it was asked about, answers from a table, exits 1 otherwise. */
function helperDir(name: string, table: Record<string, {Username: string; Secret: string}>): {dir: string; asked(): string[]} {
  const dir = join(tmp.dir, `bin-${n++}`)
  mkdirSync(dir)
  const log = join(dir, 'asked.log')
  writeFileSync(log, '')
  const cases = Object.entries(table)
    .map(([server, c]) => `  ${JSON.stringify(server)}) printf '%s' '${JSON.stringify({ServerURL: server, ...c})}' ;;`)
    .join('\n')
  const script = `#!/bin/sh
[ "$1" = get ] || exit 2
read -r server
printf '%s\\n' "$server" >> ${JSON.stringify(log)}
case "$server" in
${cases}
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`
  const path = join(dir, `docker-credential-${name}`)
  writeFileSync(path, script)
  chmodSync(path, 0o755)
  return {
    dir,
    asked: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => l !== ''),
  }
}

const PATH = process.env['PATH'] ?? '/usr/bin:/bin'
const nowhere = '/nonexistent/berth.json'

describe('credentials', () => {
  test('parseUserFlag splits at the first colon', () => {
    assert.deepEqual(parseUserFlag('alice:pa:ss'), {username: 'alice', secret: 'pa:ss'})
    assert.deepEqual(parseUserFlag('alice'), {username: 'alice', secret: ''})
  })

  test('--user wins over every file', async () => {
    const config = writeJson({auths: {'r.example.com': {auth: b64('file:user')}}})
    const store = new CredentialStore({user: 'flag:user', dockerConfigPath: config, authJsonPath: nowhere, env: {}})
    assert.deepEqual(await store.get('r.example.com'), {username: 'flag', secret: 'user'})
  })

  test('config.json auths: exact keys, URL keys, Docker Hub aliases, old username/password, identity tokens', async () => {
    const config = writeJson({
      auths: {
        'r.example.com': {auth: b64('alice:secret:with:colons')},
        'https://u.example.com:5000/v1/': {auth: b64('url:key')},
        'https://index.docker.io/v1/': {auth: b64('hub:user')},
        'old.example.com': {username: 'old', password: 'style'},
        'token.example.com': {auth: b64('ignored:x'), identitytoken: 'refresh-me'},
        'empty.example.com': {},
      },
    })
    const store = new CredentialStore({dockerConfigPath: config, authJsonPath: nowhere, env: {}})
    assert.deepEqual(await store.get('r.example.com'), {username: 'alice', secret: 'secret:with:colons'})
    assert.deepEqual(await store.get('u.example.com:5000'), {username: 'url', secret: 'key'})
    assert.deepEqual(await store.get('registry-1.docker.io'), {username: 'hub', secret: 'user'})
    assert.deepEqual(await store.get('old.example.com'), {username: 'old', secret: 'style'})
    assert.deepEqual(await store.get('token.example.com'), {username: '', secret: 'refresh-me'})
    assert.equal(await store.get('empty.example.com'), undefined)
    assert.equal(await store.get('unknown.example.com'), undefined)
  })

  test('DOCKER_CONFIG and HOME pick the default config.json', async () => {
    const dir = join(tmp.dir, `dc-${n++}`)
    mkdirSync(join(dir, '.docker'), {recursive: true})
    writeFileSync(join(dir, 'config.json'), JSON.stringify({auths: {'a.example.com': {auth: b64('from:dockerconfig')}}}))
    writeFileSync(join(dir, '.docker', 'config.json'), JSON.stringify({auths: {'a.example.com': {auth: b64('from:home')}}}))
    assert.deepEqual(await new CredentialStore({authJsonPath: nowhere, env: {DOCKER_CONFIG: dir}}).get('a.example.com'), {
      username: 'from',
      secret: 'dockerconfig',
    })
    assert.deepEqual(await new CredentialStore({authJsonPath: nowhere, env: {HOME: dir}}).get('a.example.com'), {username: 'from', secret: 'home'})
  })

  test('credHelpers and credsStore run docker-credential-<name> get with the server on stdin', async () => {
    const helper = helperDir('test', {
      'h.example.com': {Username: 'helped', Secret: 's1'},
      'https://index.docker.io/v1/': {Username: 'hubhelped', Secret: 's2'},
      'tok.example.com': {Username: '<token>', Secret: 'identity'},
    })
    const env = {PATH: `${helper.dir}:${PATH}`}
    const config = writeJson({
      credHelpers: {'h.example.com': 'test', 'docker.io': 'test', 'tok.example.com': 'test', 'miss.example.com': 'test'},
      auths: {'miss.example.com': {auth: b64('file:fallback')}},
    })
    const store = new CredentialStore({dockerConfigPath: config, authJsonPath: nowhere, env})
    assert.deepEqual(await store.get('h.example.com'), {username: 'helped', secret: 's1'})
    assert.deepEqual(await store.get('registry-1.docker.io'), {username: 'hubhelped', secret: 's2'})
    assert.deepEqual(await store.get('tok.example.com'), {username: '', secret: 'identity'})
    assert.deepEqual(await store.get('miss.example.com'), {username: 'file', secret: 'fallback'})
    assert.deepEqual(helper.asked(), ['h.example.com', 'https://index.docker.io/v1/', 'tok.example.com', 'miss.example.com'])
    // cached: asking again runs nothing
    await store.get('h.example.com')
    assert.equal(helper.asked().length, 4)

    const store2 = new CredentialStore({dockerConfigPath: writeJson({credsStore: 'test'}), authJsonPath: nowhere, env})
    assert.deepEqual(await store2.get('h.example.com'), {username: 'helped', secret: 's1'})
    // a helper that is not installed means no credentials, not an error
    const store3 = new CredentialStore({dockerConfigPath: writeJson({credsStore: 'not-installed-anywhere'}), authJsonPath: nowhere, env})
    assert.equal(await store3.get('h.example.com'), undefined)
  })

  test('auth.json: explicit path, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, and namespaced keys', async () => {
    const authJson = writeJson({auths: {'p.example.com': {auth: b64('pod:man')}, 'p.example.com/team': {auth: b64('team:only')}}})
    const explicit = new CredentialStore({dockerConfigPath: nowhere, authJsonPath: authJson, env: {}})
    assert.deepEqual(await explicit.get('p.example.com'), {username: 'pod', secret: 'man'})
    assert.deepEqual(await explicit.get('p.example.com', 'p.example.com/team/app'), {username: 'team', secret: 'only'})
    assert.deepEqual(await explicit.get('p.example.com', 'p.example.com/other/app'), {username: 'pod', secret: 'man'})
    const byEnv = new CredentialStore({dockerConfigPath: nowhere, env: {REGISTRY_AUTH_FILE: authJson}})
    assert.deepEqual(await byEnv.get('p.example.com'), {username: 'pod', secret: 'man'})
    const runtime = join(tmp.dir, `run-${n++}`)
    mkdirSync(join(runtime, 'containers'), {recursive: true})
    writeFileSync(join(runtime, 'containers', 'auth.json'), JSON.stringify({auths: {'p.example.com': {auth: b64('xdg:runtime')}}}))
    const byXdg = new CredentialStore({dockerConfigPath: nowhere, env: {XDG_RUNTIME_DIR: runtime}})
    assert.deepEqual(await byXdg.get('p.example.com'), {username: 'xdg', secret: 'runtime'})
    // Docker's file comes first
    const both = new CredentialStore({dockerConfigPath: writeJson({auths: {'p.example.com': {auth: b64('docker:first')}}}), authJsonPath: authJson, env: {}})
    assert.deepEqual(await both.get('p.example.com'), {username: 'docker', secret: 'first'})
  })

  test('an invalid credentials file is InvalidArgument naming it', async () => {
    const path = join(tmp.dir, 'broken.json')
    writeFileSync(path, '{"auths": ')
    await assert.rejects(
      new CredentialStore({dockerConfigPath: path, env: {}}).get('x.example.com'),
      (err: Error) => errorKind(err) === 'invalid argument' && err.message.includes(path),
    )
  })
})

describe('WWW-Authenticate and error bodies', () => {
  const cases: [string, ReturnType<typeof parseChallenges>][] = [
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [{scheme: 'bearer', params: {realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull'}}],
    ],
    ['Basic realm="Registry Realm"', [{scheme: 'basic', params: {realm: 'Registry Realm'}}]],
    [
      'Bearer realm="https://x/token", scope="repository:a:pull,push", error="insufficient_scope"',
      [{scheme: 'bearer', params: {realm: 'https://x/token', scope: 'repository:a:pull,push', error: 'insufficient_scope'}}],
    ],
    [
      'Basic realm="a", Bearer realm="https://b", service=plain',
      [
        {scheme: 'basic', params: {realm: 'a'}},
        {scheme: 'bearer', params: {realm: 'https://b', service: 'plain'}},
      ],
    ],
    ['Bearer realm="quo\\"ted"', [{scheme: 'bearer', params: {realm: 'quo"ted'}}]],
    ['Negotiate', [{scheme: 'negotiate', params: {}}]],
    ['', []],
  ]
  for (const [header, want] of cases) {
    test(`parses ${JSON.stringify(header)}`, () => assert.deepEqual(parseChallenges(header), want))
  }

  test('serverMessage reads registry error JSON, else the text', () => {
    assert.equal(serverMessage('{"errors":[{"code":"DENIED","message":"no way"}]}'), 'denied: no way')
    assert.equal(serverMessage('{"errors":[{"code":"A","message":"x"},{"code":"B","message":"y"}]}'), 'a: x; b: y')
    assert.equal(serverMessage('{"details":"incorrect username or password"}'), 'incorrect username or password')
    assert.equal(serverMessage(' plain text \n'), 'plain text')
    assert.equal(serverMessage(''), '')
  })
})

describe('pulling with credentials from each source', () => {
  let fake: FakeRegistry
  before(async () => {
    const fx = await buildFixtures()
    fake = await startFakeRegistry({auth: {mode: 'basic', user: 'carol', password: 'pw'}, images: {'test/app:v1': fx.ociImage}})
  })
  after(() => fake.stop())

  test('config.json auths', async () => {
    const reg = createRegistry(isolated({dockerConfigPath: writeJson({auths: {[fake.host]: {auth: b64('carol:pw')}}})}))
    await reg.resolve(ref(fake.host, 'test/app:v1'))
  })

  test('a credential helper on PATH', async () => {
    const helper = helperDir('test', {[fake.host]: {Username: 'carol', Secret: 'pw'}})
    const reg = createRegistry(isolated({dockerConfigPath: writeJson({credHelpers: {[fake.host]: 'test'}}), env: {PATH: `${helper.dir}:${PATH}`}}))
    await reg.resolve(ref(fake.host, 'test/app:v1'))
    assert.deepEqual(helper.asked(), [fake.host])
  })

  test('auth.json', async () => {
    const reg = createRegistry(isolated({authJsonPath: writeJson({auths: {[fake.host]: {auth: b64('carol:pw')}}})}))
    await reg.resolve(ref(fake.host, 'test/app:v1'))
  })

  test('wrong stored credentials are PermissionDenied', async () => {
    const reg = createRegistry(isolated({authJsonPath: writeJson({auths: {[fake.host]: {auth: b64('carol:wrong')}}})}))
    await rejectsWith(reg.resolve(ref(fake.host, 'test/app:v1')), 'permission denied', /pull access denied/)
  })
})
