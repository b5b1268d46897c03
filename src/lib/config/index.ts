// Berth's configuration file (`/etc/berth/config.toml`, or `--berth-config` / BERTH_CONFIG): parsed lazily, validated,
// with defaults for everything. A missing default file is fine; a missing explicit file is not.
import {readFileSync} from 'node:fs'
import {InvalidArgument, NotFound} from '../errors/index.js'

export type SharingPolicy = 'shared' | 'isolated'

/** The settings Berth reads from its config file, all with defaults. */
export interface BerthConfig {
  /** Where the settings came from, or undefined when no file was read. */
  readonly source: string | undefined
  readonly contentSharingPolicy: SharingPolicy
  readonly defaultSnapshotter: string
  /** Events older than this many seconds are trimmed. */
  readonly eventRetentionSeconds: number
  /** At most this many event rows are kept. */
  readonly eventRetentionRows: number
  readonly runtime: {readonly runc: string; readonly conmon: string}
  readonly registry: {readonly hostsDir: string}
  /** CRIU for checkpoint/restore; undefined: the private install (scripts/install-criu.sh), then PATH. */
  readonly criuPath: string | undefined
  /** CNI: where plugin binaries are searched, and the directory of users' network configs. */
  readonly cni: {readonly binDirs: readonly string[]; readonly confDir: string}
}

export const DEFAULT_CONFIG_PATH = '/etc/berth/config.toml'

const DEFAULTS: Omit<BerthConfig, 'source'> = {
  contentSharingPolicy: 'shared',
  defaultSnapshotter: 'overlayfs',
  eventRetentionSeconds: 7 * 24 * 3600,
  eventRetentionRows: 100_000,
  runtime: {runc: 'runc', conmon: 'conmon'},
  registry: {hostsDir: '/etc/containerd/certs.d'},
  criuPath: undefined,
  cni: {binDirs: ['/usr/lib/cni', '/opt/cni/bin'], confDir: '/etc/cni/net.d'},
}

/**
 * Load the config. `explicitPath` (from `--berth-config` or BERTH_CONFIG) must exist; the default path may be absent.
 * @throws NotFound for a missing explicit file, InvalidArgument for bad TOML or bad values.
 */
export async function loadConfig(explicitPath?: string): Promise<BerthConfig> {
  const path = explicitPath ?? DEFAULT_CONFIG_PATH
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && explicitPath === undefined) return {source: undefined, ...DEFAULTS}
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(`config file ${JSON.stringify(path)}`, {cause: err, suffixKind: true})
    throw new InvalidArgument(`config file ${JSON.stringify(path)}: ${(err as Error).message}`, {cause: err})
  }
  const {parse} = await import('smol-toml')
  let doc: Record<string, unknown>
  try {
    doc = parse(text)
  } catch (err) {
    throw new InvalidArgument(`config file ${JSON.stringify(path)}: ${(err as Error).message.split('\n')[0]}`, {cause: err})
  }
  return {source: path, ...interpret(doc, path)}
}

/** Turn a parsed document into settings. Unknown keys are ignored, as containerd does. */
export function interpret(doc: Record<string, unknown>, path = 'config'): Omit<BerthConfig, 'source'> {
  const bad = (key: string, why: string): never => {
    throw new InvalidArgument(`config file ${JSON.stringify(path)}: ${key}: ${why}`, {suffixKind: true})
  }
  const str = (table: Record<string, unknown> | undefined, key: string, fallback: string): string => {
    const v = table?.[key]
    if (v === undefined) return fallback
    return typeof v === 'string' && v !== '' ? v : bad(key, 'must be a non-empty string')
  }
  const table = (key: string): Record<string, unknown> | undefined => {
    const v = doc[key]
    if (v === undefined) return undefined
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : bad(key, 'must be a table')
  }

  const policy = str(doc, 'content_sharing_policy', DEFAULTS.contentSharingPolicy)
  if (policy !== 'shared' && policy !== 'isolated') bad('content_sharing_policy', 'must be "shared" or "isolated"')

  const events = table('events')
  const retention = events?.['retention']
  const rows = events?.['max_rows']
  let eventRetentionSeconds = DEFAULTS.eventRetentionSeconds
  if (retention !== undefined) {
    if (typeof retention !== 'string') bad('events.retention', 'must be a duration string such as "168h"')
    eventRetentionSeconds = parseDuration(retention as string) / 1000
  }
  let eventRetentionRows = DEFAULTS.eventRetentionRows
  if (rows !== undefined) {
    const n = typeof rows === 'bigint' ? Number(rows) : rows
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) bad('events.max_rows', 'must be a positive integer')
    eventRetentionRows = n as number
  }

  const runtime = table('runtime')
  const registry = table('registry')
  const cni = table('cni')
  const binDir = cni?.['bin_dir']
  if (binDir !== undefined && (typeof binDir !== 'string' || binDir === '')) bad('cni.bin_dir', 'must be a non-empty string (directories separated by ":")')
  return {
    contentSharingPolicy: policy as SharingPolicy,
    defaultSnapshotter: str(doc, 'default_snapshotter', DEFAULTS.defaultSnapshotter),
    eventRetentionSeconds,
    eventRetentionRows,
    runtime: {runc: str(runtime, 'runc', DEFAULTS.runtime.runc), conmon: str(runtime, 'conmon', DEFAULTS.runtime.conmon)},
    registry: {hostsDir: str(registry, 'hosts_dir', DEFAULTS.registry.hostsDir)},
    criuPath: doc['criu_path'] === undefined ? undefined : str(doc, 'criu_path', ''),
    cni: {
      binDirs: binDir === undefined ? DEFAULTS.cni.binDirs : (binDir as string).split(':').filter(Boolean),
      confDir: str(cni, 'conf_dir', DEFAULTS.cni.confDir),
    },
  }
}

/**
 * The snapshotter a command uses: the one asked for (`--snapshotter`, CONTAINERD_SNAPSHOTTER),
 * else the config's `default_snapshotter` (overlayfs unless set). An empty name asks for the
 * default, as containerd's client takes it. The one place the fallback is spelled.
 */
export function resolveSnapshotter(config: Pick<BerthConfig, 'defaultSnapshotter'>, requested?: string): string {
  return requested || config.defaultSnapshotter
}

const UNIT_MS: Record<string, number> = {ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}

/**
 * Parse a Go-style duration (`10m`, `1h30m`, `1.5s`, `7d`) into milliseconds.
 * @throws InvalidArgument for anything else.
 */
export function parseDuration(text: string): number {
  // \u00b5 (micro sign) escaped: a non-ASCII byte in the bundle makes Node decode all of it as
  // UTF-16, which costs every command's start-up (scripts/build.mjs refuses such a bundle).
  const re = /(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h|d)/gy
  let total = 0
  let matched = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]]
    matched = re.lastIndex
  }
  if (text === '' || matched !== text.length) throw new InvalidArgument(`invalid duration ${JSON.stringify(text)}`, {suffixKind: true})
  return total
}
