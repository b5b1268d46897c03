// A synchronous, streaming tar reader: push decompressed chunks in, get entry headers and file
// data out through a sink, with no copying of file data and no promise per chunk.
//
// Formats: ustar (with prefix), PAX (`x` local headers; `g` global headers are skipped, as
// containerd does), GNU (`L`/`K` long names, base-256 numbers, old GNU magic) and v7. Invariants:
// every header's checksum is verified; the archive ends at its first end-of-archive zero block
// (one is enough, as in Go's archive/tar; anything after it is not parsed, only counted by the
// caller's hash) or, with no zero block at all, where the stream ends after a whole member —
// right after its data counts too, before any of its padding: umoci writes its layers that way
// (Go's tar.Writer, never closed), and Go's archive/tar, so containerd, reads them. A stream that
// ends inside a header, inside a member's data, part-way through its padding, or after an
// extended header without its entry is truncated; every malformed or truncated archive throws DataLoss, and an
// entry type or PAX extension we do not implement (GNU sparse, volume labels, ...) throws
// NotImplemented naming the entry. Header-only types (links, devices, dirs, fifos) carry no data
// whatever their size field says, as in Go's archive/tar. Names must be valid UTF-8 without NULs.
import {isUtf8} from 'node:buffer'
import {DataLoss, NotImplemented} from '../errors/index.js'

const BLOCK = 512
/** Largest PAX / GNU long-name payload accepted (Go's archive/tar uses the same bound). */
const MAX_SPECIAL_SIZE = 1 << 20

/** The entry kinds an image layer may contain. */
export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo'

/** One archive member, with PAX and GNU extensions already applied. */
export interface TarHeader {
  /** The name as stored (UTF-8), not yet cleaned. */
  readonly path: string
  readonly type: TarEntryType
  /** Target of a symlink or hardlink, as stored; '' for other types. */
  readonly linkpath: string
  /** Bytes of data that follow (0 for every type but `file`). */
  readonly size: number
  /** Permission bits including setuid, setgid and sticky (`mode & 0o7777`). */
  readonly mode: number
  readonly uid: number
  readonly gid: number
  /** Modification time: whole seconds since the epoch (may be negative) and nanoseconds. */
  readonly mtimeSec: number
  readonly mtimeNsec: number
  readonly devmajor: number
  readonly devminor: number
  /** Extended attributes from `SCHILY.xattr.*` and `LIBARCHIVE.xattr.*` PAX records. */
  readonly xattrs: ReadonlyMap<string, Buffer> | undefined
}

/** Receives what the reader finds, synchronously and in archive order. Exceptions propagate out of `push()`. */
export interface TarSink {
  /** A new entry; for files, `data()` calls follow, then `entryEnd()`. */
  entry(header: TarHeader): void
  /** The next piece of the current file's data: `chunk[start, end)`. Valid only during the call. */
  data(chunk: Buffer, start: number, end: number): void
  /** The current entry is complete. */
  entryEnd(): void
}

/** What PAX extended headers set for the next entry. */
interface PaxOverrides {
  path?: string
  linkpath?: string
  size?: number
  uid?: number
  gid?: number
  mtime?: [number, number]
  xattrs?: Map<string, Buffer>
}

const enum State {
  Header,
  Data,
  Done,
}

/** What the data of the current member is for. */
const enum Target {
  Sink,
  Skip,
  Pax,
  LongName,
  LongLink,
}

/**
 * Parses a tar stream incrementally. Call {@link push} with consecutive chunks, then {@link end}.
 * @throws DataLoss (bad checksum, bad field, truncation), NotImplemented (unsupported entry type
 * or extension) from `push()`/`end()`, and whatever the sink throws.
 */
export class TarReader {
  private state = State.Header
  /** Bytes of a header split across chunks. */
  private readonly pending = Buffer.allocUnsafe(BLOCK)
  private pendingLength = 0
  /** Data bytes of the current member still to come, then padding bytes to skip (of `memberPadding`). */
  private remaining = 0
  private padding = 0
  private memberPadding = 0
  private target = Target.Skip
  private special: Buffer[] = []
  private pax: PaxOverrides | undefined
  private longName: string | undefined
  private longLink: string | undefined
  /** Offset of the next byte to be pushed, for messages. */
  private offset = 0
  /** Name of the current member, for messages. */
  private current = ''

