// A reader that went away (`ctr ... | head`) ends the command quietly. The handler goes on when
// process.stdout is first used, not at start-up: making the stream (a pipe's socket, a tty) loads
// net and stream modules, 2-3 ms that commands which print nothing (kill, start -d) need not pay.

/** Install the EPIPE handler on process.stdout's first use. */
export function guardStdout(): void {
  const stdout = Object.getOwnPropertyDescriptor(process, 'stdout')
  if (stdout?.get && stdout.configurable) {
    Object.defineProperty(process, 'stdout', {
      configurable: true,
      enumerable: stdout.enumerable ?? true,
      get() {
        const stream = stdout.get!.call(process) as NodeJS.WriteStream
        Object.defineProperty(process, 'stdout', {configurable: true, enumerable: stdout.enumerable ?? true, value: stream, writable: false})
        stream.on('error', onStdoutError)
        return stream
      },
    })
  } else {
    process.stdout.on('error', onStdoutError)
  }
}

function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
}

/** The last resort for an error no command reported: one `ctr:` line, exit 1. */
export function reportUncaught(err: unknown): void {
  process.stderr.write(`ctr: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
}
