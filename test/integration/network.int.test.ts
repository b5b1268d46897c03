// CNI networking end to end with real runc, conmon and Debian's CNI plugins: the default bridge
// network (the sandbox's own bridge and subnet), a port published on the host's 127.0.0.1, the IPs
// in `/tasks/create`, two
// containers that reach each other over the bridge, concurrent starts that never share an
// address and make one masquerade chain for the network, a user network from --cni-netconfpath, and a kill -9 whose leftovers (pin, veth, IPAM
// reservation, iptables rules) `ctr gc` releases. Traffic stays between the host and namespaces
// the test made. Runs as root; skips elsewhere unless CI is set.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {defaultBridge} from '../../src/lib/network/networks.js'
import type {Sandbox} from '../helpers/cli.js'
import {
  attachments,
  bridgePorts,
  curl,
  deleteBridge,
  deleteDefaultNetwork,
  deleteMasquerade,
  freePort,
  httpGet,
  httpServe,
  iptablesRules,
  ipOf,
  masqueradeRules,
  networkSkipReason,
  pinsOf,
  reservations,
} from '../helpers/network.js'
import {busyboxImage} from '../helpers/oci-image.js'
import {eventsOf, processAlive, type RuntimeEnv, startRuntimeEnv, waitFor} from '../helpers/tasks.js'

const skip = networkSkipReason()