  constructor(private readonly sink: TarSink) {}

  /** True once the end-of-archive block has been read (nothing after it is parsed). */
  get finished(): boolean {
    return this.state === State.Done
  }

  /** Feed the next chunk of the uncompressed stream. */
  push(chunk: Buffer): void {
    let pos = 0
    const length = chunk.length
    while (pos < length && this.state !== State.Done) {
      if (this.state === State.Data) {
        pos = this.consumeData(chunk, pos)
        continue
      }
      // State.Header
      if (this.pendingLength === 0 && length - pos >= BLOCK) {
        this.header(chunk, pos)
        pos += BLOCK
        this.offset += BLOCK
        continue
      }
      const n = Math.min(BLOCK - this.pendingLength, length - pos)
      chunk.copy(this.pending, this.pendingLength, pos, pos + n)
      this.pendingLength += n
      pos += n
      if (this.pendingLength === BLOCK) {
        this.pendingLength = 0
        this.header(this.pending, 0)
        this.offset += BLOCK
      }
    }
  }

  /**
   * The stream has ended: after the end-of-archive block, or without one after a whole member
   * (or right after its data, none of its padding read, as Go's reader allows), or at once: an
   * empty archive.
   * @throws DataLoss when it ended inside a header, a member's data, part-way through its padding,
   * or right after an extended header (PAX, GNU long name) that still waited for its entry.
   */
  end(): void {
    if (this.state === State.Done) return
    const boundary = this.state === State.Header ? this.pendingLength === 0 : this.remaining === 0 && this.padding === this.memberPadding
    if (boundary) {
      if (this.pax || this.longName !== undefined || this.longLink !== undefined) {
        throw new DataLoss(`tar archive truncated at byte ${this.offset}: extended header not followed by an entry`)
      }
      this.state = State.Done
      return
    }
    const name = JSON.stringify(this.current)
    const where =
      this.state === State.Header
        ? this.current
          ? ` in the header after entry ${name}`
          : ' in the first header'
        : ` in entry ${name} (inside ${this.remaining > 0 ? 'its data' : 'its padding'})`
    throw new DataLoss(`tar archive truncated at byte ${this.offset + this.pendingLength}${where}: unexpected end of data`)
  }

  private consumeData(chunk: Buffer, pos: number): number {
    if (this.remaining > 0) {
      const n = Math.min(this.remaining, chunk.length - pos)
      switch (this.target) {
        case Target.Sink:
          this.sink.data(chunk, pos, pos + n)
          break
        case Target.Skip:
          break
        default:
          this.special.push(Buffer.from(chunk.subarray(pos, pos + n)))
      }
      this.remaining -= n
      this.offset += n
      pos += n
      if (this.remaining > 0) return pos
      this.memberDataDone()
    }
    const n = Math.min(this.padding, chunk.length - pos)
    this.padding -= n
    this.offset += n
    pos += n
    if (this.padding === 0) this.state = State.Header
    return pos
  }

  /** All data of the current member has arrived. */
  private memberDataDone(): void {
    switch (this.target) {
      case Target.Sink:
        this.sink.entryEnd()
        break
      case Target.Pax:
        this.pax = parsePax(Buffer.concat(this.special), this.pax)
        break
      case Target.LongName:
        this.longName = decodeName(cString(Buffer.concat(this.special)), 'GNU long name')
        break
      case Target.LongLink:
        this.longLink = decodeName(cString(Buffer.concat(this.special)), 'GNU long link name')
        break
      case Target.Skip:
        break
    }
    this.special = []
  }

  /** Starts a member of `size` data bytes whose data goes to `target`. */
  private startData(size: number, target: Target): void {
    this.target = target
    this.remaining = size
    this.padding = this.memberPadding = (BLOCK - (size % BLOCK)) % BLOCK
    if (size > 0) {
      this.state = State.Data
      return
    }
    this.memberDataDone()
    this.state = State.Header
  }

