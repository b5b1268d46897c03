// Spawns the built CLI (bin/ctr, the installed launcher) as a user would, with a private root and state per test.
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {removeTree} from '../../src/lib/sys/tree.js'
import {cleanUpHost} from './host-cleanup.js'
import {fileURLToPath} from 'node:url'

/** The repository root (dist/test/helpers/ -> ../../..). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
/** Executed directly, through its shebang, as an installed `ctr` is. */
export const CTR_BIN = join(REPO_ROOT, 'bin', 'ctr')
/** The script the launcher runs, for tests that start it with `node` themselves. */
export const RUN_JS = join(REPO_ROOT, 'bin', 'run.js')

export interface CtrResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** A private store: temp root, state and (absent by default) config path. */
export interface Sandbox {
  readonly dir: string
  readonly root: string
  readonly state: string
  readonly config: string
  readonly env: NodeJS.ProcessEnv
  /** Write the config file and use it from now on (sets BERTH_CONFIG). */
  writeConfig(toml: string): void
  /** Run ctr synchronously. */
  run(args: readonly string[], options?: {env?: NodeJS.ProcessEnv; input?: string}): CtrResult
  /** Run ctr and fail the test unless it exits with `code` (default 0). Returns stdout. */
  ok(args: readonly string[], code?: number): string
  /** Run ctr asynchronously. */
  spawn(args: readonly string[], options?: {env?: NodeJS.ProcessEnv}): Promise<CtrResult>
  cleanup(): void
}

/** Make a sandbox under the system temp dir. Call `cleanup()` in an `after` hook. */
export function sandbox(prefix = 'berth-test-'): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const root = join(dir, 'root')
  const state = join(dir, 'state')
  const config = join(dir, 'config.toml')
  const env: NodeJS.ProcessEnv = {...process.env, BERTH_ROOT: root, BERTH_STATE: state}
  delete env['CONTAINERD_NAMESPACE']
  delete env['BERTH_CONFIG']
  const sb: Sandbox = {
    dir,
    root,
    state,
    config,
    env,
    writeConfig(toml) {
      writeFileSync(config, toml)
      env['BERTH_CONFIG'] = config
    },
    run(args, options = {}) {
      const r = spawnSync(CTR_BIN, args, {env: {...env, ...options.env}, input: options.input ?? '', encoding: 'utf8', timeout: 60_000})
      return {code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr}
    },
    ok(args, code = 0) {
      const r = sb.run(args)
      if (r.code !== code) {
        throw new Error(`ctr ${args.join(' ')}: exit ${r.code} (want ${code})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`)
      }
      return r.stdout
    },
    spawn(args, options = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(CTR_BIN, args, {env: {...env, ...options.env}, stdio: ['ignore', 'pipe', 'pipe']})
        let stdout = ''
        let stderr = ''
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
        child.on('error', reject)
        child.on('close', (code, signal) => resolve({code, signal, stdout, stderr}))
      })
    },
    cleanup() {
      cleanUpHost(root, state) // cgroups and the default network live outside the sandbox
      removeTree(dir) // a test may leave a tree deeper than rmSync can take
    },
  }
  return sb
}
