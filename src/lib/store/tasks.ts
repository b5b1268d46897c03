// Task records: the last known state of each container's running instance and of the extra
// processes exec'd into it. Every state change appends its `/tasks/*` event in the same
// transaction, and changes name the task's `instance` so that a late writer (an exit command of
// an earlier run) can never touch a newer run of the same container.
import type {Database} from 'better-sqlite3'
import {AlreadyExists, NotFound} from '../errors/index.js'
import type {EventMount, TopicEvent} from '../events/topics.js'
import {appendEvent, nowMicros, type Retention} from './event-log.js'
import {isStopped, type TaskStatus, UNFINISHED_STATUSES} from './task-state.js'

export type {TaskStatus}
/** Who waits for the task's init process: conmon (detached) or the ctr process in the foreground. */
export type TaskMonitor = 'conmon' | 'client'

/** A task as stored. Times are unix microseconds. */
export interface TaskRecord {
  containerId: string
  instance: string
  status: TaskStatus
  pid: number
  pidStart?: number
  monitor: TaskMonitor
  monitorPid: number
  bootId: string
  terminal: boolean
  exitStatus?: number
  exitedAt?: number
  /** False when the process vanished without a recorded status (the exit status is then 255). */
  exitKnown: boolean
  oom: boolean
  createdAt: number
  updatedAt: number
}

export interface ExecRecord {
  containerId: string
  execId: string
  status: 'created' | 'running' | 'stopped'
  pid: number
  pidStart?: number
  exitStatus?: number
  exitedAt?: number
  createdAt: number
}

/** What a task's exit is recorded with. */
export interface TaskExit {
  exitStatus: number
  exitedAt: number
  /** The exit time in nanoseconds, when the source has them (conmon's exit file): for the event. */
  exitedAtNs?: bigint
  known: boolean
  oom: boolean
}

/** The status recorded when a process vanished without leaving one (containerd's UnknownExitStatus). */
export const UNKNOWN_EXIT_STATUS = 255

interface TaskRow {
  container_id: string
  instance: string
  status: TaskStatus
  pid: number
  pid_start: number | null
  monitor: TaskMonitor
  monitor_pid: number
  boot_id: string
  terminal: number
  exit_status: number | null
  exited_at: number | null
  exit_known: number
  oom: number
  created_at: number
  updated_at: number
}

interface ExecRow {
  container_id: string
  exec_id: string
  status: ExecRecord['status']
  pid: number
  pid_start: number | null
  exit_status: number | null
  exited_at: number | null
  created_at: number
}

const toTask = (r: TaskRow): TaskRecord => {
  const t: TaskRecord = {
    containerId: r.container_id,
    instance: r.instance,
    status: r.status,
    pid: r.pid,
    monitor: r.monitor,
    monitorPid: r.monitor_pid,
    bootId: r.boot_id,
    terminal: r.terminal === 1,
    exitKnown: r.exit_known === 1,
    oom: r.oom === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }
  if (r.pid_start !== null) t.pidStart = r.pid_start
  if (r.exit_status !== null) t.exitStatus = r.exit_status
  if (r.exited_at !== null) t.exitedAt = r.exited_at
  return t
}

const toExec = (r: ExecRow): ExecRecord => {
  const e: ExecRecord = {containerId: r.container_id, execId: r.exec_id, status: r.status, pid: r.pid, createdAt: r.created_at}
  if (r.pid_start !== null) e.pidStart = r.pid_start
  if (r.exit_status !== null) e.exitStatus = r.exit_status
  if (r.exited_at !== null) e.exitedAt = r.exited_at
  return e
}

/** A protobuf Timestamp as Go's encoding/json prints it. */
export function protoTimestamp(micros: number): {seconds: number; nanos?: number} {
  const seconds = Math.floor(micros / 1e6)
  const nanos = (micros - seconds * 1e6) * 1000
  return nanos === 0 ? {seconds} : {seconds, nanos}
}

