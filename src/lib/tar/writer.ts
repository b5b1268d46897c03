// A streaming tar writer: entries go out one at a time as POSIX ustar headers, preceded by a PAX
// `x` header whenever a field does not fit ustar (long or non-ASCII names and link names, sizes
// of 8 GiB and more, large ids, fractional or out-of-range times, long user names, xattrs).
//
// Invariants: every header carries a correct checksum; an entry's data is exactly the size its
// header announced (a short or long body throws and poisons the writer, so a half-written entry is
// never followed by another); the archive is a whole number of 512-byte blocks and `finish()`
// ends it with two zero blocks; output goes out in order and waits for the sink (backpressure),
// so memory stays bounded by the chunks in flight whatever the archive's size.
import type {Writable} from 'node:stream'
import {Internal, InvalidArgument} from '../errors/index.js'

const BLOCK = 512

/** What an entry can be (the reader's vocabulary). */
export type TarWriteType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo'

/** One entry's header. Absent fields: type `file`, mode 0644 (dirs 0755, symlinks 0777), ids 0, names '', mtime 0. */
export interface TarWriteHeader {
  /** The archive path, written as given (directories conventionally end in `/`). */
  readonly path: string
  readonly type?: TarWriteType
  /** Bytes of data that follow; files only (0 for every other type). */
  readonly size?: number
  /** Permission bits including setuid, setgid and sticky. */
  readonly mode?: number
  readonly uid?: number
  readonly gid?: number
  readonly uname?: string
  readonly gname?: string
  /** Seconds since the epoch (may be negative). */
  readonly mtimeSec?: number
  /** Nanoseconds within the second; a non-zero value goes into a PAX `mtime`. */
  readonly mtimeNsec?: number
  /** Target of a symlink or hardlink. */
  readonly linkpath?: string
  readonly devmajor?: number
  readonly devminor?: number
  /** Extended attributes, written as PAX `SCHILY.xattr.<name>` records. */
  readonly xattrs?: ReadonlyMap<string, Buffer>
}

/** Where the archive's bytes go: called in order; the writer awaits each call (backpressure). */
export type TarOutput = (chunk: Buffer) => void | Promise<void>

const TYPEFLAG: Record<TarWriteType, number> = {file: 0x30, hardlink: 0x31, symlink: 0x32, char: 0x33, block: 0x34, dir: 0x35, fifo: 0x36}
const DEFAULT_MODE: Record<TarWriteType, number> = {file: 0o644, hardlink: 0o644, symlink: 0o777, char: 0o644, block: 0o644, dir: 0o755, fifo: 0o644}

/** Largest value an octal field of `width` bytes holds (width-1 digits and a NUL). */
const maxOctal = (width: number): number => 8 ** (width - 1) - 1
const ASCII = /^[\x01-\x7f]*$/

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK
}

/** The end-of-archive marker: two zero blocks. */
export function tarTrailer(): Buffer {
  return Buffer.alloc(2 * BLOCK)
}

/**
 * The header block(s) of one entry: a PAX `x` header with its records when needed, then the
 * ustar header. @throws InvalidArgument for an empty path, a NUL in a name, a negative or
 * non-integer size, id or device number, or data on a non-file entry.
 */
