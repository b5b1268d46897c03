// Bundle entry: runs the CLI with this process's arguments. Built as one CommonJS file
// (dist/bundle/ctr.cjs): loading it synchronously is ~10 ms faster than an ESM module graph.
import {main} from './main.js'

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0) // reader went away (`| head`)
  throw err
})
void main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`ctr: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
