// Benchmark: reading and writing image archives with node-tar 7 against Berth's own tar reader
// and writer, on an OCI-layout-shaped archive of random blobs (default ~150 MiB in 6 blobs).
// Reading = parse the archive from a file stream and sha256 every entry's data (what import
// does); writing = stream blob files into an archive file (what export does). Not a test: run
// `node dist/test/bench/archive-tar.js [runs] [MiB]` after `npm run build`. Prints medians of wall and CPU time in ms.
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {once} from 'node:events'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import * as nodeTar from 'tar'
import {streamOutput, TarReader, TarWriter} from '../../src/lib/tar/index.js'

const runs = Number(process.argv[2] ?? 5)
const mib = Number(process.argv[3] ?? 150)
const work = mkdtempSync(join(tmpdir(), 'berth-bench-archive-'))

// Blobs: a few big layers and small JSON-sized files, like an image.
const blobDir = join(work, 'blobs', 'sha256')
mkdirSync(blobDir, {recursive: true})
const names: string[] = []
const sizes = [0.45, 0.3, 0.15, 0.1].map((f) => Math.floor(f * mib * 1024 * 1024)).concat([1500, 700])
for (const size of sizes) {
  const data = randomBytes(size)
  const hex = createHash('sha256').update(data).digest('hex')
  writeFileSync(join(blobDir, hex), data)
  names.push(`blobs/sha256/${hex}`)
}
const archive = join(work, 'archive.tar')
await nodeTar.create({cwd: work, file: archive, portable: true}, names)

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

// Cases run interleaved (one run of each per round), so a busy machine slows them alike.
const cases: Array<[string, () => Promise<void>]> = []
function time(label: string, fn: () => Promise<void>): void {
  cases.push([label, fn])
}

time('baseline: sha256 of the archive file', async () => {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(archive, {highWaterMark: 1 << 20})) hash.update(chunk as Buffer)
  hash.digest('hex')
})

time('read: Berth TarReader + sha256', async () => {
  let hash = createHash('sha256')
  const reader = new TarReader({
    entry: () => (hash = createHash('sha256')),
    data: (c, s, e) => void hash.update(c.subarray(s, e)),
    entryEnd: () => void hash.digest('hex'),
  })
  for await (const chunk of createReadStream(archive, {highWaterMark: 1 << 20})) reader.push(chunk as Buffer)
  reader.end()
})

time('read: node-tar Parser + sha256', async () => {
  const parser = new nodeTar.Parser({
    onReadEntry: (entry) => {
      const hash = createHash('sha256')
      entry.on('data', (c: Buffer) => hash.update(c))
      entry.on('end', () => hash.digest('hex'))
    },
  })
  const done = once(parser, 'end')
  for await (const chunk of createReadStream(archive, {highWaterMark: 1 << 20})) {
    if (!parser.write(chunk as Buffer)) await once(parser, 'drain')
  }
  parser.end()
  await done
})

time('write: Berth TarWriter (streamed files)', async () => {
  const out = createWriteStream(join(work, 'out-berth.tar'))
  const w = new TarWriter(streamOutput(out))
  for (const name of names) {
    const size = (await import('node:fs')).statSync(join(work, name)).size
    await w.add({path: name, size, mode: 0o444}, createReadStream(join(work, name), {highWaterMark: 1 << 20}))
  }
  await w.finish()
  out.end()
  await once(out, 'close')
})

time('write: node-tar create (files)', async () => {
  await nodeTar.create({cwd: work, file: join(work, 'out-nodetar.tar'), portable: true}, names)
})

// Wall time and this process's CPU time (user + system): on a shared machine the CPU time is
// the steadier figure.
const wall = cases.map((): number[] => [])
const cpu = cases.map((): number[] => [])
for (let i = 0; i < runs; i++) {
  for (const [k, [, fn]] of cases.entries()) {
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    await fn()
    const c = process.cpuUsage(c0)
    wall[k].push(performance.now() - t0)
    cpu[k].push((c.user + c.system) / 1000)
  }
}
console.log(`${'case'.padEnd(40)} ${'wall'.padStart(9)} ${'cpu'.padStart(9)}`)
cases.forEach(([label], k) => console.log(`${label.padEnd(40)} ${median(wall[k]).toFixed(0).padStart(6)} ms ${median(cpu[k]).toFixed(0).padStart(6)} ms`))
rmSync(work, {recursive: true, force: true})