export function encodeTarHeader(h: TarWriteHeader): Buffer {
  const type = h.type ?? 'file'
  const size = h.size ?? 0
  const fail = (what: string): never => {
    throw new InvalidArgument(`tar entry ${JSON.stringify(h.path)}: ${what}`)
  }
  if (h.path === '') fail('empty path')
  if (h.path.includes('\0') || (h.linkpath ?? '').includes('\0')) fail('NUL in a name')
  if (!Number.isSafeInteger(size) || size < 0) fail(`invalid size ${size}`)
  if (size > 0 && type !== 'file') fail(`a ${type} entry carries no data`)
  for (const [field, value] of [
    ['uid', h.uid ?? 0],
    ['gid', h.gid ?? 0],
    ['devmajor', h.devmajor ?? 0],
    ['devminor', h.devminor ?? 0],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) fail(`invalid ${field} ${value}`)
  }
  const mtimeSec = h.mtimeSec ?? 0
  const mtimeNsec = h.mtimeNsec ?? 0
  if (!Number.isSafeInteger(mtimeSec) || !Number.isInteger(mtimeNsec) || mtimeNsec < 0 || mtimeNsec >= 1e9) fail('invalid mtime')

  const pax: Array<[string, Buffer]> = []
  const paxString = (key: string, value: string) => pax.push([key, Buffer.from(value, 'utf8')])

  const header = Buffer.alloc(BLOCK)
  // The name: as is, or split into prefix/name at a slash, or (long or not ASCII) in PAX.
  const path = h.path
  const pathBytes = Buffer.byteLength(path)
  if (ASCII.test(path) && pathBytes <= 100) header.write(path, 0, 100, 'latin1')
  else {
    const split = ASCII.test(path) ? splitUstarPath(path) : undefined
    if (split) {
      header.write(split.name, 0, 100, 'latin1')
      header.write(split.prefix, 345, 155, 'latin1')
    } else {
      paxString('path', path)
      header.write(asciiStub(path, 100), 0, 100, 'latin1')
    }
  }
  const linkpath = type === 'symlink' || type === 'hardlink' ? (h.linkpath ?? '') : ''
  if (ASCII.test(linkpath) && linkpath.length <= 100) header.write(linkpath, 157, 100, 'latin1')
  else {
    paxString('linkpath', linkpath)
    header.write(asciiStub(linkpath, 100), 157, 100, 'latin1')
  }
  const numeric = (value: number, offset: number, width: number, paxKey: string) => {
    if (value <= maxOctal(width)) writeOctal(header, offset, width, value)
    else {
      paxString(paxKey, String(value))
      writeOctal(header, offset, width, 0)
    }
  }
  writeOctal(header, 100, 8, (h.mode ?? DEFAULT_MODE[type]) & 0o7777)
  numeric(h.uid ?? 0, 108, 8, 'uid')
  numeric(h.gid ?? 0, 116, 8, 'gid')
  numeric(size, 124, 12, 'size')
  if (mtimeNsec !== 0 || mtimeSec < 0 || mtimeSec > maxOctal(12)) {
    paxString('mtime', formatPaxTime(mtimeSec, mtimeNsec))
    writeOctal(header, 136, 12, Math.min(Math.max(mtimeSec, 0), maxOctal(12)))
  } else writeOctal(header, 136, 12, mtimeSec)
  header[156] = TYPEFLAG[type]
  header.write('ustar\0' + '00', 257, 8, 'latin1')
  for (const [key, value, offset] of [
    ['uname', h.uname ?? '', 265],
    ['gname', h.gname ?? '', 297],
  ] as const) {
    if (ASCII.test(value) && value.length <= 32) header.write(value, offset, 32, 'latin1')
    else paxString(key, value)
  }
  if (type === 'char' || type === 'block') {
    if ((h.devmajor ?? 0) > maxOctal(8) || (h.devminor ?? 0) > maxOctal(8)) fail('device number out of range')
    writeOctal(header, 329, 8, h.devmajor ?? 0)
    writeOctal(header, 337, 8, h.devminor ?? 0)
  }
  for (const [name, value] of h.xattrs ?? []) {
    if (name === '' || name.includes('=') || name.includes('\0')) fail(`invalid xattr name ${JSON.stringify(name)}`)
    pax.push([`SCHILY.xattr.${name}`, value])
  }
  writeChecksum(header)
  if (pax.length === 0) return header

  const records = Buffer.concat(pax.map(([key, value]) => paxRecord(key, value)))
  const base = path.replace(/\/+$/, '').split('/').pop() || 'entry'
  const paxHeader = Buffer.alloc(BLOCK)
  paxHeader.write(asciiStub(`PaxHeaders.0/${base}`, 100), 0, 100, 'latin1')
  writeOctal(paxHeader, 100, 8, 0o644)
  writeOctal(paxHeader, 108, 8, 0)
  writeOctal(paxHeader, 116, 8, 0)
  writeOctal(paxHeader, 124, 12, records.length)
  writeOctal(paxHeader, 136, 12, Math.min(Math.max(mtimeSec, 0), maxOctal(12)))
  paxHeader[156] = 0x78 // 'x'
  paxHeader.write('ustar\0' + '00', 257, 8, 'latin1')
  writeChecksum(paxHeader)
  return Buffer.concat([paxHeader, records, Buffer.alloc(tarPadding(records.length)), header])
}

/**
 * Writes an archive entry by entry to a {@link TarOutput}. Use {@link add} for a whole entry, or
 * {@link begin} to stream a file's data in pieces; then {@link finish}. Operations must not
 * overlap (await each). After any failure every later call throws the first error.
 */
export class TarWriter {
  private open: {header: TarWriteHeader; remaining: number} | undefined
  private failed: unknown
  private ended = false
  private written = 0

  constructor(private readonly output: TarOutput) {}

  /** Bytes handed to the output so far. */
  get bytesWritten(): number {
    return this.written
  }

  /**
   * Write a whole entry: its header, then `data` (a buffer, or chunks from an iterable such as a
   * file stream), checking that the data is exactly `header.size` bytes.
   * @throws InvalidArgument (header), Internal (data size differs from the header's), or what the output throws.
   */
  async add(header: TarWriteHeader, data?: Buffer | Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    const size = header.size ?? (Buffer.isBuffer(data) ? data.length : 0)
    await this.begin({...header, size})
    if (data !== undefined) {
      if (Buffer.isBuffer(data)) await this.write(data)
      else for await (const chunk of data) await this.write(chunk)
    }
    await this.endEntry()
  }

