// The spec template (seed 004, cri-o's design): a container's spec is stored once in its persistent
// directory with the placeholder root path; every start renders it with the freshly mounted rootfs and
// writes the result into the task's bundle. Writes are atomic (temp file, fsync, rename, fsync of the
// directory) and private (0600: the spec may carry secrets in its environment).
import {closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {DataLoss, InvalidArgument, NotFound} from '../errors/index.js'
import type {RuntimeSpec} from './oci-spec.js'
import {PRIVATE_FILE_MODE} from '../store/index.js'
import {randomBytes} from '../sys/random.js'

/** The template's file name in a container's persistent directory. */
export const TEMPLATE_FILE = 'spec.json'

/** The rendered spec's file name in a bundle (what runc reads). */
export const BUNDLE_CONFIG_FILE = 'config.json'

/**
 * The template with `root.path` replaced by the mounted rootfs; every other byte of meaning is kept.
 * @throws InvalidArgument for a rootfs that is not absolute; DataLoss for a template that is not a spec.
 */
export function renderSpec(templateJson: string, opts: {rootfs: string}): string {
  if (!opts.rootfs.startsWith('/')) throw new InvalidArgument(`rootfs ${JSON.stringify(opts.rootfs)} must be an absolute path`)
  let spec: unknown
  try {
    spec = JSON.parse(templateJson)
  } catch (err) {
    throw new DataLoss(`spec template: invalid JSON: ${(err as Error).message}`, {cause: err})
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
  if (!isObject(spec) || !isObject(spec['root'])) throw new DataLoss('spec template: not a runtime spec (no root object)')
  spec['root']['path'] = opts.rootfs
  return JSON.stringify(spec)
}

export {containerDir} from '../store/index.js'

/** Write `data` to `dir/name` atomically and durably, mode 0600. */
function writeFileAtomic(dir: string, name: string, data: string): void {
  const target = join(dir, name)
  const tmp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  const fd = openSync(tmp, 'wx', PRIVATE_FILE_MODE)
  try {
    try {
      const buf = Buffer.from(data, 'utf8')
      let off = 0
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, target)
  } catch (err) {
    rmSync(tmp, {force: true})
    throw err
  }
  const dirFd = openSync(dir, 'r')
  try {
    fsyncSync(dirFd)
  } finally {
    closeSync(dirFd)
  }
}

/** Store a container's spec (object or JSON text) as its template in `dir` (TEMPLATE_FILE), atomically. */
export function writeTemplate(dir: string, spec: RuntimeSpec | string): void {
  writeFileAtomic(dir, TEMPLATE_FILE, typeof spec === 'string' ? spec : JSON.stringify(spec, null, 2))
}

/**
 * The stored template's JSON text from `dir`.
 * @throws NotFound when there is none.
 */
export function readTemplate(dir: string): string {
  const path = join(dir, TEMPLATE_FILE)
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFound(`spec template ${JSON.stringify(path)}`, {cause: err, suffixKind: true})
    throw err
  }
}

/**
 * Write a rendered spec as a bundle's `config.json`. Plainly, with no rename or fsync: the bundle
 * dir is volatile and made afresh by each start, which removes whatever a crash left in it.
 */
export function writeBundleSpec(bundleDir: string, renderedJson: string): void {
  writeFileSync(join(bundleDir, BUNDLE_CONFIG_FILE), renderedJson, {mode: PRIVATE_FILE_MODE, flag: 'wx'})
}
