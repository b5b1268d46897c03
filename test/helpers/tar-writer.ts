// Writes tar archives (ustar headers plus PAX extended headers) from entry specs into a Buffer, verbatim — hostile
// paths included — so tests can build any layer they need.
//
// Invariants: every header carries a correct checksum, the archive is a whole number of 512-byte
// blocks, and it ends with two zero blocks. Nothing about an entry is sanitised: paths, link
// names and types are written exactly as given, which is the point of a fixture writer.

/** The kinds of entry the writer knows how to encode. */
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo'

/** One archive member. Absent fields take deterministic defaults (see {@link writeTar}). */
export interface TarEntry {
  /** Written verbatim: `../x`, `/abs`, `a/../../b`, UTF-8 and 300-byte names are all fine. */
  path: string
  type: TarEntryType
  /** Permission bits including setuid (0o4000), setgid (0o2000) and sticky (0o1000). */
  mode?: number
  uid?: number
  gid?: number
  uname?: string
  gname?: string
  /** A Date, or seconds since the epoch (fractions allowed: they go into a PAX `mtime`). */
  mtime?: Date | number
  /** File data. Written for any type when given (size = its length); usually only for files. */
  content?: Buffer | string
  /** Target of a symlink or hardlink, verbatim. */
  linkname?: string
  devmajor?: number
  devminor?: number
  /** Extended attributes, written as PAX `SCHILY.xattr.<name>` records (values may be binary). */
  xattrs?: Record<string, Buffer | string>
  /** Extra PAX records; they override the ones the writer generates (e.g. a `path` that differs from the header name). */
  pax?: Record<string, string>
  /** Raw typeflag byte overriding `type` (e.g. `'Z'` for an unknown type, `'7'` contiguous file). */
  typeflag?: string
}

/** How names that do not fit the 100-byte ustar field are stored. */
export type LongNameFormat = 'pax' | 'prefix' | 'gnu'

/** Options for {@link writeTar}. */
export interface TarWriteOptions {
  /**
   * `pax` (default): PAX `path`/`linkpath` records. `prefix`: the ustar prefix/name split when the
   * path can be split that way (ASCII only), PAX otherwise. `gnu`: GNU `././@LongLink` members
   * (typeflags `L` and `K`) instead of PAX for names; PAX is still used for everything else.
   */
  longNames?: LongNameFormat
  /** Omit the two terminating zero blocks (as umoci's layers; cut the result further for truncated-archive fixtures). */
  omitTrailer?: boolean
}

/** Fixed default mtime (2024-01-01T00:00:00Z) so archives are byte-for-byte reproducible. */
export const DEFAULT_MTIME = 1704067200

const BLOCK = 512
const TYPEFLAGS: Record<TarEntryType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
}
const DEFAULT_MODES: Record<TarEntryType, number> = {
  file: 0o644,
  hardlink: 0o644,
  symlink: 0o777,
  char: 0o644,
  block: 0o644,
  dir: 0o755,
  fifo: 0o644,
}
/** Largest value of an octal numeric field of `width` bytes (width-1 digits plus a NUL). */
const maxOctal = (width: number): number => 8 ** (width - 1) - 1

/**
 * Encodes `entries` as a tar archive.
 *
 * Defaults: mode 0644 (dirs 0755, symlinks 0777), uid/gid 0, empty uname/gname, mtime
 * {@link DEFAULT_MTIME}. PAX records are added automatically for long or non-ASCII names and link
 * names, uid/gid/size beyond the octal fields, long uname/gname, fractional or out-of-range mtimes,
 * and xattrs.
 *
 * @returns the archive bytes.
 * @throws RangeError when a device number or mode cannot be represented.
 */
export function writeTar(entries: readonly TarEntry[], options: TarWriteOptions = {}): Buffer {
  const parts: Buffer[] = []
  entries.forEach((entry, index) => parts.push(...encodeEntry(entry, index, options)))
  if (!options.omitTrailer) parts.push(Buffer.alloc(2 * BLOCK))
  return Buffer.concat(parts)
}

