// Finding a CRIU that can checkpoint on this kernel: the config's `criu_path`, then the private
// install scripts/install-criu.sh makes (`.criu/bin/criu` beside the package), then $PATH. A CRIU
// older than 4.2 on a kernel >= 6.13 is refused (3.17 cannot dump there at all, 4.1 no inet
// socket); every failure is one FailedPrecondition line saying what to install.
import {execFile, spawnSync} from 'node:child_process'
import {accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {release} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import type {BerthConfig} from '../config/index.js'
import {FailedPrecondition} from '../errors/index.js'

/** A usable CRIU. */
export interface Criu {
  /** Absolute path of the program (the wrapper of a private install). */
  readonly path: string
  /** `4.2.1`. */
  readonly version: string
  /** Where it was found. */
  readonly source: 'config' | 'private' | 'PATH'
}

const INSTALL_HINT = 'run scripts/setup.sh as root (installs criu 4.2 into .criu/) or set criu_path in the config to a criu >= 4.2'

/** The private install's wrapper: `.criu/bin/criu` in the first ancestor of this module that has one. */
export function privateCriuPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, '.criu', 'bin', 'criu')
    if (existsSync(candidate)) return candidate
    const up = dirname(dir)
    if (up === dir) return undefined
    dir = up
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    if (!dir) continue
    try {
      accessSync(join(dir, name), fsConstants.X_OK)
      return join(dir, name)
    } catch {
      // not here
    }
  }
  return undefined
}

/** [major, minor] of `uname -r`. */
function kernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release())
  return m ? [Number(m[1]), Number(m[2])] : [0, 0]
}

/** The oldest CRIU that can dump on this kernel. */
export function minimumCriuVersion(kernel: [number, number] = kernelVersion()): string {
  return kernel[0] > 6 || (kernel[0] === 6 && kernel[1] >= 13) ? '4.2' : '3.17'
}

function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split('.').map(Number)
  const b = minimum.split('.').map(Number)
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    if (x !== y) return x > y
  }
  return true
}

/** `criu --version`'s version, or undefined when it does not run. */
function criuVersion(path: string): string | undefined {
  const r = spawnSync(path, ['--version'], {encoding: 'utf8', timeout: 10_000})
  if (r.status !== 0) return undefined
  return /Version:\s*([\d.]+)/.exec(r.stdout)?.[1]
}

/** `criu --version`'s version without blocking the event loop, or undefined when it does not run. */
function criuVersionAsync(path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(path, ['--version'], {encoding: 'utf8', timeout: 10_000}, (err, stdout) => resolve(err ? undefined : /Version:\s*([\d.]+)/.exec(stdout)?.[1]))
  })
}

/**
 * What identifies the program at `path` for the version cache: the file it resolves to and, for
 * the private install, the binary its wrapper runs (a reinstall replaces either), each by device,
 * inode, size and change times. Undefined when either cannot be read (then nothing is cached).
 */
function programKey(path: string, source: Criu['source']): string | undefined {
  try {
    const files = [realpathSync(path)]
    if (source === 'private') files.push(join(dirname(files[0]), '..', 'root', 'usr', 'sbin', 'criu'))
    return files
      .map((f) => {
        const st = statSync(f, {bigint: true})
        return `${f}:${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`
      })
      .join('|')
  } catch {
    return undefined
  }
}

/**
 * `criu --version` through a one-entry cache in `cacheDir` (the state dir, root only): spawning
 * CRIU (through the private install's wrapper) costs 20-30 ms of every checkpoint and restore,
 * and the answer changes only when the program does. Only a version that ran is cached.
 */
async function cachedCriuVersion(path: string, source: Criu['source'], cacheDir: string | undefined): Promise<string | undefined> {
  const key = cacheDir === undefined ? undefined : programKey(path, source)
  const file = cacheDir === undefined ? undefined : join(cacheDir, 'criu-version.json')
  if (key !== undefined && file !== undefined) {
    try {
      const cached = JSON.parse(readFileSync(file, 'utf8')) as {key?: unknown; version?: unknown}
      if (cached.key === key && typeof cached.version === 'string') return cached.version
    } catch {
      // none yet, or unreadable: ask CRIU
    }
  }
  const version = await criuVersionAsync(path)
  if (version !== undefined && key !== undefined && file !== undefined && programKey(path, source) === key) {
    try {
      mkdirSync(cacheDir!, {recursive: true, mode: 0o700})
      const tmp = `${file}.${process.pid}`
      writeFileSync(tmp, JSON.stringify({key, version}), {mode: 0o600})
      renameSync(tmp, file)
    } catch {
      // a cache only
    }
  }
  return version
}

/**
 * {@link findCriu} without blocking: checkpoint and restore start it first and read their records
 * while `criu --version` runs, then await it before changing anything. With `cacheDir`, the
 * version of an unchanged program is remembered there ({@link cachedCriuVersion}).
 * @throws FailedPrecondition (the promise rejects), as findCriu.
 */
export async function findCriuAsync(config: Pick<BerthConfig, 'criuPath'>, cacheDir?: string): Promise<Criu> {
  const {path, source} = locateCriu(config)
  return checkedCriu(path, source, await cachedCriuVersion(path, source, cacheDir))
}

/** Where CRIU is: config, private install, PATH. @throws FailedPrecondition when nowhere. */
function locateCriu(config: Pick<BerthConfig, 'criuPath'>): {path: string; source: Criu['source']} {
  let path: string | undefined
  let source: Criu['source']
  if (config.criuPath) {
    path = config.criuPath
    source = 'config'
  } else if ((path = privateCriuPath())) {
    source = 'private'
  } else {
    path = onPath('criu')
    source = 'PATH'
  }
  if (!path) throw new FailedPrecondition(`checkpoint/restore needs CRIU, which is not installed: ${INSTALL_HINT}`)
  return {path, source}
}

function checkedCriu(path: string, source: Criu['source'], version: string | undefined): Criu {
  if (!version) throw new FailedPrecondition(`checkpoint/restore needs CRIU, and ${path} does not run: ${INSTALL_HINT}`)
  const minimum = minimumCriuVersion()
  if (!versionAtLeast(version, minimum)) {
    throw new FailedPrecondition(`CRIU ${version} (${path}) cannot checkpoint on kernel ${release()}, which needs criu >= ${minimum}: ${INSTALL_HINT}`)
  }
  return {path, version, source}
}

/**
 * The CRIU to use. @throws FailedPrecondition naming what to install when there is none, it does
 * not run, or it is too old for this kernel.
 */
export function findCriu(config: Pick<BerthConfig, 'criuPath'>): Criu {
  const {path, source} = locateCriu(config)
  return checkedCriu(path, source, criuVersion(path))
}

/** What `ctr info` reports: the CRIU in use and the outcome of `criu check`, or why there is none. */
export function criuInfo(config: Pick<BerthConfig, 'criuPath'>): {path: string | null; version: string | null; source: string | null; check: string} {
  let criu: Criu
  try {
    criu = findCriu(config)
  } catch (err) {
    return {path: config.criuPath ?? null, version: null, source: null, check: (err as Error).message}
  }
  const r = spawnSync(criu.path, ['check'], {encoding: 'utf8', timeout: 20_000})
  const lines = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').filter((l) => l.trim() !== '' && !/^Warn/.test(l))
  const check = r.status === 0 ? (lines.find((l) => /Looks good/.test(l)) ?? 'Looks good.') : (lines.at(-1) ?? `criu check exited with ${r.status}`)
  return {path: criu.path, version: criu.version, source: criu.source, check: check.trim()}
}
