// The k8s-file log parser and follower (src/lib/runtime/logs.ts): records, partial lines, bytes
// that are not UTF-8, malformed lines, lines cut across reads, following a growing file until its
// writer stops, and a file truncated while followed.
import assert from 'node:assert/strict'
import {appendFileSync, mkdtempSync, rmSync, truncateSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {LineSplitter, parseLogLine, readLog, type LogEntry} from '../../../../src/lib/runtime/index.js'

const T = '2026-11-22T08:42:31.105068104+00:00'
const line = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s)
const view = (e: LogEntry | undefined) => e && {time: e.time, stream: e.stream, partial: e.partial, text: e.text.toString('latin1')}

describe('parseLogLine', () => {
  const good: [string, string | Buffer, {time: string; stream: string; partial: boolean; text: string}][] = [
    ['a full stdout line', `${T} stdout F out`, {time: T, stream: 'stdout', partial: false, text: 'out'}],
    ['a partial line', `${T} stdout P abc`, {time: T, stream: 'stdout', partial: true, text: 'abc'}],
    ['stderr', `${T} stderr F err`, {time: T, stream: 'stderr', partial: false, text: 'err'}],
    ['text with spaces kept exactly', `${T} stdout F  two  spaces `, {time: T, stream: 'stdout', partial: false, text: ' two  spaces '}],
    ['an empty line', `${T} stdout F `, {time: T, stream: 'stdout', partial: false, text: ''}],
    ['an empty line without the space', `${T} stderr F`, {time: T, stream: 'stderr', partial: false, text: ''}],
    ['a carriage return from a terminal', `${T} stdout F hi\r`, {time: T, stream: 'stdout', partial: false, text: 'hi\r'}],
    ['UTC written as Z', '2026-11-22T08:42:31Z stdout F x', {time: '2026-11-22T08:42:31Z', stream: 'stdout', partial: false, text: 'x'}],
    ['a CRI tag with more after a colon', `${T} stdout P:x y`, {time: T, stream: 'stdout', partial: true, text: 'y'}],
    [
      'bytes that are not UTF-8',
      Buffer.concat([Buffer.from(`${T} stdout F `), Buffer.from([0xff, 0x00, 0xfe])]),
      {time: T, stream: 'stdout', partial: false, text: '\xff\x00\xfe'},
    ],
  ]
  for (const [name, input, want] of good) test(name, () => assert.deepEqual(view(parseLogLine(line(input))), want))

  test('the text is the bytes after the tag, not a re-encoding', () => {
    const raw = Buffer.concat([Buffer.from(`${T} stdout F `), Buffer.from([0xc3, 0x28])]) // invalid UTF-8 pair
    assert.deepEqual(parseLogLine(raw)?.text, Buffer.from([0xc3, 0x28]))
  })

  const bad: [string, string][] = [
    ['an empty line', ''],
    ['no fields', 'garbage'],
    ['no tag', `${T} stdout`],
    ['an unknown stream', `${T} stdin F x`],
    ['an unknown tag', `${T} stdout X x`],
    ['a tag longer than a letter', `${T} stdout FP x`],
    ['a timestamp that is not RFC 3339', `yesterday stdout F x`],
    ['a date without a time', `2026-11-22 stdout F x`],
    ['a leading space', ` ${T} stdout F x`],
  ]
  for (const [name, input] of bad) test(`rejects ${name}`, () => assert.equal(parseLogLine(line(input)), undefined))
})

describe('LineSplitter', () => {
  test('joins a line cut across chunks and keeps the tail until its newline', () => {
    const s = new LineSplitter()
    assert.deepEqual(s.push(Buffer.from('ab')).map(String), [])
    assert.deepEqual(s.push(Buffer.from('c\nde\n\nf')).map(String), ['abc', 'de', ''])
    assert.deepEqual(s.push(Buffer.from('g\n')).map(String), ['fg'])
    assert.deepEqual(s.flush(), [])
  })

  test('flush hands out an unterminated tail once', () => {
    const s = new LineSplitter()
    s.push(Buffer.from('x\ny'))
    assert.deepEqual(s.flush().map(String), ['y'])
    assert.deepEqual(s.flush(), [])
  })

  test('the tail survives the caller reusing its buffer', () => {
    const s = new LineSplitter()
    const buf = Buffer.from('a\nbc')
    s.push(buf)
    buf.write('XXXX')
    assert.deepEqual(s.push(Buffer.from('d\n')).map(String), ['bcd'])
  })
})

