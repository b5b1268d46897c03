// Tar streams of a directory for checkpoint images: the CRIU image dir, and a container's rw layer
// (an overlay upper dir, with overlayfs whiteouts turned into OCI `.wh.` entries). Headers are
// encoded by node-tar (Header, Pax; loaded lazily), the walk and the whiteout conversion are ours
// (node-tar's Pack cannot read xattrs or emit synthetic whiteout entries). The stream is hashed as
// it is written, so the blob can go through the content store's verified ingest.
import {createHash} from 'node:crypto'
import {createReadStream, createWriteStream, lstatSync, readdirSync, readlinkSync, type Stats} from 'node:fs'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {createGzip} from 'node:zlib' // a lazy proxy in the CLI bundle
import {createRequire} from 'node:module'
import {lgetxattr} from '../sys/index.js'

type TarModule = typeof import('tar')
let tarModule: TarModule | undefined
/** node-tar, loaded on first use through a synchronous require (the CLI bundle runs without an ESM loader). */
function tar(): TarModule {
  return (tarModule ??= createRequire(import.meta.url)('tar') as TarModule)
}

export interface TreeTarOptions {
  /** gzip the stream (a `tar+gzip` layer). */
  readonly gzip?: boolean
  /** `dir` is an overlay upper dir: char 0:0 devices are whiteouts, `trusted.overlay.opaque=y` dirs are opaque. */
  readonly overlay?: boolean
}

/** What was written: the blob's digest and size. */
export interface WrittenBlob {
  readonly digest: string
  readonly size: number
}

const BLOCK = 512

/** Write `dir`'s tree as a tar (names relative, sorted, directories with a trailing `/`) to `file`. */
export async function writeTreeTar(dir: string, file: string, options: TreeTarOptions = {}): Promise<WrittenBlob> {
  const {Header, Pax} = tar()
  const header = (data: Record<string, unknown>): Buffer => {
    const h = new Header(data)
    const block = Buffer.alloc(BLOCK)
    h.encode(block, 0)
    if (!h.needPax) return block
    const pax = new Pax(data).encode()
    return Buffer.concat([pax, block])
  }
  const pad = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK)
  const base = (st: Stats) => ({mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime})

  async function* entries(rel: string): AsyncGenerator<Buffer> {
    const abs = rel === '' ? dir : join(dir, rel)
    for (const name of readdirSync(abs).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`
      const full = join(dir, path)
      const st = lstatSync(full)
      if (st.isDirectory()) {
        yield header({path: `${path}/`, type: 'Directory', size: 0, ...base(st)})
        if (options.overlay && lgetxattr(full, 'trusted.overlay.opaque')?.toString() === 'y') {
          yield header({path: `${path}/.wh..wh..opq`, type: 'File', size: 0, ...base(st), mode: 0o644})
        }
        yield* entries(path)
      } else if (st.isFile()) {
        yield header({path, type: 'File', size: st.size, ...base(st)})
        let written = 0
        for await (const chunk of createReadStream(full, {highWaterMark: 1 << 20})) {
          written += (chunk as Buffer).length
          yield chunk as Buffer
        }
        if (written !== st.size) throw new Error(`${full} changed size while archived`)
        yield pad(st.size)
      } else if (st.isSymbolicLink()) {
        yield header({path, type: 'SymbolicLink', size: 0, linkpath: readlinkSync(full), ...base(st)})
      } else if (st.isCharacterDevice() && options.overlay && st.rdev === 0) {
        const slash = path.lastIndexOf('/')
        yield header({path: `${path.slice(0, slash + 1)}.wh.${path.slice(slash + 1)}`, type: 'File', size: 0, ...base(st), mode: 0o644})
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        const major = (st.rdev >> 8) & 0xfff
        const minor = (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00)
        yield header({path, type: st.isCharacterDevice() ? 'CharacterDevice' : 'BlockDevice', size: 0, devmaj: major, devmin: minor, ...base(st)})
      } else if (st.isFIFO()) {
        yield header({path, type: 'FIFO', size: 0, ...base(st)})
      }
      // sockets cannot be archived; CRIU and containers recreate them
    }
  }
  async function* archive(): AsyncGenerator<Buffer> {
    yield* entries('')
    yield Buffer.alloc(BLOCK * 2)
  }

  const hash = createHash('sha256')
  let size = 0
  const counter = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      hash.update(chunk)
      size += chunk.length
      yield chunk
    }
  }
  const out = createWriteStream(file, {mode: 0o600})
  if (options.gzip) {
    await pipeline(Readable.from(archive()), createGzip(), counter, out)
  } else {
    await pipeline(Readable.from(archive()), counter, out)
  }
  return {digest: `sha256:${hash.digest('hex')}`, size}
}
