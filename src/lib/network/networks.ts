// Which CNI network a name means. `bridge` is Berth's default network: a config list Berth writes
// on first use into a directory it owns (`<root>/cni/net.d/bridge.conflist`; edit it to change
// the subnet) — a Linux bridge with host-local IPAM whose reservations live under the state dir,
// then portmap (published ports) and firewall; its masquerade is one chain for the whole subnet
// (masquerade.ts), not the bridge plugin's chain per container. Any other name is looked up in the users' config
// directory (`--cni-netconfpath`, config `cni.conf_dir`, default /etc/cni/net.d), then in Berth's.
//
// The default store (state /run/berth) gets bridge `berth0` and 10.88.0.0/16. Any other state dir
// gets its own bridge `berth-<hash>` and a /24 inside 10.128.0.0/9 keyed by the same hash, so
// stores side by side (tests, CI jobs) never hand out one address twice on one bridge.
import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {FailedPrecondition, InvalidArgument, NotFound} from '../errors/index.js'
import {cniConfDir, cniIpamDir, defaultState} from '../store/index.js'
import {fnv1a32} from '../sys/random.js'
import {type NetConfList, parseNetConf} from './cni.js'
import {MASQUERADE_KEY} from './masquerade.js'

/** The name of Berth's default network (`--net bridge`, ctr's `--cni`). */
export const DEFAULT_NETWORK = 'bridge'

/** Where a store's CNI files live. */
export interface CniPaths {
  /** Plugin directories (CNI_PATH). */
  readonly binDirs: readonly string[]
  /** The users' network configs. */
  readonly confDir: string
  /** Berth's own config directory (the default network). */
  readonly ownConfDir: string
  /** host-local IPAM's data dir for Berth's default network (volatile, like the namespaces). */
  readonly ipamDir: string
}

export function cniPaths(root: string, state: string, options: {binDirs: readonly string[]; confDir: string}): CniPaths {
  return {binDirs: options.binDirs, confDir: options.confDir, ownConfDir: cniConfDir(root), ipamDir: cniIpamDir(state)}
}

/** The bridge and subnet of the default network of the store whose state dir is `state`. */
export function defaultBridge(state: string): {bridge: string; subnet: string; gateway: string} {
  const resolved = resolve(state)
  if (resolved === resolve(defaultState())) return {bridge: 'berth0', subnet: '10.88.0.0/16', gateway: '10.88.0.1'}
  const hash = fnv1a32(resolved)
  const h = parseInt(hash, 16)
  const net = `10.${128 + ((h >>> 8) & 127)}.${h & 255}`
  return {bridge: `berth-${hash}`, subnet: `${net}.0/24`, gateway: `${net}.1`}
}

/** The default network's config list (what is written on first use). */
export function defaultNetConf(paths: CniPaths, state: string): NetConfList {
  const {bridge, subnet, gateway} = defaultBridge(state)
  return {
    cniVersion: '1.0.0',
    name: DEFAULT_NETWORK,
    [MASQUERADE_KEY]: {bridge, subnets: [subnet]},
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false, // Berth's chain for the network does it (MASQUERADE_KEY)
        hairpinMode: true,
        ipam: {type: 'host-local', ranges: [[{subnet, gateway}]], routes: [{dst: '0.0.0.0/0'}], dataDir: paths.ipamDir},
      },
      {type: 'portmap', capabilities: {portMappings: true}},
      {type: 'firewall'},
    ],
  }
}

const ipv4 = (text: string): number => text.split('.').reduce((acc, part) => ((acc << 8) | Number(part)) >>> 0, 0)

/** Whether two IPv4 networks overlap. */
function overlaps(a: number, aPrefix: number, b: number, bPrefix: number): boolean {
  const p = Math.min(aPrefix, bPrefix)
  const mask = p === 0 ? 0 : (~0 << (32 - p)) >>> 0
  return (a & mask) >>> 0 === (b & mask) >>> 0
}

/** Number of leading one bits of a (host byte order) netmask. */
function prefixOf(maskLE: number): number {
  let bits = 0
  for (let m = maskLE >>> 0; m !== 0; m = (m & (m - 1)) >>> 0) bits++
  return bits
}

/**
 * Refuse a default subnet that collides with a host route not on its own bridge (the default
 * route, prefix 0, never collides).
 */
function checkSubnetFree(subnet: string, bridge: string): void {
  const [base, len] = subnet.split('/')
  const net = ipv4(base)
  const prefix = Number(len)
  let text = ''
  try {
    text = readFileSync('/proc/net/route', 'latin1')
  } catch {
    return
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f.length < 8 || f[0] === bridge) continue
    const routePrefix = prefixOf(Buffer.from(f[7], 'hex').readUInt32LE(0))
    if (routePrefix === 0) continue
    // The kernel prints the address's bytes in memory order: read back little-endian, they are
    // the address as a number.
    const routeNet = Buffer.from(f[1], 'hex').readUInt32LE(0)
    if (overlaps(net, prefix, routeNet, routePrefix)) {
      throw new FailedPrecondition(
        `default network subnet ${subnet} collides with the host route to ` +
          `${[routeNet >>> 24, (routeNet >>> 16) & 255, (routeNet >>> 8) & 255, routeNet & 255].join('.')}/${routePrefix} on ${f[0]}; edit the ` +
          `subnet in bridge.conflist under the root's cni/net.d`,
      )
    }
  }
}

/** The default network's config list: read from Berth's directory, written there on first use. */
export function loadDefaultNetwork(paths: CniPaths, state: string): NetConfList {
  const file = join(paths.ownConfDir, `${DEFAULT_NETWORK}.conflist`)
  if (existsSync(file)) return parseNetConf(readFileSync(file, 'utf8'), file)
  const conf = defaultNetConf(paths, state)
  const plugin = conf.plugins[0] as {bridge: string; ipam: {ranges: {subnet: string}[][]}}
  checkSubnetFree(plugin.ipam.ranges[0][0].subnet, plugin.bridge)
  mkdirSync(paths.ownConfDir, {recursive: true, mode: 0o711})
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(conf, null, 2)}\n`, {mode: 0o644})
  renameSync(tmp, file) // concurrent first uses write the same bytes
  return conf
}

/** The config files of a directory, in the order libcni reads them (by name). */
function configFiles(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => /\.(conflist|conf|json)$/.test(n))
      .sort()
      .map((n) => join(dir, n))
  } catch {
    return []
  }
}

/**
 * The config list of network `name`.
 * @throws NotFound `network "<name>": not found`, InvalidArgument for a broken config file.
 */
export function resolveNetwork(name: string, paths: CniPaths, state: string): NetConfList {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) throw new InvalidArgument(`invalid network name ${JSON.stringify(name)}`, {suffixKind: true})
  if (name === DEFAULT_NETWORK) return loadDefaultNetwork(paths, state)
  for (const dir of [paths.confDir, paths.ownConfDir]) {
    for (const file of configFiles(dir)) {
      let conf: NetConfList
      try {
        conf = parseNetConf(readFileSync(file, 'utf8'), file)
      } catch {
        continue // libcni skips files it cannot load, too
      }
      if (conf.name === name) return conf
    }
  }
  throw new NotFound(`network ${JSON.stringify(name)}`, {suffixKind: true})
}
