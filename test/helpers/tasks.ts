// Helpers for runtime integration tests (ctr run, tasks): a sandbox with images pulled from a real
// registry, foreground ctr processes with piped stdio, the store's events and rows read directly,
// mount and process inspection, and a cleanup that leaves no task, mount or monitor behind.
//
// Invariants: container ids carry a per-suite suffix (cgroups are machine-wide: /berth/<ns>/<id>);
// cleanup only signals processes whose command line names the sandbox's own directory, by pid.
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import SQLite from 'better-sqlite3'
import {CTR_BIN, type CtrResult, type Sandbox, sandbox} from './cli.js'
import type {BuiltImage} from './oci-image.js'
import {pushImage, REGISTRY_BINARY, type RunningRegistry, startRegistry} from './registry.js'

/** Whether runtime tests can run here (root, runc, conmon, docker-registry); CI never skips. */
export function runtimeSkipReason(): string | false {
  if (process.env['CI']) return false
  if (process.getuid?.() !== 0) return 'needs root (mounts, runc)'
  if (!existsSync(REGISTRY_BINARY)) return `needs ${REGISTRY_BINARY} (Debian docker-registry)`
  for (const tool of ['runc', 'conmon']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `needs ${tool}`
  }
  return false
}

/** A sandbox whose namespaces hold pulled images, with per-suite unique container ids. */
export interface RuntimeEnv {
  readonly sb: Sandbox
  readonly reg: RunningRegistry
  /** The pulled reference of an image given to {@link startRuntimeEnv} by name. */
  ref(name: string): string
  /** `<name>-<suite suffix>`: a container id no other suite on this machine uses. */
  id(name: string): string
  /** Remove every task, container, mount and monitor of the sandbox, stop the registry. */
  close(): Promise<void>
}

/** Start a registry, push `images` (name -> image) and pull each into every namespace of `namespaces`. */
export async function startRuntimeEnv(images: Record<string, BuiltImage>, namespaces: readonly string[] = ['default']): Promise<RuntimeEnv> {
  const reg = await startRegistry()
  const sb = sandbox('berth-rt-')
  const suffix = randomBytes(3).toString('hex')
  const refs = new Map<string, string>()
  try {
    for (const [name, image] of Object.entries(images)) {
      await pushImage(reg, `library/${name}:1`, image)
      const ref = `${reg.host}/library/${name}:1`
      refs.set(name, ref)
      for (const ns of namespaces) sb.ok(['-n', ns, 'images', 'pull', '-q', '--plain-http', ref])
    }
  } catch (err) {
    await reg.stop()
    sb.cleanup()
    throw err
  }
  return {
    sb,
    reg,
    ref(name) {
      const ref = refs.get(name)
      if (!ref) throw new Error(`no image ${name}`)
      return ref
    },
    id: (name) => `${name}-${suffix}`,
    async close() {
      try {
        cleanupSandbox(sb)
      } finally {
        await reg.stop()
      }
    },
  }
}

/** Delete everything the sandbox's tasks left: tasks, containers, runc state, monitors, mounts, files. */
export function cleanupSandbox(sb: Sandbox): void {
  const quiet = (args: string[]) => sb.run(args)
  const namespaces = quiet(['namespaces', 'ls', '-q']).stdout.split('\n').filter(Boolean)
  for (const ns of namespaces) {
    for (const id of quiet(['-n', ns, 'tasks', 'ls', '-q']).stdout.split('\n').filter(Boolean)) quiet(['-n', ns, 'tasks', 'rm', '-f', id])
    for (const id of quiet(['-n', ns, 'containers', 'ls', '-q']).stdout.split('\n').filter(Boolean)) quiet(['-n', ns, 'containers', 'rm', id])
  }
  // Whatever ctr could not remove: runc containers, then monitors and supervisors of this sandbox.
  const runcRoots = join(sb.state, 'runc')
  if (existsSync(runcRoots)) {
    for (const ns of readdirSync(runcRoots)) {
      const root = join(runcRoots, ns)
      const list = spawnSync('runc', ['--root', root, 'list', '-q'], {encoding: 'utf8'})
      for (const id of (list.stdout ?? '').split('\n').filter(Boolean)) spawnSync('runc', ['--root', root, 'delete', '--force', id])
    }
  }
  for (const pid of pidsMentioning(sb.dir)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
  }
  for (const m of mountsUnder(sb.dir).reverse()) spawnSync('umount', ['-l', m])
  sb.cleanup()
}

/** A new directory in the sandbox to bind-mount, writable by any container user. */
export function hostDir(sb: Sandbox, name: string): string {
  const dir = mkdtempSync(join(sb.dir, `${name}-`))
  chmodSync(dir, 0o777)
  return dir
}