  /** Start an entry: writes its header; its data follows through {@link write}, then {@link endEntry}. */
  async begin(header: TarWriteHeader): Promise<void> {
    this.assertUsable()
    if (this.open) this.poison(new Internal(`tar entry ${JSON.stringify(this.open.header.path)} was not ended before the next one`))
    const bytes = encodeTarHeader(header)
    this.open = {header, remaining: header.size ?? 0}
    await this.emit(bytes)
  }

  /** The next piece of the open entry's data. @throws Internal when it would exceed the header's size. */
  async write(chunk: Uint8Array): Promise<void> {
    this.assertUsable()
    const open = this.open
    if (!open) return this.poison(new Internal('tar data written outside an entry'))
    if (chunk.length === 0) return
    if (chunk.length > open.remaining) {
      this.poison(new Internal(`tar entry ${JSON.stringify(open.header.path)}: more data than its size ${open.header.size ?? 0}`))
    }
    open.remaining -= chunk.length
    await this.emit(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length))
  }

  /** Ends the open entry with its padding. @throws Internal when its data fell short of its size. */
  async endEntry(): Promise<void> {
    this.assertUsable()
    const open = this.open
    if (!open) return
    if (open.remaining !== 0) {
      this.poison(new Internal(`tar entry ${JSON.stringify(open.header.path)}: ${open.remaining} bytes of data missing`))
    }
    this.open = undefined
    const pad = tarPadding(open.header.size ?? 0)
    if (pad > 0) await this.emit(Buffer.alloc(pad))
  }

  /** Ends the archive with two zero blocks. No entry may be open. */
  async finish(): Promise<void> {
    this.assertUsable()
    if (this.open) this.poison(new Internal(`tar entry ${JSON.stringify(this.open.header.path)} was not ended`))
    this.ended = true
    await this.emit(tarTrailer())
  }

  private async emit(chunk: Buffer): Promise<void> {
    try {
      await this.output(chunk)
      this.written += chunk.length
    } catch (err) {
      this.failed = err
      throw err
    }
  }

  private assertUsable(): void {
    if (this.failed !== undefined) throw this.failed
    if (this.ended) throw new Internal('tar archive already finished')
  }

  private poison(err: Error): never {
    this.failed = err
    throw err
  }
}

/**
 * A {@link TarOutput} over a node Writable: waits for `drain` when the stream's buffer is full,
 * and turns a stream error (EPIPE, ENOSPC, ...) into a rejection of the write in progress or the next one.
 */
export function streamOutput(stream: Writable): TarOutput {
  let error: Error | undefined
  stream.on('error', (err) => (error ??= err))
  return (chunk) => {
    if (error) throw error
    if (stream.write(chunk)) return
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        stream.off('drain', onDrain)
        stream.off('error', onError)
        stream.off('close', onClose)
        if (err) reject(err)
        else resolve()
      }
      const onDrain = () => done()
      const onError = (err: Error) => done(err)
      const onClose = () => done(error ?? new Internal('output closed before the archive was written'))
      stream.on('drain', onDrain)
      stream.on('error', onError)
      stream.on('close', onClose)
    })
  }
}

/** ustar's prefix/name split at a slash: name at most 100 bytes, prefix at most 155. */
function splitUstarPath(path: string): {prefix: string; name: string} | undefined {
  if (path.length > 256) return undefined
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i)
    const name = path.slice(i + 1)
    if (prefix.length <= 155 && name.length <= 100 && name !== '') return {prefix, name}
  }
  return undefined
}

/** An ASCII stand-in for a field whose real value is in PAX (what old readers show). */
function asciiStub(value: string, width: number): string {
  return value.replace(/[^\x20-\x7e]/g, '_').slice(0, width)
}

function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  buf.write(value.toString(8).padStart(width - 1, '0') + '\0', offset, width, 'latin1')
}

function writeChecksum(header: Buffer): void {
  header.fill(0x20, 148, 156)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += header[i]
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1')
}

/** `"<len> <key>=<value>\n"`, where len counts the whole record including its own digits. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.byteLength(key) + value.length + 3 // space, '=', newline
  let len = body + String(body).length
  if (String(len).length > String(body).length) len++ // adding the digits added a digit
  return Buffer.concat([Buffer.from(`${len} ${key}=`, 'utf8'), value, Buffer.from('\n')])
}

/** PAX time: `[-]seconds[.fraction]`, as the reader's parser expects (so -1.5 s is [-2, 5e8]). */
function formatPaxTime(sec: number, nsec: number): string {
  if (nsec === 0) return String(sec)
  const frac = String(nsec).padStart(9, '0').replace(/0+$/, '')
  if (sec >= 0) return `${sec}.${frac}`
  // [-2, 5e8] is -1.5: negative times count the fraction down from the whole second above.
  const down = 1e9 - nsec
  const fracDown = String(down).padStart(9, '0').replace(/0+$/, '')
  return `-${-(sec + 1)}.${fracDown}`
}
