// Pods without an infra process, end to end with real runc, conmon and CNI plugins: members talk
// over 127.0.0.1 and share the pod's hostname and IPC namespace, the pod's published port answers
// on the host, two pods reach each other over the bridge, stop/start and a simulated reboot,
// pods rm (refused with members, --force removes everything), a kill -9 of `pods rm --force`
// whose leftovers `ctr gc` releases, ids and names, filters and events. Traffic stays between
// the host and namespaces the test made. Runs as root; skips elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {Pod, type IPod} from 'kubernetes-models/v1/Pod'
import {parse as parseYamlDocument} from 'yaml'
import {defaultBridge} from '../../src/lib/network/networks.js'
import type {Sandbox} from '../helpers/cli.js'
import {
  attachments,
  bridgePorts,
  curl,
  deleteDefaultNetwork,
  freePort,
  httpGet,
  httpServe,
  iptablesRules,
  networkSkipReason,
  pinsOf,
  reservations,
} from '../helpers/network.js'
import {busyboxImage} from '../helpers/oci-image.js'
import {mountsUnder, openDb, type RuntimeEnv, startCtr, startRuntimeEnv, storedEvents, waitFor} from '../helpers/tasks.js'

const skip = networkSkipReason()

interface PodView {
  ID: string
  Name: string
  Status: string
  Hostname: string
  Labels: Record<string, string>
  Share: string[]
  Network: {Mode: string; IPs: string[]; Ports?: string[]}
  K8sNamespace: string
  UID: string
  Attempt: number
  Pins: Record<string, string>
  Containers: {ID: string; Status: string}[]
}