  private header(buf: Buffer, off: number): void {
    if (buf[off + 148] === 0 && isZeroBlock(buf, off)) {
      if (this.pax || this.longName !== undefined || this.longLink !== undefined) {
        throw new DataLoss(`tar archive corrupt at byte ${this.offset}: extended header not followed by an entry`)
      }
      this.state = State.Done
      return
    }
    verifyChecksum(buf, off, this.offset)
    const typeflag = buf[off + 156]
    const rawName = fieldString(buf, off, 100)
    this.current = rawName
    const size = numeric(buf, off + 124, 12, 'size', rawName)
    if (size < 0) throw new DataLoss(`tar entry ${JSON.stringify(rawName)}: negative size`)

    switch (typeflag) {
      case 0x78: // 'x': PAX extended header for the next entry
        this.checkSpecialSize(size, 'PAX header')
        this.startData(size, Target.Pax)
        return
      case 0x67: // 'g': PAX global header — ignored, as containerd does
        this.startData(size, Target.Skip)
        return
      case 0x4c: // 'L': GNU long name for the next entry
        this.checkSpecialSize(size, 'GNU long name')
        this.startData(size, Target.LongName)
        return
      case 0x4b: // 'K': GNU long link name for the next entry
        this.checkSpecialSize(size, 'GNU long link name')
        this.startData(size, Target.LongLink)
        return
    }

    const pax = this.pax
    const ustar = buf[off + 257] === 0x75 && buf[off + 258] === 0x73 && buf[off + 259] === 0x74 && buf[off + 260] === 0x61 && buf[off + 261] === 0x72
    const posix = ustar && buf[off + 262] === 0 // "ustar\0" (POSIX); GNU writes "ustar " and has no prefix field
    let path = pax?.path ?? this.longName
    if (path === undefined) {
      path = rawName
      if (posix && buf[off + 345] !== 0) path = `${fieldString(buf, off + 345, 155)}/${rawName}`
      path = decodeName(path, 'name')
    }
    this.current = path
    const type = entryType(typeflag, path)
    const linkpath =
      type === 'hardlink' || type === 'symlink' ? (pax?.linkpath ?? this.longLink ?? decodeName(fieldString(buf, off + 157, 100), 'link name')) : ''
    const dataSize = pax?.size ?? size
    const mtime = pax?.mtime
    const header: TarHeader = {
      path,
      type,
      linkpath,
      size: type === 'file' ? dataSize : 0,
      mode: numeric(buf, off + 100, 8, 'mode', path) & 0o7777,
      uid: pax?.uid ?? numeric(buf, off + 108, 8, 'uid', path),
      gid: pax?.gid ?? numeric(buf, off + 116, 8, 'gid', path),
      mtimeSec: mtime ? mtime[0] : numeric(buf, off + 136, 12, 'mtime', path),
      mtimeNsec: mtime ? mtime[1] : 0,
      devmajor: type === 'char' || type === 'block' ? numeric(buf, off + 329, 8, 'devmajor', path) : 0,
      devminor: type === 'char' || type === 'block' ? numeric(buf, off + 337, 8, 'devminor', path) : 0,
      xattrs: pax?.xattrs,
    }
    if (header.uid < 0 || header.gid < 0 || header.uid > 0xfffffffe || header.gid > 0xfffffffe) {
      throw new DataLoss(`tar entry ${JSON.stringify(path)}: uid/gid ${header.uid}/${header.gid} out of range`)
    }
    this.pax = undefined
    this.longName = undefined
    this.longLink = undefined
    this.sink.entry(header)
    if (type === 'file') this.startData(dataSize, Target.Sink)
    else this.startData(0, Target.Skip)
  }

  private checkSpecialSize(size: number, what: string): void {
    if (size > MAX_SPECIAL_SIZE) throw new DataLoss(`tar archive corrupt at byte ${this.offset}: ${what} of ${size} bytes exceeds ${MAX_SPECIAL_SIZE}`)
  }
}