describe('CNI networks', {skip}, () => {
  let env: RuntimeEnv
  let sb: Sandbox
  let bb: string
  let bridge: string
  let subnetPrefix: string
  const userBridge = `bt-${process.pid.toString(16)}`.slice(0, 15)
  before(async () => {
    env = await startRuntimeEnv({bb: await busyboxImage()})
    sb = env.sb
    bb = env.ref('bb')
    const def = defaultBridge(sb.state)
    bridge = def.bridge
    subnetPrefix = def.subnet.split('.').slice(0, 3).join('.')
  })
  after(async () => {
    await env?.close()
    deleteDefaultNetwork(sb.state)
    deleteBridge(userBridge)
  })

  test('a published port answers on the host, the IP shows, and the exit releases everything', async () => {
    const id = env.id('web')
    const port = await freePort()
    sb.ok(['run', '-d', '--net', 'bridge', '-p', `127.0.0.1:${port}:8080`, bb, id, 'sh', '-c', httpServe('hello-from-berth', 8080)])
    const ip = ipOf(sb, id)
    assert.ok(ip.startsWith(`${subnetPrefix}.`), `${ip} is in the sandbox's subnet`)
    const listed = JSON.parse(sb.ok(['tasks', 'ls', '--format', 'json'])) as {id: string; ips?: string[]}[]
    assert.deepEqual(listed.find((t) => t.id === id)?.ips, [ip])
    // The table keeps ctr's three columns.
    assert.match(sb.ok(['tasks', 'ls']).split('\n')[0], /^TASK\s+PID\s+STATUS\s*$/)
    const got = await waitFor('the published port to answer', () => {
      const r = curl(port)
      return r.code === 0 && r.body.includes('hello-from-berth') ? r : undefined
    })
    assert.equal(got.body.trim(), 'hello-from-berth')
    const [row] = attachments(sb)
    assert.ok(row && row.result, 'the attachment is recorded with its result')
    assert.equal(pinsOf(sb).length, 1)
    assert.equal(bridgePorts(bridge).length, 1)
    assert.deepEqual(reservations(sb), [ip])
    assert.ok(iptablesRules().includes(row.cni_id), "portmap's rules name the attachment")

    // Stop: conmon's exit command runs CNI DEL.
    sb.ok(['tasks', 'kill', '-s', 'KILL', id])
    await waitFor('the network to be released', () => attachments(sb).length === 0 && pinsOf(sb).length === 0)
    assert.deepEqual(bridgePorts(bridge), [])
    assert.deepEqual(reservations(sb), [])
    const rules = iptablesRules()
    assert.equal(rules.includes(row.cni_id), false, 'no rule names the attachment')
    assert.equal(rules.includes(`${ip}/32`), false, 'no rule names the address')
    assert.notEqual(curl(port).body.includes('hello-from-berth'), true)
    sb.ok(['tasks', 'rm', id])
    sb.ok(['containers', 'rm', id])
  })

  test("/tasks/create carries a networked container's IPs (ips, beyond containerd); a container without a network has none", () => {
    const detached = env.id('ev-d')
    sb.ok(['run', '-d', '--net', 'bridge', bb, detached, 'sleep', '60'])
    const ip = ipOf(sb, detached)
    const created = (id: string) => eventsOf(sb, 'default', id).find((e) => e.topic === '/tasks/create')?.event
    const d = created(detached)
    assert.deepEqual(d?.['ips'], [ip])
    assert.deepEqual(Object.keys(d ?? {}).slice(-2), ['pid', 'ips'], "after containerd's fields")
    sb.ok(['tasks', 'rm', '-f', detached])
    sb.ok(['containers', 'rm', detached])
    const foreground = env.id('ev-fg')
    const own = sb.ok(['run', '--rm', '--cni', bb, foreground, 'sh', '-c', "ip -o -4 addr show eth0 | sed 's/.*inet \\([0-9.]*\\).*/\\1/'"]).trim()
    assert.match(own, new RegExp(`^${subnetPrefix.replace(/\./g, '\\.')}\\.\\d+$`))
    assert.deepEqual(created(foreground)?.['ips'], [own], 'the address the process saw')
    const plain = env.id('ev-none')
    sb.ok(['run', '--rm', bb, plain, 'true'])
    const p = created(plain)
    assert.ok(p && !('ips' in p), JSON.stringify(p))
  })

  test('two containers on the bridge reach each other; run --rm releases its network', async () => {
    const server = env.id('srv')
    sb.ok(['run', '-d', '--cni', bb, server, 'sh', '-c', httpServe('across-the-bridge', 8081)])
    const ip = ipOf(sb, server)
    const client = env.id('cli')
    const out = await waitFor('the server to answer the client', () => {
      const r = sb.run(['run', '--rm', '--net', 'bridge', bb, client, 'sh', '-c', httpGet(ip, 8081)])
      return r.code === 0 && r.stdout.includes('across-the-bridge') ? r.stdout : undefined
    })
    assert.match(out, /200 OK/)
    // Only the server is attached now.
    assert.deepEqual(
      attachments(sb).map((a) => a.owner_id),
      [server],
    )
    sb.ok(['tasks', 'rm', '-f', server])
    assert.deepEqual(attachments(sb), [])
    assert.deepEqual(pinsOf(sb), [])
    sb.ok(['containers', 'rm', server])
  })

  test('concurrent starts never hand out one address twice, and make one masquerade chain for the network', async () => {
    deleteMasquerade(sb.state) // earlier tests made it: these starts race to make it again
    const ids = [1, 2, 3, 4, 5].map((i) => env.id(`par${i}`))
    for (const id of ids) sb.ok(['containers', 'create', '--net', 'bridge', bb, id, 'sleep', '60'])
    const results = await Promise.all(ids.map((id) => sb.spawn(['tasks', 'start', '-d', id])))
    for (const r of results) assert.equal(r.code, 0, r.stderr)
    const ips = ids.map((id) => ipOf(sb, id))
    assert.equal(new Set(ips).size, ids.length, `distinct: ${ips.join(' ')}`)
    assert.equal(reservations(sb).length, ids.length)
    // One chain for the subnet, not the bridge plugin's chain per container.
    const {bridge: br, subnet} = defaultBridge(sb.state)
    assert.deepEqual(masqueradeRules(sb.state).sort(), [
      `-A BERTH-${br} ! -d 224.0.0.0/4 -j MASQUERADE`,
      `-A BERTH-${br} -d ${subnet} -j ACCEPT`,
      `-A POSTROUTING -s ${subnet} -j BERTH-${br}`,
      `-N BERTH-${br}`,
    ])
    const nat = spawnSync('iptables-save', ['-t', 'nat'], {encoding: 'utf8'}).stdout
    for (const row of attachments(sb)) assert.equal(nat.includes(row.cni_id), false, `no rule names attachment ${row.cni_id}`)
    await Promise.all(ids.map((id) => sb.spawn(['tasks', 'rm', '-f', id])))
    for (const id of ids) sb.ok(['containers', 'rm', id])
    assert.deepEqual(reservations(sb), [])
    assert.deepEqual(pinsOf(sb), [])
    // The chain is the network's: DEL and gc leave it, and a flushed rule set gets it back.
    sb.ok(['gc'])
    assert.equal(masqueradeRules(sb.state).length, 4)
    deleteMasquerade(sb.state)
    const again = env.id('masq')
    sb.ok(['run', '--rm', '--net', 'bridge', bb, again, 'true'])
    assert.equal(masqueradeRules(sb.state).length, 4)
  })

  test('a network config whose berthMasquerade is malformed is refused before anything starts', () => {
    const dir = join(sb.dir, 'badmasq')
    mkdirSync(dir, {recursive: true})
    const conf = {
      cniVersion: '1.0.0',
      name: 'badmasq',
      berthMasquerade: {bridge: 'bad bridge name', subnets: ['10.0.0.0/24']},
      plugins: [{type: 'loopback'}],
    }
    writeFileSync(join(dir, 'badmasq.conflist'), JSON.stringify(conf))
    const id = env.id('badmasq')
    const r = sb.run(['run', '--rm', '--cni-netconfpath', dir, '--net', 'badmasq', bb, id, 'true'])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /^ctr: .*berthMasquerade needs a bridge name/m)
    assert.deepEqual(attachments(sb), [])
    assert.deepEqual(pinsOf(sb), [])
  })

  test('a user network from --cni-netconfpath', async () => {
    const confDir = join(sb.dir, 'net.d')
    mkdirSync(confDir, {recursive: true})
    const subnet = `10.${200 + (process.pid % 50)}.${process.pid % 250}`
    writeFileSync(
      join(confDir, '10-mynet.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'mynet',
        plugins: [
          {
            type: 'bridge',
            bridge: userBridge,
            isGateway: true,
            ipam: {type: 'host-local', ranges: [[{subnet: `${subnet}.0/24`}]], dataDir: join(sb.state, 'mynet-ipam')},
          },
        ],
      }),
    )
    const id = env.id('mynet')
    const out = sb.ok(['run', '--rm', '--cni-netconfpath', confDir, '--net', 'mynet', bb, id, 'ip', '-o', '-4', 'addr', 'show', 'eth0'])
    assert.match(out, new RegExp(`inet ${subnet.replace(/\./g, '\\.')}\\.\\d+/24`))
    const missing = sb.run(['run', '--rm', '--net', 'nosuchnet', bb, env.id('nonet'), 'true'])
    assert.equal(missing.code, 125)
    assert.match(missing.stderr, /^ctr: network "nosuchnet": not found/)
    assert.deepEqual(attachments(sb), [])
  })

  test('a CNI ADD that fails while runc creates the container: its error, no process, no task, no address kept', () => {
    // bridge + host-local succeed, then tuning fails (no such sysctl): ADD runs while runc creates
    // the container, and the gate (foreground) or runc start (detached) must not let the process run.
    const confDir = join(sb.dir, 'failnet.d')
    const ipamDir = join(sb.state, 'failnet-ipam')
    const failBridge = `bf-${process.pid.toString(16)}`.slice(0, 15)
    mkdirSync(confDir, {recursive: true})
    writeFileSync(
      join(confDir, '10-failnet.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'failnet',
        plugins: [
          {type: 'bridge', bridge: failBridge, ipam: {type: 'host-local', ranges: [[{subnet: '10.254.253.0/24'}]], dataDir: ipamDir}},
          {type: 'tuning', sysctl: {'net.berth.no_such_sysctl': '1'}},
        ],
      }),
    )
    try {
      const net = ['--cni-netconfpath', confDir, '--net', 'failnet']
      const reserved = () => (existsSync(join(ipamDir, 'failnet')) ? readdirSync(join(ipamDir, 'failnet')).filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n)) : [])
      const left = () => {
        assert.deepEqual(attachments(sb), [])
        assert.deepEqual(pinsOf(sb), [])
        assert.deepEqual(reserved(), [], 'no address stays reserved')
        assert.deepEqual(bridgePorts(failBridge), [], 'no veth stays on the bridge')
        assert.equal(sb.ok(['tasks', 'ls', '-q']).trim(), '', 'no task stays')
      }
      // Foreground: run --rm (the gate hook), and tasks start of a created container.
      const fg = sb.run(['run', '--rm', ...net, bb, env.id('failfg'), 'true'])
      assert.equal(fg.code, 125, fg.stderr)
      assert.match(fg.stderr, /^ctr: CNI ADD of network "failnet", plugin tuning: .*no_such_sysctl/m)
      left()
      assert.equal(sb.ok(['containers', 'ls', '-q']).includes(env.id('failfg')), false, '--rm removed the container')
      const created = env.id('failts')
      sb.ok(['containers', 'create', ...net, bb, created, 'true'])
      const ts = sb.run(['tasks', 'start', created])
      assert.notEqual(ts.code, 0)
      assert.match(ts.stderr, /CNI ADD of network "failnet", plugin tuning/)
      left()
      // Detached: runc start waits for ADD, which fails: the created container is torn down.
      const detached = env.id('faild')
      const d = sb.run(['run', '-d', ...net, bb, detached, 'sleep', '60'])
      assert.equal(d.code, 125, d.stderr)
      assert.match(d.stderr, /CNI ADD of network "failnet", plugin tuning/)
      left()
      sb.ok(['containers', 'rm', created, detached])
    } finally {
      deleteBridge(failBridge)
    }
  })

  test('-p and --net refuse what they cannot do', () => {
    const bad = [
      [['-p', '8080:80'], /-p needs a CNI network/],
      [['--net', 'host', '-p', '1:2'], /-p cannot be used with --net host/],
      [['--net', 'bridge', '-p', '99999:80'], /invalid host port/],
      [['--net', 'host', '--net', 'bridge'], /cannot be combined/],
    ] as const
    for (const [flags, message] of bad) {
      const r = sb.run(['containers', 'create', ...flags, bb, env.id('bad'), 'true'])
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, message)
    }
  })

  test('kill -9 of conmon and the container: ctr gc releases pin, veth, reservation and rules', async () => {
    const id = env.id('killed')
    const port = await freePort()
    sb.ok(['run', '-d', '--net', 'bridge', '-p', `127.0.0.1:${port}:8082`, bb, id, 'sleep', '600'])
    const [row] = attachments(sb)
    assert.ok(row)
    const dir = join(sb.state, 'tasks', 'default', id)
    const conmon = Number(readFileSync(join(dir, 'conmon.pid'), 'utf8'))
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'))
    process.kill(conmon, 'SIGKILL')
    process.kill(pid, 'SIGKILL')
    await waitFor('both to die', () => !processAlive(conmon) && !processAlive(pid))
    assert.equal(attachments(sb).length, 1, 'nobody released it yet')
    sb.ok(['gc'])
    assert.deepEqual(attachments(sb), [])
    assert.deepEqual(pinsOf(sb), [])
    assert.deepEqual(bridgePorts(bridge), [])
    assert.deepEqual(reservations(sb), [])
    assert.equal(iptablesRules().includes(row.cni_id), false)
    sb.ok(['tasks', 'rm', id])
    sb.ok(['containers', 'rm', id])
  })
})