const TASK_COLUMNS =
  'container_id, instance, status, pid, pid_start, monitor, monitor_pid, boot_id, terminal, exit_status, exited_at, exit_known, oom, created_at, updated_at'
const EXEC_COLUMNS = 'container_id, exec_id, status, pid, pid_start, exit_status, exited_at, created_at'

/** The `/tasks/create` payload's extra fields. */
export interface TaskCreateDetails {
  bundle: string
  rootfs: EventMount[]
  io: {stdin?: string; stdout?: string; stderr?: string; terminal?: boolean}
  /** The CRIU image a restored task came from (containerd's TaskCreate.checkpoint). */
  checkpoint?: string
  /** Beyond containerd: the addresses of a networked container (CNI, its own or its pod's), as `ips` after `pid`. */
  ips?: readonly string[]
}

/** Task and exec record operations over one open database. */
/**
 * Whether the task published `/tasks/create`: `created()` records the pid with that event in one
 * transaction, so a task without a pid was never announced, and its exit and delete are not either
 * (every change has exactly one event, and a subscriber never sees a delete of what was not made).
 */
const announced = (t: TaskRecord): boolean => t.pid > 0

export class TaskStore {
  constructor(
    private readonly db: Database,
    private readonly retention: Retention,
  ) {}

  /** @throws NotFound `no running task found: task <id> not found`, as ctr says. */
  get(ns: string, id: string): TaskRecord {
    const found = this.find(ns, id)
    if (!found) throw new NotFound(`no running task found: task ${id} not found`)
    return found
  }