function entryType(typeflag: number, path: string): TarEntryType {
  switch (typeflag) {
    case 0x30: // '0'
    case 0x37: // '7' contiguous file: a regular file everywhere but on old Masscomp systems
      return 'file'
    case 0: // '\0': pre-POSIX regular file; a trailing slash made it a directory
      return path.endsWith('/') ? 'dir' : 'file'
    case 0x31:
      return 'hardlink'
    case 0x32:
      return 'symlink'
    case 0x33:
      return 'char'
    case 0x34:
      return 'block'
    case 0x35:
      return 'dir'
    case 0x36:
      return 'fifo'
    default: {
      const shown = typeflag >= 0x21 && typeflag <= 0x7e ? `'${String.fromCharCode(typeflag)}'` : `0x${typeflag.toString(16)}`
      const hint =
        typeflag === 0x53
          ? ' (GNU sparse file)'
          : typeflag === 0x56
            ? ' (volume label)'
            : typeflag === 0x44
              ? ' (GNU dump directory)'
              : typeflag === 0x4d
                ? ' (multi-volume continuation)'
                : ''
      throw new NotImplemented(`tar entry ${JSON.stringify(path)}: unsupported entry type ${shown}${hint}`)
    }
  }
}

function isZeroBlock(buf: Buffer, off: number): boolean {
  for (let i = off; i < off + BLOCK; i++) if (buf[i] !== 0) return false
  return true
}

/** Header checksum: the sum of all bytes with the checksum field read as spaces (signed sums are accepted too, as by GNU tar and Go). */
function verifyChecksum(buf: Buffer, off: number, at: number): void {
  let unsigned = 0
  let signed = 0
  for (let i = off; i < off + BLOCK; i++) {
    const b = i >= off + 148 && i < off + 156 ? 0x20 : buf[i]
    unsigned += b
    signed += b > 127 ? b - 256 : b
  }
  const stored = parseOctal(buf, off + 148, 8)
  if (stored === undefined || (stored !== unsigned && stored !== signed)) {
    throw new DataLoss(`tar archive corrupt at byte ${at}: invalid header checksum`)
  }
}

/** A NUL-terminated field as a latin1 string (decoded as UTF-8 later, once the full name is known). */
function fieldString(buf: Buffer, off: number, width: number): string {
  let end = off
  const limit = off + width
  while (end < limit && buf[end] !== 0) end++
  return buf.toString('latin1', off, end)
}

const NON_ASCII = /[^\x00-\x7f]/

/** Re-decodes a latin1-read name as UTF-8 (ASCII passes through untouched). @throws NotImplemented for invalid UTF-8. */
function decodeName(latin1: string, what: string): string {
  if (!NON_ASCII.test(latin1)) return latin1
  const bytes = Buffer.from(latin1, 'latin1')
  if (!isUtf8(bytes)) throw new NotImplemented(`tar entry ${JSON.stringify(latin1)}: ${what} is not valid UTF-8`)
  return bytes.toString('utf8')
}

/** The bytes up to the first NUL, as latin1 (see {@link decodeName}). */
function cString(buf: Buffer): string {
  const nul = buf.indexOf(0)
  return buf.toString('latin1', 0, nul < 0 ? buf.length : nul)
}

/** Octal field with optional leading/trailing spaces and NULs; undefined when malformed. */
function parseOctal(buf: Buffer, off: number, width: number): number | undefined {
  let i = off
  const limit = off + width
  while (i < limit && (buf[i] === 0x20 || buf[i] === 0)) i++
  let value = 0
  let digits = 0
  for (; i < limit; i++) {
    const c = buf[i]
    if (c < 0x30 || c > 0x37) break
    value = value * 8 + (c - 0x30)
    digits++
  }
  for (; i < limit; i++) if (buf[i] !== 0x20 && buf[i] !== 0) return undefined
  if (digits === 0) return 0
  return value <= Number.MAX_SAFE_INTEGER ? value : undefined
}

/** A numeric header field: octal, or GNU base-256 (first byte's high bit set; 0xff.. negative). @throws DataLoss. */
function numeric(buf: Buffer, off: number, width: number, field: string, path: string): number {
  const first = buf[off]
  if ((first & 0x80) === 0) {
    const value = parseOctal(buf, off, width)
    if (value === undefined) throw new DataLoss(`tar entry ${JSON.stringify(path)}: invalid ${field} field`)
    return value
  }
  const inv = (first & 0x40) !== 0 ? 0xff : 0
  let x = 0
  for (let i = 0; i < width; i++) {
    let c = buf[off + i] ^ inv
    if (i === 0) c &= 0x7f
    x = x * 256 + c
    if (x > Number.MAX_SAFE_INTEGER) throw new DataLoss(`tar entry ${JSON.stringify(path)}: ${field} field out of range`)
  }
  return inv ? -x - 1 : x
}

