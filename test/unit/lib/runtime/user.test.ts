// resolveUser against fixture /etc/passwd and /etc/group in temp rootfs directories, including hostile
// symlinks that point outside the rootfs (the host file must never be read).
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {errorKind} from '../../../../src/lib/errors/index.js'
import {parseGroup, parsePasswd, readRootFile, resolveInRoot, resolveUser, type ResolvedUser} from '../../../../src/lib/runtime/index.js'

const tmp = mkdtempSync(join(tmpdir(), 'berth-user-'))
after(() => rmSync(tmp, {recursive: true, force: true}))
let n = 0

const PASSWD = `root:x:0:0:root:/root:/bin/sh
# a comment
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
app:x:1000:1000:App User,,,:/home/app:/bin/sh
web:x:33:33:www:/var/www:/usr/sbin/nologin
broken:x:notanumber:1:bad line:/:/bin/false
+nisuser::::::

nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`
const GROUP = `root:x:0:root
bin:x:1:root,daemon
adm:x:4:root,app
app:x:1000:app
wheel:x:10: root , app
staff:x:50:
www-data:x:33:web
nogroup:x:65534:
`

/** A fresh rootfs directory with the given files (path → contents) and symlinks (path → target). */
function rootfs(files: Record<string, string> = {'etc/passwd': PASSWD, 'etc/group': GROUP}, links: Record<string, string> = {}): string {
  const root = join(tmp, `rootfs-${n++}`)
  mkdirSync(root)
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), {recursive: true})
    writeFileSync(join(root, p), text)
  }
  for (const [p, target] of Object.entries(links)) {
    mkdirSync(join(root, p, '..'), {recursive: true})
    symlinkSync(target, join(root, p))
  }
  return root
}

const fails = (kind: string, fn: () => unknown, message?: RegExp) =>
  assert.throws(fn, (err: Error) => {
    assert.equal(errorKind(err), kind, err.message)
    if (message) assert.match(err.message, message)
    return true
  })

describe('parsePasswd / parseGroup', () => {
  test('passwd: comments, NIS and malformed lines skipped', () => {
    assert.deepEqual(
      parsePasswd(PASSWD).map((p) => `${p.name}:${p.uid}:${p.gid}:${p.home}`),
      ['root:0:0:/root', 'daemon:1:1:/usr/sbin', 'app:1000:1000:/home/app', 'web:33:33:/var/www', 'nobody:65534:65534:/nonexistent'],
    )
  })
  test('group: members trimmed, empty lists empty', () => {
    const groups = parseGroup(GROUP)
    assert.deepEqual(groups.find((g) => g.name === 'wheel')!.members, ['root', 'app'])
    assert.deepEqual(groups.find((g) => g.name === 'staff')!.members, [])
  })
  test('CRLF and blank input', () => {
    assert.deepEqual(parsePasswd('a:x:1:2::/h:/s\r\n'), [{name: 'a', uid: 1, gid: 2, home: '/h', shell: '/s'}])
    assert.deepEqual(parsePasswd(''), [])
    assert.deepEqual(parseGroup('\n\n'), [])
  })
})