describe('pods', {skip}, () => {
  let env: RuntimeEnv
  let sb: Sandbox
  let bb: string
  let bridge: string
  before(async () => {
    env = await startRuntimeEnv({bb: await busyboxImage()}, ['default', 'other'])
    sb = env.sb
    bb = env.ref('bb')
    bridge = defaultBridge(sb.state).bridge
  })
  after(async () => {
    if (sb)
      for (const ns of ['default', 'other', 'third'])
        for (const id of sb.run(['-n', ns, 'pods', 'ls', '-q']).stdout.split('\n').filter(Boolean)) sb.run(['-n', ns, 'pods', 'rm', '--force', id])
    await env?.close()
    deleteDefaultNetwork(sb.state)
  })

  const inspect = (pod: string, ns = 'default') => JSON.parse(sb.ok(['-n', ns, 'pods', 'inspect', pod])) as PodView
  const nsInode = (file: string) => statSync(file).ino

  /** Nothing of the sandbox's networking is left: no pin, attachment, veth, reservation or rule. */
  const assertNothingLeft = (cniIds: string[]) => {
    assert.deepEqual(pinsOf(sb), [])
    assert.deepEqual(attachments(sb), [])
    assert.deepEqual(bridgePorts(bridge), [])
    assert.deepEqual(reservations(sb), [])
    const rules = iptablesRules()
    for (const id of cniIds) assert.equal(rules.includes(id), false, `no rule names ${id}`)
  }

  test('members share 127.0.0.1, hostname and IPC; the pod publishes a port; rm --force removes it all', async () => {
    const port = await freePort()
    const name = env.id('web')
    const podId = sb
      .ok([
        'pods',
        'create',
        '--hostname',
        'webhost',
        '--label',
        'app=web',
        '--k8s-namespace',
        'prod',
        '--uid',
        'u-123',
        '--attempt',
        '2',
        '-p',
        `127.0.0.1:${port}:8080`,
        name,
      ])
      .trim()
    assert.match(podId, /^[0-9a-f]{64}$/)
    let view = inspect(name)
    assert.equal(view.Status, 'Created')
    assert.deepEqual(view.Share, ['net', 'ipc', 'uts'])
    assert.equal(view.K8sNamespace, 'prod')
    assert.equal(view.UID, 'u-123')
    assert.equal(view.Attempt, 2)
    assert.equal(view.Network.IPs.length, 1)
    assert.deepEqual(view.Network.Ports, [`127.0.0.1:${port}:8080/tcp`])
    assert.equal(pinsOf(sb).length, 3)

    const server = env.id('server')
    sb.ok(['run', '-d', '--pod', name, bb, server, 'sh', '-c', httpServe('pod-page', 8080)])
    const client = env.id('client')
    const out = await waitFor('the server to answer on 127.0.0.1', () => {
      const r = sb.run([
        'run',
        '--rm',
        '--pod',
        podId.slice(0, 12),
        bb,
        client,
        'sh',
        '-c',
        `hostname; readlink /proc/self/ns/ipc; readlink /proc/self/ns/net; ${httpGet('127.0.0.1', 8080)}`,
      ])
      return r.code === 0 && r.stdout.includes('pod-page') ? r.stdout : undefined
    })
    const [hostname, ipc, net] = out.split('\n')
    assert.equal(hostname, 'webhost')
    assert.equal(ipc, `ipc:[${nsInode(view.Pins['ipc'])}]`)
    assert.equal(net, `net:[${nsInode(view.Pins['net'])}]`)
    // The server runs in the same namespaces.
    const serverPid = Number(readFileSync(join(sb.state, 'tasks', 'default', server, 'pid'), 'utf8'))
    assert.equal(statSync(`/proc/${serverPid}/ns/ipc`).ino, nsInode(view.Pins['ipc']))
    assert.equal(statSync(`/proc/${serverPid}/ns/uts`).ino, nsInode(view.Pins['uts']))
    // The published port answers on the host.
    const page = await waitFor('the published port', () => {
      const r = curl(port)
      return r.code === 0 && r.body.includes('pod-page') ? r.body : undefined
    })
    assert.equal(page.trim(), 'pod-page')

    view = inspect(name)
    assert.equal(view.Status, 'Running')
    assert.deepEqual(view.Containers, [{ID: server, Status: 'RUNNING'}])
    const info = JSON.parse(sb.ok(['containers', 'info', server])) as {
      Spec: {hostname?: string; linux: {namespaces: {type: string; path?: string}[]}}
      Berth: {Pod: {ID: string; Name: string}; Network: {Mode: string; IPs: string[]}; Metadata: Record<string, unknown>; WorkDir: string; RunDir: string}
    }
    assert.equal(info.Spec.hostname, undefined, "a member's spec has no hostname")
    assert.deepEqual(
      info.Spec.linux.namespaces
        .filter((n) => n.path)
        .map((n) => n.type)
        .sort(),
      ['ipc', 'network', 'uts'],
    )
    assert.deepEqual(info.Berth.Pod, {ID: podId, Name: name})
    assert.equal(info.Berth.Network.Mode, 'pod')
    assert.deepEqual(info.Berth.Network.IPs, view.Network.IPs)
    assert.equal(info.Berth.Metadata['pod-name'], name)
    assert.equal(info.Berth.Metadata['pod-id'], podId)
    assert.equal(info.Berth.Metadata['namespace'], 'prod')
    assert.equal(info.Berth.Metadata['attempt'], 2)
    assert.match(String(info.Berth.Metadata['image-id']), /^sha256:/)
    assert.ok(existsSync(info.Berth.WorkDir) && info.Berth.WorkDir.startsWith(sb.root))
    assert.ok(existsSync(info.Berth.RunDir) && info.Berth.RunDir.startsWith(sb.state))

    const refused = sb.run(['pods', 'rm', name])
    assert.equal(refused.code, 5)
    assert.equal(refused.stderr, `ctr: pod "${name}" has containers: ${server} (use --force): failed precondition\n`)
    const cniIds = attachments(sb).map((a) => a.cni_id)
    sb.ok(['pods', 'rm', '--force', name])
    assert.equal(sb.ok(['pods', 'ls', '-q']), '')
    assert.equal(sb.ok(['containers', 'ls', '-q']), '')
    assert.equal(sb.ok(['tasks', 'ls', '-q']), '')
    assert.equal(sb.ok(['snapshots', 'ls']).includes(server), false)
    assert.equal(existsSync(info.Berth.WorkDir), false)
    assert.equal(existsSync(info.Berth.RunDir), false)
    assert.deepEqual(mountsUnder(sb.dir), [])
    assertNothingLeft(cniIds)
    assert.notEqual(curl(port).body.includes('pod-page'), true)
  })

  test('two pods get different IPs and reach each other over the bridge', async () => {
    const a = env.id('pa')
    const b = env.id('pb')
    sb.ok(['pods', 'create', a])
    sb.ok(['pods', 'create', b])
    const ipA = inspect(a).Network.IPs[0]
    const ipB = inspect(b).Network.IPs[0]
    assert.ok(ipA && ipB)
    assert.notEqual(ipA, ipB)
    sb.ok(['run', '-d', '--pod', a, bb, env.id('pa-srv'), 'sh', '-c', httpServe('from-pod-a', 8090)])
    const out = await waitFor('pod b to reach pod a', () => {
      const r = sb.run(['run', '--rm', '--pod', b, bb, env.id('pb-cli'), 'sh', '-c', httpGet(ipA, 8090)])
      return r.code === 0 && r.stdout.includes('from-pod-a') ? r.stdout : undefined
    })
    assert.match(out, /200 OK/)
    const ls = sb.ok(['pods', 'ls']).split('\n')
    assert.match(ls[0], /^POD\s+NAME\s+STATUS\s+CONTAINERS\s+IP\s*$/)
    assert.ok(
      ls.some((l) => l.includes(a) && /\bRunning\b/.test(l) && l.includes(ipA)),
      ls.join('\n'),
    )
    assert.ok(
      ls.some((l) => l.includes(b) && /\bCreated\b/.test(l) && l.includes(ipB)),
      ls.join('\n'),
    )
    const cniIds = attachments(sb).map((x) => x.cni_id)
    sb.ok(['pods', 'rm', '--force', a, b])
    assertNothingLeft(cniIds)
  })

  test('stop and start; after a reboot (state gone) the pod is stopped and starts again', async () => {
    const name = env.id('cycle')
    sb.ok(['pods', 'create', '--network', 'none', name])
    const member = env.id('cycle-m')
    sb.ok(['run', '-d', '--pod', name, bb, member, 'sleep', '600'])
    assert.equal(inspect(name).Status, 'Running')
    sb.ok(['pods', 'stop', '-t', '1', name])
    let view = inspect(name)
    assert.equal(view.Status, 'Stopped')
    assert.deepEqual(view.Containers, [{ID: member, Status: 'STOPPED'}])
    assert.deepEqual(pinsOf(sb), [])
    sb.ok(['pods', 'start', name])
    view = inspect(name)
    assert.equal(view.Status, 'Running')
    assert.deepEqual(view.Containers, [{ID: member, Status: 'RUNNING'}])
    assert.equal(pinsOf(sb).length, 3)

    // A reboot: every process and mount gone, and the volatile state dir with them. The member's
    // monitor (conmon and its exit command) finishes after `pods stop` has seen the exit; a reboot
    // would have ended it too, so wait for it rather than remove the dir under its feet.
    sb.ok(['pods', 'stop', '-t', '0', name])
    await waitFor('no process of the sandbox left', () => {
      const ps = spawnSync('ps', ['-eo', 'args'], {encoding: 'utf8'}).stdout
      return ps.split('\n').every((args) => !args.includes(sb.state))
    })
    rmSync(sb.state, {recursive: true, force: true})
    assert.equal(inspect(name).Status, 'Stopped')
    sb.ok(['pods', 'start', name])
    view = inspect(name)
    assert.equal(view.Status, 'Running')
    assert.deepEqual(view.Containers, [{ID: member, Status: 'RUNNING'}])
    sb.ok(['pods', 'rm', '-f', name])
    assert.deepEqual(pinsOf(sb), [])
  })

  test('two members starting at once on a stopped pod pin it once (regression: both pinned, one unpinned the other)', async () => {
    const name = env.id('race')
    sb.ok(['pods', 'create', name])
    const members = [env.id('race-1'), env.id('race-2')]
    for (const m of members) sb.ok(['containers', 'create', '--pod', name, bb, m, 'sleep', '600'])
    sb.ok(['pods', 'stop', name])
    assert.deepEqual(pinsOf(sb), [])
    const results = await Promise.all(members.map((m) => sb.spawn(['tasks', 'start', '-d', m])))
    for (const r of results) assert.equal(r.code, 0, r.stderr)
    const view = inspect(name)
    assert.equal(view.Status, 'Running')
    assert.equal(view.Network.IPs.length, 1)
    for (const m of members) {
      const pid = Number(readFileSync(join(sb.state, 'tasks', 'default', m, 'pid'), 'utf8'))
      for (const kind of ['net', 'uts', 'ipc']) assert.equal(statSync(`/proc/${pid}/ns/${kind}`).ino, nsInode(view.Pins[kind]), `${m} ${kind}`)
    }
    assert.equal(pinsOf(sb).length, 3)
    assert.equal(attachments(sb).length, 1)
    const events = storedEvents(sb).filter((e) => e.topic === '/pods/start' && e.event['id'] === view.ID)
    assert.equal(events.length, 1)
    sb.ok(['pods', 'rm', '--force', name])
    assert.deepEqual(pinsOf(sb), [])
  })

  test('a member start in progress is not taken for a dead task by pods inspect (regression: recorded as exited 255)', async () => {
    const name = env.id('starting')
    const member = env.id('starting-m')
    sb.ok(['pods', 'create', '--network', 'none', name])
    sb.ok(['containers', 'create', '--pod', name, bb, member, 'sleep', '600'])
    // What a detached start has recorded before its process exists, while it holds the task lock.
    const db = openDb(sb, {readonly: false})
    try {
      const now = Date.now() * 1000
      db.prepare(
        'INSERT INTO tasks (namespace, container_id, instance, status, monitor, monitor_pid, boot_id, terminal, created_at, updated_at) VALUES ' +
          "('default', ?, 'i1', 'created', 'conmon', 0, ?, 0, ?, ?)",
      ).run(member, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), now, now)
    } finally {
      db.close()
    }
    // flock's child (sleep) inherits the lock: the holder gets its own process group, killed whole.
    const holder = spawn('flock', [join(sb.state, 'locks', `task.default.${member}`), 'sleep', '30'], {stdio: 'ignore', detached: true})
    try {
      await waitFor('the lock to be held', () => spawnSync('flock', ['-n', join(sb.state, 'locks', `task.default.${member}`), 'true']).status !== 0)
      assert.deepEqual(inspect(name).Containers, [{ID: member, Status: 'CREATED'}])
    } finally {
      const exited = new Promise((r) => holder.once('exit', r))
      process.kill(-holder.pid!, 'SIGKILL')
      await exited
      await waitFor('the lock to be free', () => spawnSync('flock', ['-n', join(sb.state, 'locks', `task.default.${member}`), 'true']).status === 0)
    }
    // With the lock free, the start is known dead: its exit is recorded as unknown.
    assert.deepEqual(inspect(name).Containers, [{ID: member, Status: 'STOPPED'}])
    sb.ok(['pods', 'rm', '--force', name])
  })

  test('kill -9 of pods rm --force: rm again and ctr gc leave nothing behind', async () => {
    const name = env.id('killed')
    sb.ok(['pods', 'create', '-p', `127.0.0.1:${await freePort()}:80`, name])
    const members = [env.id('k1'), env.id('k2')]
    for (const m of members) sb.ok(['run', '-d', '--pod', name, bb, m, 'sleep', '600'])
    const podId = inspect(name).ID
    const cniIds = attachments(sb).map((x) => x.cni_id)
    const rm = startCtr(sb, ['pods', 'rm', '--force', name])
    await new Promise((r) => setTimeout(r, 400))
    rm.child.kill('SIGKILL')
    await rm.exited
    // Whatever the kill interrupted, the record (if still there) is removed and GC releases the rest.
    const again = sb.run(['pods', 'rm', '--force', name])
    assert.ok(again.code === 0 || again.stderr === `ctr: pod ${JSON.stringify(name)}: not found\n`, again.stderr)
    sb.ok(['gc'])
    // Only this test's pod and members: the sandbox is shared with the other tests of the file.
    assert.equal(sb.ok(['pods', 'ls', '-q']).split('\n').includes(podId), false)
    const containers = sb.ok(['containers', 'ls', '-q']).split('\n')
    for (const m of members) assert.equal(containers.includes(m), false, m)
    assert.deepEqual(mountsUnder(sb.dir), [])
    assertNothingLeft(cniIds)
    const left = spawnSync('sh', ['-c', `ps -eo args | grep -c '${sb.dir}' || true`], {encoding: 'utf8'})
    assert.ok(Number(left.stdout.trim()) <= 2, 'no monitor of the sandbox is left')
  })

  test('generate-kube, then play-kube into a namespace without the image: same manifest, the port answers', async () => {
    const name = env.id('kube')
    const port = await freePort()
    const server = env.id('kube-srv')
    sb.ok(['pods', 'create', '--k8s-namespace', 'prod', '--label', 'app=kube', '--hostname', 'kubehost', '-p', `127.0.0.1:${port}:8080`, name])
    sb.ok([
      'containers',
      'create',
      '--pod',
      name,
      '--env',
      'GREETING=hi there',
      '--cwd',
      '/tmp',
      '--memory-limit',
      String(32 << 20),
      '--cpus',
      '0.5',
      bb,
      server,
      'sh',
      '-c',
      httpServe('kube-page', 8080),
    ])
    const yaml = sb.ok(['pods', 'generate-kube', name])
    // kubectl's layout, read back as kubectl reads it (YAML 1.1), and valid against the official schema.
    assert.match(
      yaml,
      new RegExp(
        `^apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: prod\n  labels:\n    app: kube\nspec:\n  containers:\n  - name: ${server}\n`,
      ),
    )
    const doc = parseYamlDocument(yaml, {version: '1.1'}) as IPod
    new Pod(doc).validate()
    assert.deepEqual(Object.keys(doc), ['apiVersion', 'kind', 'metadata', 'spec'])
    assert.deepEqual(Object.keys(doc.spec!), ['containers', 'hostname'])
    assert.equal(doc.spec!.hostname, 'kubehost')
    const [c] = doc.spec!.containers
    assert.deepEqual(Object.keys(c), ['name', 'image', 'command', 'env', 'workingDir', 'resources', 'ports'])
    assert.equal(c.image, bb)
    assert.equal(c.workingDir, '/tmp')
    assert.ok(c.env!.some((e) => e.name === 'GREETING' && e.value === 'hi there'))
    assert.deepEqual(c.ports, [{containerPort: 8080, hostPort: port, hostIP: '127.0.0.1', protocol: 'TCP'}])
    assert.deepEqual(c.resources, {limits: {memory: '33554432', cpu: '500m'}})
    sb.ok(['pods', 'rm', '--force', name])

    const file = join(sb.dir, 'pod.yaml')
    writeFileSync(file, yaml)
    assert.equal(sb.run(['-n', 'third', 'images', 'ls', '-q']).stdout, '', 'the namespace has no image yet')
    sb.ok(['-n', 'third', 'pods', 'play-kube', file])
    const page = await waitFor('the played pod to answer', () => {
      const r = curl(port)
      return r.code === 0 && r.body.includes('kube-page') ? r.body : undefined
    })
    assert.equal(page.trim(), 'kube-page')
    assert.equal(sb.ok(['-n', 'third', 'pods', 'generate-kube', name]), yaml)
    assert.equal(inspect(name, 'third').Status, 'Running')
    const again = sb.run(['-n', 'third', 'pods', 'play-kube', file])
    assert.equal(again.code, 4, again.stderr)
    writeFileSync(file, yaml.replace('spec:\n', 'spec:\n  volumes: []\n'))
    const refused = sb.run(['-n', 'third', 'pods', 'play-kube', file])
    assert.equal(refused.code, 2)
    assert.equal(refused.stderr, 'ctr: play-kube: spec.volumes is not supported: invalid argument\n')
    writeFileSync(file, yaml.replace('containerPort: 8080', 'containerPort: "http"'))
    const invalid = sb.run(['-n', 'third', 'pods', 'play-kube', file])
    assert.equal(invalid.code, 2)
    assert.equal(
      invalid.stderr,
      'ctr: play-kube: the manifest does not match the Kubernetes v1 Pod schema: spec.containers[0].ports[0].containerPort must be integer: invalid argument\n',
    )
    sb.ok(['-n', 'third', 'pods', 'rm', '--force', name])
    assert.deepEqual(pinsOf(sb), [])
  })

  test('ids and names: disjoint from containers, unique per namespace; filters; events', async () => {
    const name = env.id('ids')
    const cid = env.id('ids-c')
    sb.ok(['containers', 'create', bb, cid, 'true'])
    const taken = sb.run(['pods', 'create', '--network', 'none', '--id', cid, name])
    assert.equal(taken.code, 4, taken.stderr)
    assert.match(taken.stderr, /a container has this id/)
    sb.ok(['pods', 'create', '--network', 'none', '--id', `${name}-id`, '--label', 'tier=db', name])
    const dupName = sb.run(['pods', 'create', '--network', 'none', name])
    assert.equal(dupName.code, 4)
    assert.match(dupName.stderr, /pod name .* already exists/)
    const ctrTaken = sb.run(['containers', 'create', bb, `${name}-id`, 'true'])
    assert.equal(ctrTaken.code, 4)
    assert.match(ctrTaken.stderr, /a pod has this id/)
    // Another namespace may reuse the name.
    sb.ok(['-n', 'other', 'pods', 'create', '--network', 'none', name])
    sb.ok(['pods', 'create', '--network', 'none', '--share', 'ipc', `${name}-2`])
    assert.deepEqual(inspect(`${name}-2`).Share, ['ipc'])
    assert.equal(sb.ok(['pods', 'ls', '-q', 'labels.tier==db']), `${name}-id\n`)
    assert.equal(
      sb
        .ok(['pods', 'ls', '-q', `name==${name}-2`])
        .split('\n')
        .filter(Boolean).length,
      1,
    )
    assert.equal(sb.ok(['pods', 'ls', '-q', 'status==created']).split('\n').filter(Boolean).length, 2)
    const json = JSON.parse(sb.ok(['pods', 'ls', '--format', 'json', 'labels.tier==db'])) as PodView[]
    assert.deepEqual(
      json.map((p) => p.Name),
      [name],
    )
    const bad = sb.run(['pods', 'create', '--share', 'pid', `${name}-3`])
    assert.equal(bad.code, 2)
    sb.ok(['pods', 'stop', name])
    sb.ok(['pods', 'start', name])
    sb.ok(['pods', 'rm', name, `${name}-2`])
    sb.ok(['containers', 'rm', cid])
    const topics = storedEvents(sb)
      .filter((e) => e.namespace === 'default' && e.topic.startsWith('/pods/') && e.event['id'] === `${name}-id`)
      .map((e) => e.topic)
    assert.deepEqual(topics, ['/pods/create', '/pods/stop', '/pods/start', '/pods/delete'])
    // namespaces rm counts pods as owned objects.
    const refused = sb.run(['namespaces', 'rm', 'other'])
    assert.equal(refused.code, 5)
    assert.match(refused.stderr, /pods/)
    sb.ok(['namespaces', 'rm', '--force', 'other'])
    assert.deepEqual(pinsOf(sb), [])
  })
})