/** Pids (other than this process) whose command line contains `text`. */
export function pidsMentioning(text: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    if (pid === process.pid) continue
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(text)) pids.push(pid)
    } catch {
      // exited
    }
  }
  return pids
}

/** Whether a process exists (zombies count as gone). */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

/** Mount points of this mount namespace, in mount order (from /proc/self/mountinfo). */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4].replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))))
}

/** Mount points at or below `dir`. */
export function mountsUnder(dir: string): string[] {
  return mountPoints().filter((m) => m === dir || m.startsWith(`${dir}/`))
}

/** Whether `path` is a mount point. */
export function isMountPoint(path: string): boolean {
  return mountPoints().includes(path)
}

/** A ctr process started in the background with piped stdio. */
export interface RunningCtr {
  readonly child: ChildProcess
  readonly pid: number
  /** Output so far. */
  readonly out: {stdout: string; stderr: string}
  /** Resolves when it exited and its stdio closed (a surviving runc child keeps them open). */
  readonly result: Promise<CtrResult>
  /** Resolves when the ctr process itself exited. */
  readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
}

/** Start ctr with `args` in the background; `input` is written to its stdin, which is then closed. */
export function startCtr(sb: Sandbox, args: readonly string[], options: {input?: string | Buffer} = {}): RunningCtr {
  const child = spawn(CTR_BIN, args, {env: sb.env, stdio: ['pipe', 'pipe', 'pipe']})
  const out = {stdout: '', stderr: ''}
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()))
  child.stdin.on('error', () => {
    // ctr may exit before reading its input
  })
  child.stdin.end(options.input ?? '')
  const result = new Promise<CtrResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code, signal, stdout: out.stdout, stderr: out.stderr}))
  })
  const exited = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((resolve) => child.on('exit', (code, signal) => resolve({code, signal})))
  return {child, pid: child.pid!, out, result, exited}
}

/** Poll `check` until it returns a value other than undefined/false; fail after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 10_000, intervalMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = check()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

/** One stored event as `ctr events --format json` prints it. */
export interface EventView {
  timestamp: string
  namespace: string
  topic: string
  event: Record<string, unknown>
}

/** The stored events (all namespaces), oldest first. */
export function storedEvents(sb: Sandbox): EventView[] {
  return sb
    .ok(['events', '--no-follow', '--format', 'json'])
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EventView)
}

/** The events that concern container `id` in `ns` (by container_id, id or snapshot key). */
export function eventsOf(sb: Sandbox, ns: string, id: string): EventView[] {
  return storedEvents(sb).filter((e) => e.namespace === ns && (e.event['container_id'] === id || e.event['id'] === id || e.event['key'] === id))
}

/** Open the sandbox's meta.db directly (no ctr involved). Close it after use. */
export function openDb(sb: Sandbox, options: {readonly?: boolean} = {}): SQLite.Database {
  const db = new SQLite(join(sb.root, 'meta.db'), {readonly: options.readonly ?? true, fileMustExist: true})
  db.pragma('busy_timeout = 5000')
  return db
}

/** A task row as stored. */
export interface TaskRow {
  namespace: string
  container_id: string
  status: string
  pid: number
  exit_status: number | null
  exit_known: number
  oom: number
  boot_id: string
  instance: string
}

/** Read one task row straight from the database. */
export function taskRow(sb: Sandbox, ns: string, id: string): TaskRow | undefined {
  const db = openDb(sb)
  try {
    return db
      .prepare(
        'SELECT namespace, container_id, status, pid, exit_status, exit_known, oom, boot_id, instance FROM tasks WHERE namespace = ? AND container_id = ?',
      )
      .get(ns, id) as TaskRow | undefined
  } finally {
    db.close()
  }
}

/** The `tasks ls` rows of a namespace: id -> {pid, status}. */
export function taskList(sb: Sandbox, ns = 'default'): Map<string, {pid: number; status: string}> {
  const lines = sb.ok(['-n', ns, 'tasks', 'ls']).split('\n').slice(1).filter(Boolean)
  return new Map(
    lines.map((l) => {
      const m = /^(\S+)\s+(\d+)\s+(.+?)\s*$/.exec(l)
      if (!m) throw new Error(`unexpected tasks ls line ${JSON.stringify(l)}`)
      return [m[1], {pid: Number(m[2]), status: m[3]}]
    }),
  )
}

/** The paths a task of the sandbox uses. */
export function taskFiles(sb: Sandbox, ns: string, id: string) {
  const dir = join(sb.state, 'tasks', ns, id)
  return {
    dir,
    rootfs: join(dir, 'rootfs'),
    config: join(dir, 'config.json'),
    runcState: join(sb.state, 'runc', ns, id),
    template: join(sb.root, 'containers', ns, id, 'spec.json'),
  }
}