describe('resolveUser', () => {
  const root = rootfs()
  const table: Array<[string, string | undefined, ResolvedUser]> = [
    ['none: root 0:0, groups listing root', undefined, {uid: 0, gid: 0, additionalGids: [1, 4, 10], username: 'root', home: '/root'}],
    ['empty string is none', '', {uid: 0, gid: 0, additionalGids: [1, 4, 10], username: 'root', home: '/root'}],
    ['name (its own group "app" is not supplementary)', 'app', {uid: 1000, gid: 1000, additionalGids: [4, 10], username: 'app', home: '/home/app'}],
    ['uid with entry', '1000', {uid: 1000, gid: 1000, additionalGids: [4, 10], username: 'app', home: '/home/app'}],
    ['uid without entry: gid 0, no groups', '4242', {uid: 4242, gid: 0, additionalGids: []}],
    ['uid:gid numeric', '1000:50', {uid: 1000, gid: 50, additionalGids: [4, 10], username: 'app', home: '/home/app'}],
    ['uid:gid without entries', '4242:4343', {uid: 4242, gid: 4343, additionalGids: []}],
    ['name:group', 'app:staff', {uid: 1000, gid: 50, additionalGids: [4, 10], username: 'app', home: '/home/app'}],
    ['name:gid', 'web:0', {uid: 33, gid: 0, additionalGids: [33], username: 'web', home: '/var/www'}],
    ['uid:group', '4242:www-data', {uid: 4242, gid: 33, additionalGids: []}],
    ['root by name', 'root', {uid: 0, gid: 0, additionalGids: [1, 4, 10], username: 'root', home: '/root'}],
    ['supplementary group equal to the primary gid is kept', 'daemon', {uid: 1, gid: 1, additionalGids: [1], username: 'daemon', home: '/usr/sbin'}],
  ]
  for (const [name, user, want] of table) test(name, () => assert.deepEqual(resolveUser(root, user), want))

  const bad: Array<[string, string, string, RegExp]> = [
    ['unknown name', 'ghost', 'not found', /user "ghost": no users found/],
    ['unknown group', 'app:ghosts', 'not found', /group "ghosts": no groups found/],
    ['unknown name with gid', 'ghost:0', 'not found', /no users found/],
    ['three parts', 'a:b:c', 'invalid argument', /invalid USER value "a:b:c"/],
    ['empty user part', ':0', 'invalid argument', /invalid USER value/],
    ['empty group part', 'app:', 'invalid argument', /invalid USER value/],
    ['uid out of range', '4294967295', 'invalid argument', /out of range/],
    ['gid out of range', '0:99999999999', 'invalid argument', /out of range/],
  ]
  for (const [name, user, kind, message] of bad) test(`rejects ${name}`, () => fails(kind, () => resolveUser(root, user), message))

  test('no passwd and group files: numeric ids work, names do not', () => {
    const empty = rootfs({})
    assert.deepEqual(resolveUser(empty, undefined), {uid: 0, gid: 0, additionalGids: []})
    assert.deepEqual(resolveUser(empty, '1000'), {uid: 1000, gid: 0, additionalGids: []})
    assert.deepEqual(resolveUser(empty, '1000:1000'), {uid: 1000, gid: 1000, additionalGids: []})
    fails('not found', () => resolveUser(empty, 'app'))
    fails('not found', () => resolveUser(empty, '0:staff'))
  })
  test('no rootfs at all behaves like empty account files', () => {
    assert.deepEqual(resolveUser(undefined, '7:8'), {uid: 7, gid: 8, additionalGids: []})
    fails('not found', () => resolveUser(undefined, 'app'))
  })
  test('relative rootfs is rejected', () => fails('invalid argument', () => resolveUser('relative/root', 'app')))
  test('the default user keeps gid 0 even when passwd says otherwise (containerd)', () => {
    const odd = rootfs({'etc/passwd': 'root:x:0:5:root:/root:/bin/sh\n', 'etc/group': ''})
    assert.deepEqual(resolveUser(odd, undefined), {uid: 0, gid: 0, additionalGids: [], username: 'root', home: '/root'})
    assert.equal(resolveUser(odd, '0').gid, 5)
  })
})

