// For `npm run demo`: starts Debian's docker-registry on 127.0.0.1 (temporary storage), pushes a
// small busybox image the project builds itself, prints `<host>` on stdout, and keeps the
// registry up until this process is told to stop (SIGTERM/SIGINT) or its parent goes away.
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const {startRegistry, pushImage} = await import(join(root, 'dist/test/helpers/registry.js'))
const {busyboxImage} = await import(join(root, 'dist/test/helpers/oci-image.js'))

const registry = await startRegistry()
const image = await busyboxImage({compression: 'gzip'})
await pushImage(registry, 'demo/busybox:1', image)
process.stdout.write(`${registry.host}\n`)

const stop = async () => {
  await registry.stop()
  process.exit(0)
}
process.on('SIGTERM', stop).on('SIGINT', stop)
process.stdin.resume() // the demo script holds our stdin: when it exits, we stop too
process.stdin.on('end', stop)
