// Where a task's stdout and stderr go besides ctr's own stdio or conmon's log: `--log-uri
// file://PATH` (appended to a file) and `--log-uri binary://PROGRAM?k=v`, containerd's binary
// logging protocol as its runc shim speaks it. The program runs on its own (it outlives ctr, like the shim's), with CONTAINER_ID and
// CONTAINER_NAMESPACE set, reads the task's stdout on fd 3 and stderr on fd 4, and closes fd 5 (or
// writes a byte to it) once it is ready; the task starts only then. Invariant: once the streams
// are handed to the process that writes into them (runc, conmon), this process closes its own
// copies, so that the program sees end of file when the task's last writer exits.
import {spawn} from 'node:child_process'
import {closeSync, mkdirSync, openSync} from 'node:fs'
import type {Socket} from 'node:net'
import {dirname} from 'node:path'
import {FailedPrecondition} from '../errors/index.js'

/** A task's output: appended to a file, or written into a logging program's streams (stdout, stderr). */
export type TaskOutput = {readonly file: string} | {readonly streams: readonly [Socket, Socket]}

/** Open a log file for appending, making its directory first (as containerd's file log does). */
export function openAppend(path: string): number {
  mkdirSync(dirname(path), {recursive: true})
  return openSync(path, 'a', 0o644)
}

/**
 * The stdout and stderr a child gets for `output` (fds or streams), and what to close once it has
 * them (an opened file; a logging program's copies are released by its owner).
 */
export function outputStdio(output: TaskOutput): {stdout: number | Socket; stderr: number | Socket; close: () => void} {
  if ('streams' in output) {
    // A destroyed socket has no descriptor left to hand on: the program went away.
    if (output.streams.some((s) => s.destroyed)) throw new FailedPrecondition('the logging binary closed its streams before the task started')
    return {stdout: output.streams[0], stderr: output.streams[1], close: () => {}}
  }
  const fd = openAppend(output.file)
  return {stdout: fd, stderr: fd, close: () => closeSync(fd)}
}

/** How long a logging program may take to say it is ready. */
const READY_TIMEOUT_MS = 10_000

/** A started logging program: the write ends a task's stdout and stderr go to. */
export interface LoggingProgram {
  readonly stdout: Socket
  readonly stderr: Socket
  /** Close this process's copies of the write ends (after handing them on). */
  release(): void
}

/**
 * Start a logging program and wait until it is ready.
 * @throws FailedPrecondition when it cannot start, exits, or never says it is ready.
 */
export async function startLoggingProgram(binary: string, args: readonly string[], ns: string, id: string): Promise<LoggingProgram> {
  const child = spawn(binary, args, {
    detached: true, // its own session, and it outlives ctr
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    env: {...process.env, CONTAINER_ID: id, CONTAINER_NAMESPACE: ns},
  })
  const [stdout, stderr, ready] = [3, 4, 5].map<Socket>((fd) => (child.stdio as unknown as Socket[])[fd])
  const release = (): void => {
    stdout.destroy()
    stderr.destroy()
  }
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (why: string) => reject(new FailedPrecondition(`failed to read from logging binary ${binary}: ${why}`))
      const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS)
      // Ready: a byte, or fd 5 closed. containerd takes a closed fd 5 for ready even when the
      // program died; Berth waits a moment and refuses a program that is gone.
      const done = () => {
        clearTimeout(timer)
        setTimeout(() => {
          if (child.exitCode !== null || child.signalCode !== null || stdout.destroyed || stderr.destroyed) fail('it exited before the task started')
          else resolve()
        }, 20)
      }
      child.once('error', (err) => {
        clearTimeout(timer)
        fail(err.message)
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        fail(`it exited (${signal ?? `status ${code}`}) before the task started`)
      })
      // Its end of our streams closing means it is gone too.
      for (const s of [stdout, stderr]) s.once('close', () => fail('it closed its streams before the task started'))
      ready.once('data', done)
      ready.once('end', done)
      ready.resume()
    })
  } catch (err) {
    release()
    throw err
  } finally {
    ready.destroy()
    child.removeAllListeners('exit')
    child.removeAllListeners('error')
    child.unref()
  }
  return {stdout: stdout, stderr: stderr, release}
}