describe('resolveUser never reads outside the rootfs', () => {
  const host = join(tmp, 'host-etc')
  mkdirSync(host)
  writeFileSync(join(host, 'passwd'), 'evil:x:666:666:host secret:/host:/bin/sh\n')
  writeFileSync(join(host, 'group'), 'evilgroup:x:667:root,app\n')
  const depth = '../'.repeat(30)

  const hostile: Array<[string, Record<string, string>, Record<string, string>]> = [
    ['absolute /etc/passwd symlink to a host file', {}, {'etc/passwd': join(host, 'passwd'), 'etc/group': join(host, 'group')}],
    ['relative ../../ symlink climbing out', {}, {'etc/passwd': `${depth}${host.slice(1)}/passwd`, 'etc/group': `${depth}${host.slice(1)}/group`}],
    ['/etc itself a symlink to a host directory', {}, {etc: host}],
    ['/etc a relative symlink climbing out', {}, {etc: `${depth}${host.slice(1)}`}],
  ]
  for (const [name, files, links] of hostile) {
    test(name, () => {
      const root = rootfs(files, links)
      fails('not found', () => resolveUser(root, 'evil'))
      fails('not found', () => resolveUser(root, '0:evilgroup'))
      assert.deepEqual(resolveUser(root, '666'), {uid: 666, gid: 0, additionalGids: []})
      assert.deepEqual(resolveUser(root, undefined), {uid: 0, gid: 0, additionalGids: []})
      assert.equal(readRootFile(root, '/etc/passwd'), undefined)
    })
  }
  test('symlinks are resolved inside the rootfs (absolute and relative)', () => {
    const root = rootfs(
      {'real/passwd': 'inner:x:5:5::/in:/bin/sh\n', 'real/group': 'g:x:9:inner\n'},
      {'etc/passwd': '/real/passwd', 'etc/group': '../real/group'},
    )
    assert.deepEqual(resolveUser(root, 'inner'), {uid: 5, gid: 5, additionalGids: [9], username: 'inner', home: '/in'})
    assert.equal(resolveInRoot(root, '/etc/passwd'), join(root, 'real/passwd'))
  })
  test('an absolute symlink that names the rootfs path again stays inside', () => {
    // /etc/passwd -> <rootfs>/real/passwd as a host path: inside the container that is <rootfs><rootfs>/real/passwd.
    const root = rootfs({'real/passwd': 'inner:x:5:5::/in:/bin/sh\n'})
    symlinkSync(join(root, 'real/passwd'), join(root, 'passwd-link'))
    assert.equal(resolveInRoot(root, '/passwd-link'), undefined)
  })
  test('a symlink loop is an error, not a hang', () => {
    const root = rootfs({}, {'etc/passwd': '/etc/loop', 'etc/loop': '/etc/passwd'})
    fails('failed precondition', () => resolveUser(root, 'app'), /too many levels of symbolic links/)
  })
  test('a FIFO planted as /etc/passwd is not opened for reading (would block)', () => {
    const root = rootfs({'etc/group': GROUP})
    execFileSync('mkfifo', [join(root, 'etc/passwd')])
    assert.equal(readRootFile(root, '/etc/passwd'), undefined)
    fails('not found', () => resolveUser(root, 'app'))
  })
  test('a directory as /etc/passwd counts as absent', () => {
    const root = rootfs({'etc/passwd/x': ''})
    assert.equal(readRootFile(root, '/etc/passwd'), undefined)
  })
  test('a file component in the middle of the path counts as absent', () => {
    const root = rootfs({etc: 'not a directory'})
    assert.equal(resolveInRoot(root, '/etc/passwd'), undefined)
    assert.equal(readRootFile(root, '/etc/passwd'), undefined)
  })
  test('oversized account files are refused', () => {
    const root = rootfs({'etc/passwd': 'a:x:1:1::/:/bin/sh\n'.repeat(100)})
    fails('failed precondition', () => readRootFile(root, '/etc/passwd', 100), /larger than 100 bytes/)
  })
  test('.. at the top stays at the rootfs', () => {
    const root = rootfs()
    assert.equal(resolveInRoot(root, '/../../etc/passwd'), join(root, 'etc/passwd'))
    assert.equal(resolveInRoot(root, '/'), root)
  })
})