  find(ns: string, id: string): TaskRecord | undefined {
    const row = this.db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE namespace = ? AND container_id = ?`).get(ns, id) as TaskRow | undefined
    return row && toTask(row)
  }

  /** Every task of the namespace, ordered by container id. */
  list(ns: string): TaskRecord[] {
    return (this.db.prepare(`SELECT ${TASK_COLUMNS} FROM tasks WHERE namespace = ? ORDER BY container_id`).all(ns) as TaskRow[]).map(toTask)
  }

  /**
   * Insert a new task in `created` state with no process yet (no event: `/tasks/create` comes
   * with the pid). @throws AlreadyExists `task <id>: already exists`; NotFound for the container.
   */
  insert(ns: string, input: {containerId: string; instance: string; monitor: TaskMonitor; monitorPid: number; bootId: string; terminal: boolean}): TaskRecord {
    return this.commit(() => {
      if (!this.db.prepare('SELECT 1 FROM containers WHERE namespace = ? AND id = ?').get(ns, input.containerId)) {
        throw new NotFound(`container ${JSON.stringify(input.containerId)}`, {suffixKind: true})
      }
      if (this.find(ns, input.containerId)) throw new AlreadyExists(`task ${input.containerId}`, {suffixKind: true})
      const now = nowMicros()
      this.db
        .prepare(
          `INSERT INTO tasks (namespace, container_id, instance, status, monitor, monitor_pid, boot_id, terminal, created_at, updated_at) VALUES ` +
            `(?, ?, ?, 'created', ?, ?, ?, ?, ?, ?)`,
        )
        .run(ns, input.containerId, input.instance, input.monitor, input.monitorPid, input.bootId, input.terminal ? 1 : 0, now, now)
      return this.get(ns, input.containerId)
    })
  }

  /** Record the init process of a created task, with `/tasks/create`. False when the instance is gone. */
  created(ns: string, id: string, instance: string, process: {pid: number; pidStart?: number; monitorPid?: number}, details: TaskCreateDetails): boolean {
    return this.change(ns, id, instance, ['created'], () => {
      this.db
        .prepare('UPDATE tasks SET pid = ?, pid_start = ?, monitor_pid = coalesce(?, monitor_pid), updated_at = ? WHERE namespace = ? AND container_id = ?')
        .run(process.pid, process.pidStart ?? null, process.monitorPid ?? null, nowMicros(), ns, id)
      this.event(ns, {
        topic: '/tasks/create',
        containerId: id,
        bundle: details.bundle,
        rootfs: details.rootfs,
        io: details.io,
        checkpoint: details.checkpoint,
        pid: process.pid,
        ips: details.ips,
      })
    })
  }

  /** created → running, with `/tasks/start`. */
  started(ns: string, id: string, instance: string): boolean {
    return this.change(ns, id, instance, ['created'], (t) => {
      this.setStatus(ns, id, 'running')
      this.event(ns, {topic: '/tasks/start', containerId: id, pid: t.pid})
    })
  }

  /** Several changes (each with its event) in one commit: a foreground task is created and started at once. */
  batch<T>(fn: () => T): T {
    return this.commit(fn)
  }

  /** running ⇄ paused, with `/tasks/paused` or `/tasks/resumed`. */
  setPaused(ns: string, id: string, instance: string, paused: boolean): boolean {
    return this.change(ns, id, instance, [paused ? 'running' : 'paused'], () => {
      this.setStatus(ns, id, paused ? 'paused' : 'running')
      this.event(ns, {topic: paused ? '/tasks/paused' : '/tasks/resumed', containerId: id})
    })
  }

  /**
   * Record the exit of the init process, with `/tasks/oom` (when OOM-killed) and `/tasks/exit`.
   * Exactly one caller wins; false for the others and for a gone or newer instance.
   */
  exited(ns: string, id: string, instance: string, exit: TaskExit): boolean {
    return this.change(ns, id, instance, UNFINISHED_STATUSES, (t) => {
      this.db
        .prepare(
          "UPDATE tasks SET status = 'stopped', exit_status = ?, exited_at = ?, exit_known = ?, oom = ?, updated_at = ? WHERE namespace = ? AND " +
            'container_id = ?',
        )
        .run(exit.exitStatus, exit.exitedAt, exit.known ? 1 : 0, exit.oom ? 1 : 0, nowMicros(), ns, id)
      // A start killed before its process existed never published /tasks/create: nor its exit.
      if (!announced(t)) return
      if (exit.oom) this.event(ns, {topic: '/tasks/oom', containerId: id})
      this.event(ns, {topic: '/tasks/exit', containerId: id, id, pid: t.pid, exitStatus: exit.exitStatus, exitedAt: exit.exitedAtNs ?? exit.exitedAt})
    })
  }

  /**
   * Delete the task (and its execs) with `/tasks/delete`, unless it never published `/tasks/create`
   * (a start killed before its process existed). Returns the record, or undefined when gone.
   */
  remove(ns: string, id: string, instance?: string): TaskRecord | undefined {
    return this.commit(() => {
      const t = this.find(ns, id)
      if (!t || (instance !== undefined && t.instance !== instance)) return undefined
      this.db.prepare('DELETE FROM task_execs WHERE namespace = ? AND container_id = ?').run(ns, id)
      this.db.prepare('DELETE FROM tasks WHERE namespace = ? AND container_id = ?').run(ns, id)
      if (announced(t)) this.event(ns, {topic: '/tasks/delete', containerId: id, pid: t.pid, exitStatus: t.exitStatus, exitedAt: t.exitedAt, id})
      return t
    })
  }

  /** Delete a task that never got a process, without an event (its start failed). */
  discard(ns: string, id: string, instance: string): void {
    this.db.prepare('DELETE FROM tasks WHERE namespace = ? AND container_id = ? AND instance = ?').run(ns, id, instance)
  }

  // --- exec processes ---

  findExec(ns: string, id: string, execId: string): ExecRecord | undefined {
    const row = this.db.prepare(`SELECT ${EXEC_COLUMNS} FROM task_execs WHERE namespace = ? AND container_id = ? AND exec_id = ?`).get(ns, id, execId) as
      | ExecRow
      | undefined
    return row && toExec(row)
  }

  listExecs(ns: string, id: string): ExecRecord[] {
    return (this.db.prepare(`SELECT ${EXEC_COLUMNS} FROM task_execs WHERE namespace = ? AND container_id = ? ORDER BY exec_id`).all(ns, id) as ExecRow[]).map(
      toExec,
    )
  }

  /** Add an exec process, with `/tasks/exec-added`. @throws AlreadyExists `id <exec-id>: already exists`. */
  addExec(ns: string, id: string, execId: string): ExecRecord {
    return this.commit(() => {
      if (!this.find(ns, id)) throw new NotFound(`no running task found: task ${id} not found`)
      if (this.findExec(ns, id, execId)) throw new AlreadyExists(`id ${execId}`, {suffixKind: true})
      this.db
        .prepare("INSERT INTO task_execs (namespace, container_id, exec_id, status, created_at) VALUES (?, ?, ?, 'created', ?)")
        .run(ns, id, execId, nowMicros())
      this.event(ns, {topic: '/tasks/exec-added', containerId: id, execId})
      return this.findExec(ns, id, execId)!
    })
  }

  /** created → running with its pid, and `/tasks/exec-started`. */
  execStarted(ns: string, id: string, execId: string, pid: number, pidStart?: number): boolean {
    return this.commit(() => {
      const info = this.db
        .prepare(
          "UPDATE task_execs SET status = 'running', pid = ?, pid_start = ? WHERE namespace = ? AND container_id = ? AND exec_id = ? AND status = 'created'",
        )
        .run(pid, pidStart ?? null, ns, id, execId)
      if (info.changes === 0) return false
      this.event(ns, {topic: '/tasks/exec-started', containerId: id, execId, pid})
      return true
    })
  }

  /** Record an exec's exit, with `/tasks/exit` whose `id` is the exec id. Once. `exitedAtNs`: as in TaskExit. */
  execExited(ns: string, id: string, execId: string, exitStatus: number, exitedAt: number, exitedAtNs?: bigint): boolean {
    return this.commit(() => {
      const e = this.findExec(ns, id, execId)
      if (!e || isStopped(e)) return false
      this.db
        .prepare("UPDATE task_execs SET status = 'stopped', exit_status = ?, exited_at = ? WHERE namespace = ? AND container_id = ? AND exec_id = ?")
        .run(exitStatus, exitedAt, ns, id, execId)
      this.event(ns, {topic: '/tasks/exit', containerId: id, id: execId, pid: e.pid, exitStatus, exitedAt: exitedAtNs ?? exitedAt})
      return true
    })
  }

  /** Delete an exec's record. No event: containerd publishes `/tasks/delete` for init processes only. */
  removeExec(ns: string, id: string, execId: string): ExecRecord | undefined {
    return this.commit(() => {
      const e = this.findExec(ns, id, execId)
      if (!e) return undefined
      this.db.prepare('DELETE FROM task_execs WHERE namespace = ? AND container_id = ? AND exec_id = ?').run(ns, id, execId)
      return e
    })
  }

  private change(ns: string, id: string, instance: string, from: readonly TaskStatus[], apply: (t: TaskRecord) => void): boolean {
    return this.commit(() => {
      const t = this.find(ns, id)
      if (!t || t.instance !== instance || !from.includes(t.status)) return false
      apply(t)
      return true
    })
  }

  /**
   * Run `fn` in an immediate transaction committed with synchronous=NORMAL: no fsync per commit.
   * A crash of any process loses nothing (the WAL is written before the commit returns); a power
   * loss may lose the last task records, which is harmless: after it the boot id differs and every
   * task is reconciled as stopped anyway. The next FULL commit (any metadata change) syncs them.
   */
  private commit<T>(fn: () => T): T {
    if (this.db.inTransaction) return this.db.transaction(fn)() // inside batch(): a savepoint of its commit
    this.db.pragma('synchronous = NORMAL')
    try {
      return this.db.transaction(fn).immediate()
    } finally {
      this.db.pragma('synchronous = FULL')
    }
  }

  private setStatus(ns: string, id: string, status: TaskStatus): void {
    this.db.prepare('UPDATE tasks SET status = ?, updated_at = ? WHERE namespace = ? AND container_id = ?').run(status, nowMicros(), ns, id)
  }

  private event(ns: string, event: TopicEvent): void {
    appendEvent(this.db, ns, event, this.retention)
  }
}
