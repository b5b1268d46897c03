// Host-side views of Berth's networking for integration tests: free ports, curl on 127.0.0.1,
// attachment rows, pins, bridge ports, host-local reservations and iptables rules.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {createServer} from 'node:net'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {defaultBridge} from '../../src/lib/network/networks.js'
import type {Sandbox} from './cli.js'
import {openDb, runtimeSkipReason} from './tasks.js'

/** Why network tests cannot run here (runtime tests' reasons, or no CNI plugins); CI never skips. */
export function networkSkipReason(): string | false {
  if (process.env['CI']) return false
  return runtimeSkipReason() || (existsSync('/usr/lib/cni/bridge') ? false : 'needs containernetworking-plugins')
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}

/** Fetch http://127.0.0.1:<port>/ with curl on the host (busybox wget crashes there). */
export function curl(port: number): {code: number | null; body: string} {
  const r = spawnSync('curl', ['-s', '--max-time', '5', `http://127.0.0.1:${port}/`], {encoding: 'utf8'})
  return {code: r.status, body: r.stdout}
}

/** The attachment rows of the sandbox, straight from meta.db. */
export function attachments(sb: Sandbox): {cni_id: string; owner_id: string; network: string; result: string | null}[] {
  const db = openDb(sb)
  try {
    return db.prepare('SELECT cni_id, owner_id, network, result FROM net_attachments').all() as {
      cni_id: string
      owner_id: string
      network: string
      result: string | null
    }[]
  } finally {
    db.close()
  }
}

/** The nsfs mounts (pins) below the sandbox. */
export function pinsOf(sb: Sandbox): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(' - nsfs ') && l.split(' ')[4].startsWith(sb.dir))
    .map((l) => l.split(' ')[4])
}

/** Interfaces enslaved to `bridge` on the host (the containers' veth ends). */
export function bridgePorts(bridge: string): string[] {
  const r = spawnSync('ip', ['-o', 'link', 'show', 'master', bridge], {encoding: 'utf8'})
  return (r.stdout ?? '').split('\n').filter(Boolean)
}

/** host-local's reservations of the default network (files named by address). */
export function reservations(sb: Sandbox): string[] {
  const dir = join(sb.state, 'cni', 'ipam', 'bridge')
  return existsSync(dir) ? readdirSync(dir).filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n)) : []
}

/** Every iptables rule (filter and nat tables). */
export function iptablesRules(): string {
  return ['filter', 'nat'].map((t) => spawnSync('iptables-save', ['-t', t], {encoding: 'utf8'}).stdout ?? '').join('\n')
}

/** The IP `containers info` shows for a container. */
export function ipOf(sb: Sandbox, id: string, ns = 'default'): string {
  const info = JSON.parse(sb.ok(['-n', ns, 'containers', 'info', id])) as {Berth?: {Network?: {IPs?: string[]}}}
  const ip = info.Berth?.Network?.IPs?.[0]
  assert.ok(ip, `container ${id} has an IP: ${JSON.stringify(info.Berth)}`)
  return ip
}

export {deleteBridge, deleteDefaultNetwork, deleteMasquerade} from './host-cleanup.js'

/** The nat rules of the default network's masquerade chain (`iptables -S` lines naming it). */
export function masqueradeRules(state: string): string[] {
  const chain = `BERTH-${defaultBridge(state).bridge}`
  const out = spawnSync('iptables', ['-w', '-t', 'nat', '-S'], {encoding: 'utf8'}).stdout ?? ''
  return out.split('\n').filter((l) => l.split(' ').includes(chain))
}

/** An HTTP request from inside a container with busybox nc; prints the response. */
export const httpGet = (ip: string, port: number) => `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc ${ip} ${port}`

/** A shell that serves `text` with busybox httpd on `port` in the foreground. */
export const httpServe = (text: string, port: number) => `mkdir -p /www && echo ${text} > /www/index.html && exec busybox httpd -f -p ${port} -h /www`
