// A reader for the block YAML subset Kubernetes manifests are written in (no library is
// installed): one document (`---` lines and comments skipped), nested maps and sequences by
// indentation, `- key: value` items, plain, single- and double-quoted scalars, and flow
// collections written as JSON (`[]`, `{}`, `["sh", "-c"]`). JSON is read as JSON. Anchors,
// tags, multi-line scalars and several documents are refused, never guessed at.
import {InvalidArgument} from '../errors/index.js'

interface Line {
  indent: number
  text: string
  no: number
}

const fail = (line: Line | undefined, why: string): never => {
  throw new InvalidArgument(`manifest line ${line?.no ?? 'end'}: ${why}`, {suffixKind: true})
}

/** Parse a manifest. @throws InvalidArgument naming the line it cannot read. */
export function parseYaml(text: string): unknown {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    try {
      return JSON.parse(trimmed) as unknown
    } catch (err) {
      throw new InvalidArgument(`manifest: ${(err as Error).message}`, {suffixKind: true})
    }
  }
  const lines: Line[] = []
  let documents = 0
  text.split(/\r?\n/).forEach((raw, i) => {
    const text = stripComment(raw).trimEnd()
    if (text.trim() === '') return
    if (/^---\s*$/.test(text)) {
      if (lines.length > 0 || ++documents > 1) fail({indent: 0, text, no: i + 1}, 'only one document is supported')
      return
    }
    if (text.includes('\t') && /^\s*\t/.test(text)) fail({indent: 0, text, no: i + 1}, 'tabs are not allowed for indentation')
    lines.push({indent: text.length - text.trimStart().length, text: text.trim(), no: i + 1})
  })
  if (lines.length === 0) return null
  const pos = {i: 0}
  const value = block(lines, pos, lines[0]!.indent)
  if (pos.i < lines.length) fail(lines[pos.i], 'unexpected indentation')
  return value
}

function stripComment(line: string): string {
  let quote: string | undefined
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!
    if (quote) {
      if (c === quote && line[i - 1] !== '\\') quote = undefined
    } else if (c === '"' || c === "'") quote = c
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i)
  }
  return line
}

function block(lines: Line[], pos: {i: number}, indent: number): unknown {
  const first = lines[pos.i]!
  return first.text === '-' || first.text.startsWith('- ') ? sequence(lines, pos, indent) : map(lines, pos, indent)
}

function sequence(lines: Line[], pos: {i: number}, indent: number): unknown[] {
  const out: unknown[] = []
  while (pos.i < lines.length) {
    const line = lines[pos.i]!
    if (line.indent < indent || !(line.text === '-' || line.text.startsWith('- '))) break
    if (line.indent > indent) fail(line, 'unexpected indentation')
    const rest = line.text.slice(1).trimStart()
    if (rest === '') {
      pos.i++
      out.push(pos.i < lines.length && lines[pos.i]!.indent > indent ? block(lines, pos, lines[pos.i]!.indent) : null)
    } else if (keyValue(rest)) {
      // `- key: value` starts a map whose keys sit where `key` sits.
      const inner = indent + (line.text.length - rest.length)
      lines[pos.i] = {indent: inner, text: rest, no: line.no}
      out.push(map(lines, pos, inner))
    } else {
      out.push(scalar(rest, line))
      pos.i++
    }
  }
  return out
}

function map(lines: Line[], pos: {i: number}, indent: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  while (pos.i < lines.length) {
    const line = lines[pos.i]!
    if (line.indent < indent) break
    if (line.indent > indent) fail(line, 'unexpected indentation')
    const kv = keyValue(line.text)
    if (!kv) {
      if (line.text.startsWith('- ')) break
      fail(line, `expected "key: value", got ${JSON.stringify(line.text)}`)
    }
    const [key, rest] = kv!
    if (Object.hasOwn(out, key)) fail(line, `duplicate key ${JSON.stringify(key)}`)
    pos.i++
    if (rest !== '') out[key] = scalar(rest, line)
    else if (pos.i < lines.length && lines[pos.i]!.indent > indent) out[key] = block(lines, pos, lines[pos.i]!.indent)
    else if (pos.i < lines.length && lines[pos.i]!.indent === indent && lines[pos.i]!.text.startsWith('- ')) out[key] = sequence(lines, pos, indent)
    else out[key] = null
  }
  return out
}

/** `key: rest` (key plain or quoted), or undefined. */
function keyValue(text: string): [string, string] | undefined {
  const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'#:{}\[\],&*!|>%@`-][^:]*?|-[^\s:][^:]*?)\s*:(?:\s+(.*))?$/.exec(text)
  if (!m) return undefined
  const rawKey = m[1]!
  const key = rawKey.startsWith('"') ? (JSON.parse(rawKey) as string) : rawKey.startsWith("'") ? rawKey.slice(1, -1).replace(/''/g, "'") : rawKey
  return [key, (m[2] ?? '').trim()]
}

function scalar(text: string, line: Line): unknown {
  if (/^[&*!|>]/.test(text)) fail(line, `unsupported YAML (${text[0]})`)
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text) as unknown
    } catch {
      fail(line, 'bad double-quoted string')
    }
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2) fail(line, 'bad single-quoted string')
    return text.slice(1, -1).replace(/''/g, "'")
  }
  if (text.startsWith('[') || text.startsWith('{')) {
    try {
      return JSON.parse(text) as unknown
    } catch {
      fail(line, 'flow collections must be written as JSON')
    }
  }
  if (/^(true|false)$/i.test(text)) return text.toLowerCase() === 'true'
  if (/^(null|~)$/i.test(text)) return null
  if (/^-?\d+$/.test(text)) return Number(text)
  if (/^-?\d+\.\d+$/.test(text)) return Number(text)
  return text
}
