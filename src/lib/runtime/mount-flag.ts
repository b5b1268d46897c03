// ctr's `--mount` syntax: one CSV record of key=value fields (`type=bind,src=/a,dst=/b,options=rbind:ro`),
// read with Go encoding/csv's rules (fields may be double-quoted; `""` is a quote inside quotes).
import {InvalidArgument} from '../errors/index.js'
import type {Mount} from './oci-spec.js'

const invalid = (spec: string, why: string) => new InvalidArgument(`invalid mount specification ${JSON.stringify(spec)}: ${why}`)

/** The fields of the first CSV record of `text`, or an error text as Go's csv.Reader words it. */
function readCsvRecord(text: string): string[] | string {
  const fields: string[] = []
  let i = 0
  for (;;) {
    let field = ''
    if (text[i] === '"') {
      i++
      for (;;) {
        if (i >= text.length) return 'extraneous or missing " in quoted-field'
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"'
            i += 2
            continue
          }
          i++
          break
        }
        field += text[i++]
      }
      if (i < text.length && text[i] !== ',' && text[i] !== '\n') return 'extraneous or missing " in quoted-field'
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\n') {
        if (text[i] === '"') return 'bare " in non-quoted-field'
        field += text[i++]
      }
    }
    fields.push(field)
    if (i >= text.length || text[i] === '\n') return fields
    i++ // the comma
  }
}

/**
 * Parse one `--mount` value. Keys: `type`, `source`|`src`, `destination`|`dst`, `options` (`:`-separated);
 * a repeated key keeps its last value. Beyond ctr: the destination must be absolute; a bind mount needs an
 * absolute source and gets `rbind` when its options name neither `bind` nor `rbind` (runc needs one); a
 * missing type is `bind` when the options say so and an error otherwise.
 * @throws InvalidArgument naming the problem (`expected key=val`, `mount option "x" not supported`, …).
 */
export function parseMountFlag(spec: string): Mount {
  if (spec.trim() === '') throw invalid(spec, 'empty')
  const fields = readCsvRecord(spec)
  if (typeof fields === 'string') throw invalid(spec, fields)
  let type: string | undefined
  let source: string | undefined
  let destination: string | undefined
  let options: string[] = []
  for (const field of fields) {
    const eq = field.indexOf('=')
    if (eq === -1) throw invalid(spec, `expected key=val, got ${JSON.stringify(field)}`)
    const key = field.slice(0, eq)
    const value = field.slice(eq + 1)
    switch (key) {
      case 'type':
        type = value
        break
      case 'source':
      case 'src':
        source = value
        break
      case 'destination':
      case 'dst':
        destination = value
        break
      case 'options':
        options = value.split(':').filter((o) => o !== '')
        break
      default:
        throw new InvalidArgument(`mount option ${JSON.stringify(key)} not supported`)
    }
  }
  if (!destination) throw invalid(spec, 'destination (dst) is required')
  if (!destination.startsWith('/')) throw invalid(spec, `destination ${JSON.stringify(destination)} must be an absolute path`)
  const bindOption = options.includes('bind') || options.includes('rbind')
  if (!type) {
    if (!bindOption) throw invalid(spec, 'type is required')
    type = 'bind'
  }
  if (type === 'bind') {
    if (!source) throw invalid(spec, 'a bind mount needs a source (src)')
    if (!source.startsWith('/')) throw invalid(spec, `source ${JSON.stringify(source)} must be an absolute path`)
    if (!bindOption) options = ['rbind', ...options]
  }
  const mount: Mount = {destination, type}
  if (source !== undefined && source !== '') mount.source = source
  if (options.length > 0) mount.options = options
  return mount
}