/** Parses PAX records `"<len> <key>=<value>\n"` over `into` (later records win). @throws DataLoss, NotImplemented. */
export function parsePax(data: Buffer, into: PaxOverrides = {}): PaxOverrides {
  let pos = 0
  while (pos < data.length) {
    if (data[pos] === 0) break // some writers pad the record block with NULs
    const space = data.indexOf(0x20, pos)
    const lenText = space < 0 ? '' : data.toString('latin1', pos, space)
    const len = /^[1-9][0-9]{0,7}$/.test(lenText) ? Number(lenText) : NaN
    if (!(len > 0) || pos + len > data.length || data[pos + len - 1] !== 0x0a) throw new DataLoss('tar archive corrupt: malformed PAX record')
    const eq = data.indexOf(0x3d, space + 1)
    if (eq < 0 || eq >= pos + len - 1) throw new DataLoss('tar archive corrupt: malformed PAX record')
    const key = data.toString('utf8', space + 1, eq)
    const value = data.subarray(eq + 1, pos + len - 1)
    applyPaxRecord(into, key, value)
    pos += len
  }
  return into
}

const SCHILY_XATTR = 'SCHILY.xattr.'
const LIBARCHIVE_XATTR = 'LIBARCHIVE.xattr.'

function applyPaxRecord(into: PaxOverrides, key: string, value: Buffer): void {
  switch (key) {
    case 'path':
      into.path = paxString(value, 'path')
      return
    case 'linkpath':
      into.linkpath = paxString(value, 'linkpath')
      return
    case 'size':
      into.size = paxInteger(value, 'size')
      return
    case 'uid':
      into.uid = paxInteger(value, 'uid')
      return
    case 'gid':
      into.gid = paxInteger(value, 'gid')
      return
    case 'mtime':
      into.mtime = paxTime(value.toString('latin1'))
      return
  }
  if (key.startsWith(SCHILY_XATTR)) {
    const name = key.slice(SCHILY_XATTR.length)
    if (name) (into.xattrs ??= new Map()).set(name, Buffer.from(value))
    return
  }
  if (key.startsWith(LIBARCHIVE_XATTR)) {
    // libarchive: the name is URL-encoded, the value base64.
    let name: string
    try {
      name = decodeURIComponent(key.slice(LIBARCHIVE_XATTR.length))
    } catch (err) {
      throw new DataLoss(`tar archive corrupt: malformed PAX record ${JSON.stringify(key)}`, {cause: err})
    }
    if (name) (into.xattrs ??= new Map()).set(name, Buffer.from(value.toString('latin1'), 'base64'))
    return
  }
  if (key.startsWith('GNU.sparse.')) throw new NotImplemented(`tar archive: GNU sparse files are not supported (PAX record ${key})`)
  // Everything else (atime, ctime, uname, gname, comment, hdrcharset, vendor records) is irrelevant here.
}

function paxString(value: Buffer, what: string): string {
  if (value.includes(0)) throw new DataLoss(`tar archive corrupt: PAX ${what} contains a NUL byte`)
  if (!isUtf8(value)) throw new NotImplemented(`tar archive: PAX ${what} is not valid UTF-8`)
  return value.toString('utf8')
}

function paxInteger(value: Buffer, what: string): number {
  const text = value.toString('latin1')
  if (!/^[0-9]{1,16}$/.test(text) || Number(text) > Number.MAX_SAFE_INTEGER)
    throw new DataLoss(`tar archive corrupt: invalid PAX ${what} ${JSON.stringify(text)}`)
  return Number(text)
}

/** `[-]seconds[.fraction]` exactly, as [seconds, nanoseconds] with 0 <= ns < 1e9 (so -1.5 is [-2, 5e8]). */
function paxTime(text: string): [number, number] {
  const m = /^(-?)([0-9]{1,15})(?:\.([0-9]*))?$/.exec(text)
  if (!m) throw new DataLoss(`tar archive corrupt: invalid PAX mtime ${JSON.stringify(text)}`)
  const sec = Number(m[2])
  const nsec = Number(((m[3] ?? '') + '000000000').slice(0, 9))
  if (m[1] !== '-') return [sec, nsec]
  return nsec === 0 ? [sec === 0 ? 0 : -sec, 0] : [-sec - 1, 1e9 - nsec]
}
