// Label maps: parsing `k=v` arguments as ctr does and enforcing containerd's size limit.
import {InvalidArgument} from '../errors/index.js'

export type Labels = Record<string, string>

const MAX_LABEL_BYTES = 4096

/**
 * Parse `k=v` arguments: split on the first `=`, a bare `k` means `k=true` (ctr's LabelArgs).
 * Later arguments win. @throws InvalidArgument for an empty key.
 */
export function parseLabelArgs(args: readonly string[]): Labels {
  const labels: Labels = {}
  for (const arg of args) {
    const eq = arg.indexOf('=')
    const key = eq < 0 ? arg : arg.slice(0, eq)
    const value = eq < 0 ? 'true' : arg.slice(eq + 1)
    if (key === '') throw new InvalidArgument(`invalid label ${JSON.stringify(arg)}: key must not be empty`, {suffixKind: true})
    labels[key] = value
  }
  return labels
}

/** Check containerd's limit: key plus value at most 4096 bytes. @throws InvalidArgument. */
export function validateLabels(labels: Labels): void {
  for (const [key, value] of Object.entries(labels)) {
    const size = Buffer.byteLength(key) + Buffer.byteLength(value)
    if (size > MAX_LABEL_BYTES) {
      throw new InvalidArgument(`label key and value length (${size} bytes) greater than maximum size (${MAX_LABEL_BYTES} bytes), key: ${key.slice(0, 64)}`, {
        suffixKind: true,
      })
    }
  }
}

/** Labels as ctr prints them: sorted `k=v` joined by commas. */
export function formatLabels(labels: Labels | undefined): string {
  if (!labels) return ''
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',')
}

/** A copy with keys in sorted order, so that JSON renderings are stable. */
export function sortedLabels(labels: Labels): Labels {
  const out: Labels = {}
  for (const k of Object.keys(labels).sort()) out[k] = labels[k]!
  return out
}