// Layers read without a mount must show what overlayfs shows: each case is checked against a real
// read-only overlay mount of the same layers (root only; CI runs as root).
describe('readRootFile over unmounted layers agrees with an overlay mount', {
  skip: process.env['CI'] || process.getuid?.() === 0 ? false : 'needs root (overlay mount, trusted xattrs)',
}, () => {
  type Entry = string | {link: string} | 'whiteout' | 'opaque-dir' | 'dir'
  /** Layer directories (top first) from `{path: entry}` maps. */
  const layers = (...specs: Record<string, Entry>[]): string[] =>
    specs.map((spec) => {
      const dir = join(tmp, `layer-${n++}`)
      mkdirSync(dir)
      for (const [p, e] of Object.entries(spec)) {
        const at = join(dir, p)
        mkdirSync(join(at, '..'), {recursive: true})
        if (e === 'whiteout') execFileSync('mknod', [at, 'c', '0', '0'])
        else if (e === 'dir' || e === 'opaque-dir') {
          mkdirSync(at, {recursive: true})
          if (e === 'opaque-dir') execFileSync('setfattr', ['-n', 'trusted.overlay.opaque', '-v', 'y', at])
        } else if (typeof e === 'string') writeFileSync(at, e)
        else symlinkSync(e.link, at)
      }
      return dir
    })

  /** What an overlay mount of `dirs` shows at each path, and what the unmounted reader shows. */
  const compare = (dirs: string[], paths: string[]): void => {
    const mnt = join(tmp, `mnt-${n++}`)
    mkdirSync(mnt)
    // overlayfs needs two lower layers at least without an upper; a single one is a plain directory.
    const stack = dirs.length === 1 ? [...dirs, join(tmp, `empty-${n++}`)] : dirs
    if (dirs.length === 1) mkdirSync(stack[1])
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `ro,index=off,lowerdir=${stack.join(':')}`, mnt])
    try {
      for (const p of paths) assert.equal(readRootFile({layers: dirs}, p), readRootFile(mnt, p), `${p} in ${JSON.stringify(dirs)}`)
    } finally {
      execFileSync('umount', [mnt])
    }
  }
  const paths = ['/etc/passwd', '/etc/group', '/x/y', '/etc/../etc/passwd']

  test('a file in a lower layer, an upper file over it, a whiteout hiding it', () => {
    compare(layers({'etc/group': 'g-top'}, {}, {'etc/passwd': 'p-bottom', 'etc/group': 'g-bottom'}), paths)
    compare(layers({'etc/passwd': 'p-top'}, {'etc/passwd': 'p-bottom'}), paths)
    compare(layers({'etc/group': 'g'}, {'etc/passwd': 'whiteout'}, {'etc/passwd': 'p-bottom'}), paths)
    compare(layers({etc: 'whiteout'}, {'etc/passwd': 'p-bottom'}), paths)
  })

  test('an opaque directory hides the layers below it, not its own files', () => {
    compare(layers({etc: 'opaque-dir', 'etc/group': 'g-top'}, {'etc/passwd': 'p-mid'}, {'etc/passwd': 'p-bottom'}), paths)
    compare(layers({'etc/group': 'g-top'}, {etc: 'opaque-dir', 'etc/passwd': 'p-mid'}, {'etc/passwd': 'p-bottom'}), paths)
  })

  test('a file hides the directories below it, and a directory the files below it', () => {
    compare(layers({etc: 'not a dir'}, {'etc/passwd': 'p-bottom'}), paths)
    compare(layers({'x/y': 'y-top'}, {x: 'a file'}, {'x/z': 'z'}), [...paths, '/x/z'])
    compare(layers({'etc/passwd': 'p'}, {etc: 'a file'}, {'etc/group': 'g-hidden'}), paths)
  })

  test('symlinks resolve across layers, absolute and relative, and stay inside', () => {
    compare(layers({'etc/passwd': {link: '/data/pw'}}, {}, {'data/pw': 'p-data'}), paths)
    compare(layers({etc: {link: '../real/etc'}}, {'real/etc/passwd': 'p-real'}, {'etc/passwd': 'p-shadowed'}), paths)
    compare(layers({'etc/passwd': {link: '../../../../etc/shadow-outside'}}, {'etc/shadow-outside': 'inside'}), paths)
  })
})
