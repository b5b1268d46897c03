// `-p [IP:]HOSTPORT:CTRPORT[/tcp|udp]`, docker's and nerdctl's publish syntax, into the portmap
// plugin's port mappings.
import {InvalidArgument} from '../errors/index.js'
import type {PortMapping} from '../store/index.js'

const PORT = /^\d{1,5}$/

function port(text: string, what: string, spec: string): number {
  const n = Number(text)
  if (!PORT.test(text) || n < 1 || n > 65535) throw new InvalidArgument(`invalid ${what} in port mapping ${JSON.stringify(spec)}`, {suffixKind: true})
  return n
}

/** Parse one `-p` value. @throws InvalidArgument. */
export function parsePortMapping(spec: string): PortMapping {
  let rest = spec
  let protocol: PortMapping['protocol'] = 'tcp'
  const slash = rest.lastIndexOf('/')
  if (slash >= 0) {
    const proto = rest.slice(slash + 1).toLowerCase()
    if (proto !== 'tcp' && proto !== 'udp')
      throw new InvalidArgument(`invalid protocol in port mapping ${JSON.stringify(spec)}: want tcp or udp`, {suffixKind: true})
    protocol = proto
    rest = rest.slice(0, slash)
  }
  const parts = rest.split(':')
  if (parts.length < 2 || parts.length > 3)
    throw new InvalidArgument(`invalid port mapping ${JSON.stringify(spec)}: want [IP:]HOSTPORT:CTRPORT[/tcp|udp]`, {suffixKind: true})
  const containerPort = port(parts.pop()!, 'container port', spec)
  const hostPort = port(parts.pop()!, 'host port', spec)
  const hostIP = parts.pop()
  if (hostIP !== undefined && hostIP !== '' && !/^(\d{1,3})(\.\d{1,3}){3}$/.test(hostIP))
    throw new InvalidArgument(`invalid host IP in port mapping ${JSON.stringify(spec)}`, {suffixKind: true})
  return {...(hostIP ? {hostIP} : {}), hostPort, containerPort, protocol}
}

/** Format a mapping back as `-p` takes it. */
export function formatPortMapping(p: PortMapping): string {
  return `${p.hostIP ? `${p.hostIP}:` : ''}${p.hostPort}:${p.containerPort}/${p.protocol}`
}
