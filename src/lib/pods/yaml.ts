// Kubernetes manifests as YAML, through the `yaml` package, in YAML 1.1 as kubectl reads it (so
// `yes` and `on` are booleans, and strings that look like them are written quoted): one
// document (a leading `---` and comments are fine), every YAML form (block and flow collections,
// quoted and multi-line scalars). Untrusted input stays bounded before the parser sees it: at most
// 4 MiB, flow collections nested at most 64 deep and lines indented at most 256 columns (the
// parser recurses per level and overflows its stack near 1000); aliases expand at most 100 times
// (no "billion laughs"); duplicate keys are found in one pass over each map (the package's own
// `uniqueKeys` check is quadratic in a map's size). A parse error names its line.
// The package (about 300 KB) is required on first use only: just `pods play-kube` and
// `pods generate-kube` pay for it.
import {createRequire} from 'node:module'
import {InvalidArgument} from '../errors/index.js'

type YamlModule = typeof import('yaml')

let yamlModule: YamlModule | undefined
const loadYaml = (): YamlModule => (yamlModule ??= createRequire(import.meta.url)('yaml') as YamlModule)

/** Parse a manifest (YAML or JSON). @throws InvalidArgument naming the line it cannot read. */
export function parseYaml(text: string): unknown {
  checkBounds(text)
  const {parseAllDocuments, visit, isScalar} = loadYaml()
  const docs = parseAllDocuments(text, {uniqueKeys: false, prettyErrors: true, version: '1.1'})
  if (!Array.isArray(docs)) return undefined // an empty stream
  const nonEmpty = docs.filter((d) => d.contents !== null || d.errors.length > 0)
  for (const doc of nonEmpty) {
    const error = doc.errors[0]
    if (error) throw new InvalidArgument(`manifest line ${error.linePos?.[0]?.line ?? '?'}: ${firstLine(error.message)}`, {suffixKind: true})
  }
  if (nonEmpty.length > 1) throw new InvalidArgument(`manifest: ${nonEmpty.length} documents; one Pod per file is supported`, {suffixKind: true})
  if (nonEmpty[0]) {
    visit(nonEmpty[0], {
      Map(_, map) {
        const seen = new Set<string>()
        for (const pair of map.items) {
          const key = isScalar(pair.key) ? String(pair.key.value) : JSON.stringify(pair.key)
          if (seen.has(key)) {
            const line = pair.key && isScalar(pair.key) && pair.key.range ? lineOf(text, pair.key.range[0]) : '?'
            throw new InvalidArgument(`manifest line ${line}: duplicate key ${JSON.stringify(key)}`, {suffixKind: true})
          }
          seen.add(key)
        }
      },
    })
  }
  try {
    return nonEmpty[0]?.toJS({maxAliasCount: 100}) as unknown
  } catch (err) {
    // toJS refuses alias expansion beyond maxAliasCount ("Excessive alias count ...").
    throw new InvalidArgument(`manifest: ${firstLine((err as Error).message)}`, {suffixKind: true})
  }
}

/** `value` as block YAML, in kubectl's layout (sequence items at their key's indentation). */
export function toYaml(value: object): string {
  return loadYaml().stringify(value, {lineWidth: 0, indentSeq: false, aliasDuplicateObjects: false, version: '1.1'})
}

/** The limits above, checked in one linear pass. */
export const MANIFEST_MAX_BYTES = 4 * 1024 * 1024
const MAX_FLOW_DEPTH = 64
const MAX_INDENT = 256

function checkBounds(text: string): void {
  if (Buffer.byteLength(text) > MANIFEST_MAX_BYTES)
    throw new InvalidArgument(`manifest: larger than ${MANIFEST_MAX_BYTES / 1024 / 1024} MiB`, {suffixKind: true})
  let depth = 0
  let quote = ''
  let line = 1
  let indent = 0
  let atLineStart = true
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '\n') {
      line++
      indent = 0
      atLineStart = true
      if (quote === '') continue
    }
    if (atLineStart) {
      // Compact nesting (`- - - x`, `? ? x`) nests like indentation: count its indicators too.
      const indicator = (c === '-' || c === '?' || c === ':') && (text[i + 1] === ' ' || text[i + 1] === '\t')
      if (c === ' ' || c === '\t' || indicator) {
        if (++indent > MAX_INDENT) throw new InvalidArgument(`manifest line ${line}: nested or indented more than ${MAX_INDENT} columns`, {suffixKind: true})
        continue
      }
      atLineStart = false
    }
    if (quote !== '') {
      if (c === '\\' && quote === '"') i++
      else if (c === quote) quote = ''
      continue
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) {
      const end = text.indexOf('\n', i)
      if (end < 0) break
      i = end - 1 // the newline is counted on the next turn
      continue
    }
    if (c === '"' || (c === "'" && (i === 0 || /[\s[{,:]/.test(text[i - 1])))) quote = c
    else if (c === '[' || c === '{') {
      if (++depth > MAX_FLOW_DEPTH) throw new InvalidArgument(`manifest line ${line}: collections nested more than ${MAX_FLOW_DEPTH} deep`, {suffixKind: true})
    } else if ((c === ']' || c === '}') && depth > 0) depth--
  }
}

const lineOf = (text: string, offset: number): number => {
  let line = 1
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++
  return line
}

const firstLine = (s: string): string => s.split('\n', 1)[0].trim()
