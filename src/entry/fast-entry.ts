// Bundle entry: runs the CLI with this process's arguments. Built as one CommonJS file
// (dist/bundle/ctr.cjs): loading it synchronously is ~10 ms faster than an ESM module graph.
import {main} from './main.js'

// A reader that went away (`ctr ... | head`) ends the command quietly. The handler goes on when
// process.stdout is first used, not here: making the stream (a pipe's socket, a tty) loads net
// and stream modules, 2-3 ms that commands which print nothing (kill, start -d) need not pay.
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

function onStdoutError(err: NodeJS.ErrnoException): void {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
}

void main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`ctr: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
