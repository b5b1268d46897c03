// What a test store leaves on the host outside its directory, removed when the sandbox goes:
// its cgroup parent (`/berth-<hash>` in every hierarchy, made by runc for its containers) and its
// default network (the bridge `berth-<hash>` and the masquerade chain `BERTH-berth-<hash>`).
// Without this every test store left them behind: hundreds of empty cgroups and a dozen bridges
// per full run on the machine that CI and the bench then use.
import {spawnSync} from 'node:child_process'
import {existsSync, readdirSync, rmdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {defaultBridge} from '../../src/lib/network/networks.js'
import {cgroupParentFor} from '../../src/lib/runtime/containers.js'

const CGROUP_ROOT = '/sys/fs/cgroup'

/** Every directory below `dir`, parents before children. */
function dirsUnder(dir: string): string[] {
  const out = [dir]
  for (let i = 0; i < out.length; i++) {
    let names: string[] = []
    try {
      names = readdirSync(out[i])
    } catch {
      continue
    }
    for (const name of names) {
      const path = join(out[i], name)
      try {
        if (statSync(path).isDirectory()) out.push(path)
      } catch {
        // gone meanwhile
      }
    }
  }
  return out
}

/** Remove the store's cgroup parent from every hierarchy, deepest first; busy cgroups stay. */
export function removeCgroupParent(state: string): void {
  const parent = cgroupParentFor(state).replace(/^\/+/, '')
  const hierarchies = existsSync(join(CGROUP_ROOT, 'cgroup.controllers')) ? [CGROUP_ROOT] : readdirSync(CGROUP_ROOT).map((c) => join(CGROUP_ROOT, c))
  for (const hierarchy of hierarchies) {
    const top = join(hierarchy, parent)
    if (!existsSync(top)) continue
    for (const dir of dirsUnder(top).reverse()) {
      try {
        rmdirSync(dir)
      } catch {
        // still has a process, or another hierarchy's link took it already
      }
    }
  }
}

/** Remove the default network's masquerade chain and its POSTROUTING jump from the host. */
export function deleteMasquerade(state: string): void {
  const {bridge, subnet} = defaultBridge(state)
  const chain = `BERTH-${bridge}`
  while (spawnSync('iptables', ['-w', '-t', 'nat', '-D', 'POSTROUTING', '-s', subnet, '-j', chain]).status === 0) {
    // every copy of the jump
  }
  spawnSync('iptables', ['-w', '-t', 'nat', '-F', chain])
  spawnSync('iptables', ['-w', '-t', 'nat', '-X', chain])
}

/** Delete a bridge from the host (nothing happens when it is gone). */
export function deleteBridge(name: string): void {
  if (existsSync(`/sys/class/net/${name}`)) spawnSync('ip', ['link', 'del', name])
}

/** Remove the default network of the store whose state dir is `state` from the host: bridge and masquerade. */
export function deleteDefaultNetwork(state: string): void {
  const {bridge} = defaultBridge(state)
  deleteBridge(bridge)
  if (spawnSync('iptables', ['-w', '-t', 'nat', '-n', '-L', `BERTH-${bridge}`], {stdio: 'ignore'}).status === 0) deleteMasquerade(state)
}

/**
 * Everything a store left on the host: its cgroup parent when it ever ran a task (runc's state
 * dir exists), its default network when it ever made one (the conflist exists).
 */
export function cleanUpHost(root: string, state: string): void {
  if (existsSync(join(state, 'runc'))) removeCgroupParent(state)
  if (existsSync(join(root, 'cni', 'net.d', 'bridge.conflist'))) deleteDefaultNetwork(state)
}
