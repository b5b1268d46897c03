// The networking and pod flags of `run` and `containers create` (kept apart from ctr's
// ContainerFlags): `--net host|none|bridge|<name>` (repeatable), containerd's `--cni` (the default
// bridge network), `-p [IP:]HOSTPORT:CTRPORT[/tcp|udp]`, nerdctl's `--cni-path` and
// `--cni-netconfpath`, and `--pod`.
import {Flags} from '@oclif/core'
import {InvalidArgument} from '../lib/errors/index.js'
import {DEFAULT_NETWORK} from '../lib/network/networks.js'
import {parsePortMapping} from '../lib/network/ports.js'
import type {StoredNetworkSettings} from '../lib/network/attach.js'

const many = (summary: string, char?: 'p') => Flags.string({summary, multiple: true, multipleNonGreedy: true, ...(char ? {char} : {})})

/** Flags for choosing networks, published ports and CNI directories. */
export const networkFlags = {
  net: many(`network: none (loopback only, the default), host, ${DEFAULT_NETWORK} (Berth's default CNI network) or a CNI network name (repeatable)`),
  cni: Flags.boolean({summary: `attach the container to the default CNI network (= --net ${DEFAULT_NETWORK})`}),
  publish: many('publish a port: [IP:]HOSTPORT:CTRPORT[/tcp|udp] (repeatable; needs a CNI network)', 'p'),
  'cni-path': Flags.string({summary: 'CNI plugin directories separated by colons (default /usr/lib/cni:/opt/cni/bin)', env: 'CNI_PATH'}),
  'cni-netconfpath': Flags.string({summary: 'directory of CNI network configs (default /etc/cni/net.d)', env: 'NETCONFPATH'}),
}

/** `--pod` of run and containers create. */
export const podFlag = {pod: Flags.string({summary: "join this pod's namespaces (id, name or id prefix)"})}

export interface NetworkFlagValues {
  net?: string[]
  cni?: boolean
  publish?: string[]
  'cni-path'?: string
  'cni-netconfpath'?: string
}

/**
 * The network settings the flags ask for, or undefined for ctr's default (a private netns with
 * loopback only). @throws InvalidArgument for contradictory flags or a bad `-p`.
 */
export function networkSettingsFrom(flags: NetworkFlagValues): StoredNetworkSettings | undefined {
  const names = [...(flags.net ?? []), ...(flags.cni ? [DEFAULT_NETWORK] : [])]
  const ports = (flags.publish ?? []).map(parsePortMapping)
  const dirs = {
    ...(flags['cni-path'] ? {cniPath: flags['cni-path'].split(':').filter(Boolean)} : {}),
    ...(flags['cni-netconfpath'] ? {netconfPath: flags['cni-netconfpath']} : {}),
  }
  if (names.length === 0) {
    if (ports.length > 0) throw new InvalidArgument('-p needs a CNI network: add --net bridge (or --cni)', {suffixKind: true})
    return undefined
  }
  const special = names.filter((n) => n === 'host' || n === 'none')
  if (special.length > 0) {
    if (names.length > 1) throw new InvalidArgument(`--net ${special[0]} cannot be combined with other networks`, {suffixKind: true})
    if (ports.length > 0) throw new InvalidArgument(`-p cannot be used with --net ${special[0]}`, {suffixKind: true})
    return {mode: special[0]}
  }
  if (new Set(names).size !== names.length) throw new InvalidArgument('a network is given twice', {suffixKind: true})
  return {mode: 'cni', networks: names, ports, ...dirs}
}