describe('readLog', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-logs-'))
  after(() => rmSync(dir, {recursive: true, force: true}))
  let n = 0
  const file = (content: string) => {
    const path = join(dir, `log${n++}`)
    writeFileSync(path, content)
    return path
  }
  const collect = () => {
    const seen: string[] = []
    return {seen, onEntry: (e: LogEntry) => void seen.push(`${e.stream}:${e.partial ? 'P' : 'F'}:${e.text.toString()}`)}
  }

  test('reads every record in order, skipping and counting bad lines', async () => {
    const path = file(`${T} stdout F out\nnot a record\n${T} stdout P ab\n${T} stdout F c\n${T} stderr F err\n`)
    const c = collect()
    const bad: string[] = []
    const r = await readLog(path, {onEntry: c.onEntry, onBadLine: (l) => bad.push(l.toString())})
    assert.deepEqual(c.seen, ['stdout:F:out', 'stdout:P:ab', 'stdout:F:c', 'stderr:F:err'])
    assert.deepEqual(bad, ['not a record'])
    assert.deepEqual(r, {entries: 4, badLines: 1})
  })

  test('a last record without its newline is still read', async () => {
    const c = collect()
    await readLog(file(`${T} stdout F a\n${T} stdout P b`), {onEntry: c.onEntry})
    assert.deepEqual(c.seen, ['stdout:F:a', 'stdout:P:b'])
  })

  test('without follow, running() is never asked', async () => {
    const c = collect()
    await readLog(file(`${T} stdout F a\n`), {onEntry: c.onEntry, running: () => assert.fail('asked')})
    assert.deepEqual(c.seen, ['stdout:F:a'])
  })

  test('follow prints what is appended, also a record cut mid-write, until the writer stops', async () => {
    const path = file(`${T} stdout F 1\n`)
    const c = collect()
    let alive = true
    let polls = 0
    const running = async () => {
      polls++
      if (polls === 1) appendFileSync(path, `${T} stdout F 2\n${T} std`) // half a record
      if (polls === 2) appendFileSync(path, `err F 3\n`)
      if (polls === 3) {
        appendFileSync(path, `${T} stdout F 4\n`) // written just before the exit is seen
        alive = false
      }
      return alive
    }
    const r = await readLog(path, {follow: true, running, onEntry: c.onEntry, intervalMs: 5})
    assert.deepEqual(c.seen, ['stdout:F:1', 'stdout:F:2', 'stderr:F:3', 'stdout:F:4'])
    assert.equal(r.badLines, 0)
    assert.equal(polls, 3)
  })

  test('follow ends when running() rejects (the task was deleted)', async () => {
    const c = collect()
    await readLog(file(`${T} stdout F a\n`), {follow: true, running: () => Promise.reject(new Error('gone')), onEntry: c.onEntry, intervalMs: 5})
    assert.deepEqual(c.seen, ['stdout:F:a'])
  })

  test('a file truncated while followed is read again from its start', async () => {
    const path = file(`${T} stdout F old-1\n${T} stdout F old-2\n`)
    const c = collect()
    let polls = 0
    const running = async () => {
      polls++
      if (polls === 1) {
        truncateSync(path, 0)
        appendFileSync(path, `${T} stdout F new\n`)
      }
      return polls < 2
    }
    await readLog(path, {follow: true, running, onEntry: c.onEntry, intervalMs: 5})
    assert.deepEqual(c.seen, ['stdout:F:old-1', 'stdout:F:old-2', 'stdout:F:new'])
  })

  test('an abort signal ends following', async () => {
    const c = collect()
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 30)
    const started = Date.now()
    await readLog(file(`${T} stdout F a\n`), {follow: true, running: async () => true, onEntry: c.onEntry, intervalMs: 10_000, signal: ac.signal})
    assert.ok(Date.now() - started < 5000)
    assert.deepEqual(c.seen, ['stdout:F:a'])
  })

  test('a missing file fails with ENOENT', async () => {
    await assert.rejects(readLog(join(dir, 'missing'), {onEntry: () => undefined}), {code: 'ENOENT'})
  })
})
