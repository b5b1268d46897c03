// Command output written straight to fd 1 with writeSync: making process.stdout (a pipe's or a
// file's stream) loads about twenty stream modules, 2-3 ms of every command that prints a line or
// a table. Order with the stream is kept: on Linux the stream writes files, pipes and TTYs
// synchronously too, and once this falls back to the stream (EAGAIN on a non-blocking pipe) it
// stays there. A reader that went away (EPIPE) ends the process quietly, as the stream's
// handler in fast-entry.ts does.
import {writeSync} from 'node:fs'

let useStream = false

/** Writes text to stdout, synchronously where the descriptor allows it. */
export function writeStdout(text: string): void {
  if (text === '') return
  if (!useStream) {
    const bytes = Buffer.from(text)
    let done = 0
    try {
      while (done < bytes.length) done += writeSync(1, bytes, done, bytes.length - done)
      return
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0)
      if (code !== 'EAGAIN') throw err
      // A non-blocking descriptor that is full: the stream queues the rest and waits.
      useStream = true
      process.stdout.write(bytes.subarray(done))
      return
    }
  }
  process.stdout.write(text)
}
