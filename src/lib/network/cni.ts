// The CNI protocol (containernetworking/cni SPEC 1.0) spoken to plugin binaries directly: each
// plugin of a network config list is executed with CNI_* in its environment and its config on
// stdin; ADD runs the list in order, passing each result on as `prevResult`; DEL runs it in
// reverse with the result ADD returned. No library and no daemon: this is what libcni does.
import {accessSync, constants as fsConstants} from 'node:fs'
import {join} from 'node:path'
import {FailedPrecondition, InvalidArgument} from '../errors/index.js'
import type {PortMapping} from '../store/index.js'
import {run} from './pins.js'

/** A network configuration list, as parsed (a single `.conf` is wrapped into one). */
export interface NetConfList {
  cniVersion: string
  name: string
  plugins: Record<string, unknown>[]
  [key: string]: unknown
}

/** The arguments of one CNI call. */
export interface CniCall {
  /** CNI_CONTAINERID. */
  readonly containerId: string
  /** CNI_NETNS: the pinned namespace's file. */
  readonly netns: string
  /** CNI_IFNAME. */
  readonly ifname: string
  /** Directories searched for plugin binaries (CNI_PATH). */
  readonly cniPath: readonly string[]
  /** Passed to plugins that declare the `portMappings` capability. */
  readonly ports?: readonly PortMapping[]
}

/**
 * Parse a config list (or a single config, wrapped) from JSON text.
 * @throws InvalidArgument when it is not a network config.
 */
export function parseNetConf(text: string, source: string): NetConfList {
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    throw new InvalidArgument(`network config ${JSON.stringify(source)}: ${(err as Error).message}`, {cause: err})
  }
  const obj = doc as Record<string, unknown>
  if (typeof obj !== 'object' || obj === null || typeof obj['name'] !== 'string') throw new InvalidArgument(`network config ${JSON.stringify(source)}: no name`)
  const cniVersion = typeof obj['cniVersion'] === 'string' ? obj['cniVersion'] : '1.0.0'
  if (Array.isArray(obj['plugins'])) return {...obj, cniVersion, name: obj['name'], plugins: obj['plugins'] as Record<string, unknown>[]}
  if (typeof obj['type'] !== 'string') throw new InvalidArgument(`network config ${JSON.stringify(source)}: neither plugins nor type`)
  return {cniVersion, name: obj['name'], plugins: [obj]}
}

/** The path of plugin `type` in the first directory of `cniPath` that has it. @throws FailedPrecondition. */
function pluginPath(type: string, cniPath: readonly string[]): string {
  if (!/^[A-Za-z0-9._-]+$/.test(type)) throw new InvalidArgument(`invalid CNI plugin type ${JSON.stringify(type)}`)
  for (const dir of cniPath) {
    const candidate = join(dir, type)
    try {
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  throw new FailedPrecondition(`CNI plugin ${JSON.stringify(type)} not found in ${cniPath.join(':')} (Debian: containernetworking-plugins)`)
}

/** The config one plugin of `list` gets: the list's name and version, runtimeConfig and prevResult. */
function pluginConfig(list: NetConfList, plugin: Record<string, unknown>, call: CniCall, prevResult: unknown): Record<string, unknown> {
  const conf: Record<string, unknown> = {...plugin, cniVersion: list.cniVersion, name: list.name}
  const capabilities = (plugin['capabilities'] ?? {}) as Record<string, boolean>
  if (capabilities['portMappings'] && call.ports && call.ports.length > 0) {
    conf['runtimeConfig'] = {
      ...(plugin['runtimeConfig'] ?? {}),
      portMappings: call.ports.map((p) => ({
        hostPort: p.hostPort,
        containerPort: p.containerPort,
        protocol: p.protocol,
        ...(p.hostIP ? {hostIP: p.hostIP} : {}),
      })),
    }
  }
  if (prevResult !== undefined) conf['prevResult'] = prevResult
  return conf
}

/** Run one plugin; resolves with its parsed stdout (ADD) or undefined. @throws FailedPrecondition with the plugin's error message. */
async function exec(
  command: 'ADD' | 'DEL' | 'CHECK',
  list: NetConfList,
  plugin: Record<string, unknown>,
  call: CniCall,
  prevResult: unknown,
): Promise<Record<string, unknown> | undefined> {
  const type = String(plugin['type'])
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netns,
    CNI_IFNAME: call.ifname,
    CNI_PATH: call.cniPath.join(':'),
    CNI_ARGS: 'IgnoreUnknown=1',
  }
  const {code, stdout, stderr} = await run(pluginPath(type, call.cniPath), [], {input: JSON.stringify(pluginConfig(list, plugin, call, prevResult)), env})
  if (code !== 0) {
    let message = stderr.trim() || `exit status ${code}`
    try {
      const err = JSON.parse(stdout) as {msg?: string; details?: string}
      if (err.msg) message = err.details ? `${err.msg}: ${err.details}` : err.msg
    } catch {
      // not a CNI error object
    }
    throw new FailedPrecondition(`CNI ${command} of network ${JSON.stringify(list.name)}, plugin ${type}: ${message}`)
  }
  if (command !== 'ADD' || stdout.trim() === '') return undefined
  return JSON.parse(stdout) as Record<string, unknown>
}

/**
 * CNI ADD of a config list: each plugin in order, each result the next one's prevResult. On a
 * failure the plugins are DELeted again (best effort) before the error is thrown.
 */
export async function cniAdd(list: NetConfList, call: CniCall): Promise<Record<string, unknown>> {
  let result: Record<string, unknown> | undefined
  try {
    for (const plugin of list.plugins) result = (await exec('ADD', list, plugin, call, result)) ?? result
  } catch (err) {
    await cniDel(list, call, result).catch(() => {})
    throw err
  }
  return result ?? {cniVersion: list.cniVersion}
}

/**
 * CNI DEL of a config list: each plugin in reverse order, with ADD's result (when known). Every
 * plugin runs even if one fails; the first failure is thrown at the end.
 */
export async function cniDel(list: NetConfList, call: CniCall, result?: Record<string, unknown>): Promise<void> {
  let first: unknown
  for (const plugin of [...list.plugins].reverse()) {
    try {
      await exec('DEL', list, plugin, call, result)
    } catch (err) {
      first ??= err
    }
  }
  if (first) throw first
}
