// Bundle entry: runs the CLI with this process's arguments.
import {main} from './main.js'

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0) // reader went away (`| head`)
  throw err
})
await main(process.argv.slice(2))