function encodeEntry(entry: TarEntry, index: number, options: TarWriteOptions): Buffer[] {
  const longNames = options.longNames ?? 'pax'
  const content = entry.content === undefined ? Buffer.alloc(0) : toBuffer(entry.content)
  const mode = entry.mode ?? DEFAULT_MODES[entry.type]
  const uid = entry.uid ?? 0
  const gid = entry.gid ?? 0
  const uname = entry.uname ?? ''
  const gname = entry.gname ?? ''
  const linkname = entry.linkname ?? ''
  const {seconds: mtimeSeconds, pax: mtimePax} = splitMtime(entry.mtime ?? DEFAULT_MTIME)
  if (mode < 0 || mode > maxOctal(8)) throw new RangeError(`tar entry ${JSON.stringify(entry.path)}: mode ${mode} out of range`)

  const records = new Map<string, Buffer>()
  const out: Buffer[] = []
  const pathBytes = Buffer.from(entry.path, 'utf8')
  const linkBytes = Buffer.from(linkname, 'utf8')

  // Name: fits as is, or split into ustar prefix/name, or needs a long-name mechanism.
  let nameField: Buffer = pathBytes
  let prefixField: Buffer = Buffer.alloc(0)
  if (!fitsUstar(entry.path, 100)) {
    const split = longNames === 'prefix' ? splitPrefix(entry.path) : undefined
    if (split) {
      nameField = Buffer.from(split.name)
      prefixField = Buffer.from(split.prefix)
    } else if (longNames === 'gnu') {
      out.push(...gnuLongLink('L', pathBytes))
      nameField = pathBytes.subarray(0, 100)
    } else {
      records.set('path', pathBytes)
      nameField = asciiFallback(entry.path, 100)
    }
  }
  let linkField: Buffer = linkBytes
  if (!fitsUstar(linkname, 100)) {
    if (longNames === 'gnu') {
      out.push(...gnuLongLink('K', linkBytes))
      linkField = linkBytes.subarray(0, 100)
    } else {
      records.set('linkpath', linkBytes)
      linkField = asciiFallback(linkname, 100)
    }
  }
  if (uid > maxOctal(8)) records.set('uid', Buffer.from(String(uid)))
  if (gid > maxOctal(8)) records.set('gid', Buffer.from(String(gid)))
  if (content.length > maxOctal(12)) records.set('size', Buffer.from(String(content.length)))
  if (!fitsUstar(uname, 32)) records.set('uname', Buffer.from(uname, 'utf8'))
  if (!fitsUstar(gname, 32)) records.set('gname', Buffer.from(gname, 'utf8'))
  if (mtimePax !== undefined) records.set('mtime', Buffer.from(mtimePax))
  for (const [name, value] of Object.entries(entry.xattrs ?? {})) records.set(`SCHILY.xattr.${name}`, toBuffer(value))
  for (const [key, value] of Object.entries(entry.pax ?? {})) records.set(key, Buffer.from(value, 'utf8'))

  if (records.size > 0) {
    const data = encodePaxRecords(records)
    const base = entry.path.split('/').filter(Boolean).pop() ?? 'entry'
    const paxName = asciiFallback(`PaxHeaders.${index}/${base}`, 100)
    out.push(
      header({
        name: paxName,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: data.length,
        mtime: clampOctal(mtimeSeconds, 12),
        typeflag: 'x',
        linkname: Buffer.alloc(0),
        uname: Buffer.alloc(0),
        gname: Buffer.alloc(0),
        devmajor: 0,
        devminor: 0,
        prefix: Buffer.alloc(0),
      }),
      ...padded(data),
    )
  }

  const devmajor = entry.devmajor ?? 0
  const devminor = entry.devminor ?? 0
  if (devmajor > maxOctal(8) || devminor > maxOctal(8) || devmajor < 0 || devminor < 0) {
    throw new RangeError(`tar entry ${JSON.stringify(entry.path)}: device ${devmajor},${devminor} out of range`)
  }
  out.push(
    header({
      name: nameField,
      mode,
      uid: uid > maxOctal(8) ? 0 : uid,
      gid: gid > maxOctal(8) ? 0 : gid,
      size: content.length > maxOctal(12) ? 0 : content.length,
      mtime: clampOctal(mtimeSeconds, 12),
      typeflag: entry.typeflag ?? TYPEFLAGS[entry.type],
      linkname: linkField,
      uname: fitsUstar(uname, 32) ? Buffer.from(uname) : asciiFallback(uname, 32),
      gname: fitsUstar(gname, 32) ? Buffer.from(gname) : asciiFallback(gname, 32),
      devmajor,
      devminor,
      prefix: prefixField,
    }),
  )
  if (content.length > 0) out.push(...padded(content))
  return out
}

interface HeaderFields {
  name: Buffer
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  typeflag: string
  linkname: Buffer
  uname: Buffer
  gname: Buffer
  devmajor: number
  devminor: number
  prefix: Buffer
}

