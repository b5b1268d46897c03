// Command output and error lines written straight to fd 1 and 2 with writeSync: making
// process.stdout or process.stderr (a pipe's or a file's stream) loads about twenty stream
// modules, 2-3 ms of every command that prints a line or a table. Order with the stream is kept: on Linux the stream writes files, pipes and TTYs
// synchronously too, and once this falls back to the stream (EAGAIN on a non-blocking pipe) it
// stays there. A reader that went away (EPIPE) ends the process quietly, as the stream's
// handler in entry/stdout-guard.ts does.
import {fstatSync, writeSync} from 'node:fs'

const useStream = {1: false, 2: false}

/** Writes text to stdout, synchronously where the descriptor allows it. */
export function writeStdout(text: string): void {
  writeFd(1, text)
}

/**
 * Writes text to stderr the same way: error lines (`ctr: ...`) then cost no stream, which
 * matters for a command that fails fast and for scripts that probe with failing calls.
 */
export function writeStderr(text: string): void {
  writeFd(2, text)
}

function writeFd(fd: 1 | 2, text: string): void {
  if (text === '') return
  const stream = () => (fd === 1 ? process.stdout : process.stderr)
  if (!useStream[fd]) {
    const bytes = Buffer.from(text)
    let done = 0
    try {
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done)
      return
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0)
      if (code !== 'EAGAIN') throw err
      // A non-blocking descriptor that is full: the stream queues the rest and waits.
      useStream[fd] = true
      stream().write(bytes.subarray(done))
      return
    }
  }
  stream().write(text)
}

/** stderr as a writable for renderers that print plain lines: fd 2 directly. */
export const stderrWriter = {
  write(text: string): boolean {
    writeStderr(text)
    return true
  },
}

/**
 * Whether stderr is a terminal, asking the stream only when it might be: a terminal is always a
 * character device, and a pipe or a file (what scripts and CI give) is answered from fstat
 * without making process.stderr.
 */
export function stderrIsTerminal(): boolean {
  try {
    if (!fstatSync(2).isCharacterDevice()) return false
  } catch {
    return false // closed: nothing to draw on
  }
  return process.stderr.isTTY === true
}