/** Builds one 512-byte ustar header and fills in its checksum. */
function header(f: HeaderFields): Buffer {
  const h = Buffer.alloc(BLOCK)
  f.name.copy(h, 0, 0, 100)
  writeOctal(h, 100, 8, f.mode)
  writeOctal(h, 108, 8, f.uid)
  writeOctal(h, 116, 8, f.gid)
  writeOctal(h, 124, 12, f.size)
  writeOctal(h, 136, 12, f.mtime)
  h.write(f.typeflag.slice(0, 1), 156, 'latin1')
  f.linkname.copy(h, 157, 0, 100)
  h.write('ustar\u000000', 257, 'latin1')
  f.uname.copy(h, 265, 0, 32)
  f.gname.copy(h, 297, 0, 32)
  writeOctal(h, 329, 8, f.devmajor)
  writeOctal(h, 337, 8, f.devminor)
  f.prefix.copy(h, 345, 0, 155)
  h.fill(0x20, 148, 156)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += h[i]
  h.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 'latin1')
  return h
}

function writeOctal(buf: Buffer, offset: number, width: number, value: number): void {
  buf.write(
    Math.trunc(value)
      .toString(8)
      .padStart(width - 1, '0') + '\u0000',
    offset,
    'latin1',
  )
}

/** GNU long name/link member: `././@LongLink` with the full NUL-terminated name as data. */
function gnuLongLink(typeflag: 'L' | 'K', name: Buffer): Buffer[] {
  const data = Buffer.concat([name, Buffer.alloc(1)])
  return [
    header({
      name: Buffer.from('././@LongLink'),
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: data.length,
      mtime: 0,
      typeflag,
      linkname: Buffer.alloc(0),
      uname: Buffer.from('root'),
      gname: Buffer.from('root'),
      devmajor: 0,
      devminor: 0,
      prefix: Buffer.alloc(0),
    }),
    ...padded(data),
  ]
}

/** Encodes PAX records `"<len> <key>=<value>\n"`, where len counts the whole record in bytes. */
function encodePaxRecords(records: Map<string, Buffer>): Buffer {
  const parts: Buffer[] = []
  for (const [key, value] of records) {
    const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')])
    let len = body.length + 1
    while (String(len).length + body.length !== len) len = String(len).length + body.length
    parts.push(Buffer.from(String(len)), body)
  }
  return Buffer.concat(parts)
}

/** Splits an mtime into the header's whole seconds and, when needed, an exact PAX decimal. */
function splitMtime(mtime: Date | number): {seconds: number; pax?: string} {
  if (mtime instanceof Date) {
    const ms = mtime.getTime()
    const abs = Math.abs(ms)
    const whole = Math.floor(abs / 1000)
    const frac = abs % 1000
    const text = `${ms < 0 ? '-' : ''}${whole}${frac ? '.' + String(frac).padStart(3, '0').replace(/0+$/, '') : ''}`
    const seconds = Math.floor(ms / 1000)
    return frac || seconds < 0 || seconds > maxOctal(12) ? {seconds, pax: text} : {seconds}
  }
  const seconds = Math.floor(mtime)
  if (Number.isInteger(mtime) && mtime >= 0 && mtime <= maxOctal(12)) return {seconds}
  const text = Number.isInteger(mtime) ? String(mtime) : mtime.toFixed(9).replace(/0+$/, '')
  return {seconds, pax: text}
}

const clampOctal = (value: number, width: number): number => Math.min(Math.max(value, 0), maxOctal(width))

/** True when `s` is ASCII and fits a NUL-padded field of `width` bytes. */
function fitsUstar(s: string, width: number): boolean {
  return s.length <= width && /^[\x00-\x7f]*$/.test(s)
}

/** ustar split: prefix (<=155 bytes) + '/' + name (<=100 bytes), at a slash, ASCII only. */
function splitPrefix(path: string): {prefix: string; name: string} | undefined {
  if (!/^[\x00-\x7f]*$/.test(path)) return undefined
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== '/') continue
    const prefix = path.slice(0, i)
    const name = path.slice(i + 1)
    if (name.length > 100) return undefined // moving left only makes the name longer
    if (name.length > 0 && prefix.length <= 155) return {prefix, name}
  }
  return undefined
}

/** A readable, ASCII-only stand-in for header fields whose real value lives in a PAX record. */
function asciiFallback(s: string, width: number): Buffer {
  return Buffer.from(s.replace(/[^\x20-\x7e]/g, '_').slice(0, width), 'latin1')
}

/** `data` followed by the zeros that fill its last block (kept apart so the final concat copies once). */
function padded(data: Buffer): Buffer[] {
  const rest = data.length % BLOCK
  return rest === 0 ? [data] : [data, ZEROS.subarray(0, BLOCK - rest)]
}

const ZEROS = Buffer.alloc(BLOCK)

const toBuffer = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v)
