import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {errorKind} from '../../../src/lib/errors/index.js'
import {eventAdaptor, formatEventJson, formatEventLine, formatGoTime} from '../../../src/lib/events/index.js'
import {parseFilters} from '../../../src/lib/filters/index.js'
import {appendEventRow as appendEvent} from '../../../src/lib/store/event-log.js'
import {type EventRecord, followEvents, iterateEvents, parseTimeBound, trimEvents} from '../../../src/lib/store/index.js'
import {type TempStore, tempStore} from '../../helpers/store.js'

const at = (iso: string, micros = 0) => Date.parse(iso) * 1000 + micros

describe('event formatting', () => {
  test('Go time.String() with trailing zeros trimmed', () => {
    assert.equal(formatGoTime(at('2017-07-28T22:19:51Z', 789448)), '2017-07-28 22:19:51.789448 +0000 UTC')
    assert.equal(formatGoTime(at('2017-07-28T22:19:51Z', 789440)), '2017-07-28 22:19:51.78944 +0000 UTC')
    assert.equal(formatGoTime(at('2017-07-28T22:19:51Z', 500000)), '2017-07-28 22:19:51.5 +0000 UTC')
    assert.equal(formatGoTime(at('2017-07-28T22:19:51Z')), '2017-07-28 22:19:51 +0000 UTC')
  })
  const e: EventRecord = {
    seq: 1,
    tsMicros: at('2017-07-28T22:19:51Z', 791893),
    namespace: 'bb',
    topic: '/tasks/start',
    payloadJson: '{"container_id":"bb-ctr-6-8","pid":25889}',
  }
  test('ctr line format', () => {
    assert.equal(formatEventLine(e), '2017-07-28 22:19:51.791893 +0000 UTC bb /tasks/start {"container_id":"bb-ctr-6-8","pid":25889}')
  })
  test('json format', () => {
    assert.deepEqual(JSON.parse(formatEventJson(e)), {
      timestamp: '2017-07-28T22:19:51.791893Z',
      namespace: 'bb',
      topic: '/tasks/start',
      event: {container_id: 'bb-ctr-6-8', pid: 25889},
    })
  })
  test('filters see namespace, topic and event fields', () => {
    const match = (f: string) => parseFilters([f]).match(eventAdaptor(e))
    assert.equal(match('topic~=/tasks/.+,namespace==bb'), true)
    assert.equal(match('topic~=/tasks/.+,namespace==aa'), false)
    assert.equal(match('topic=="/tasks/start"'), true)
    assert.equal(match('event.container_id==bb-ctr-6-8'), true)
    assert.equal(match('event.pid==25889'), true)
    assert.equal(match('event.nothing'), false)
  })
})

describe('time bounds', () => {
  const now = at('2026-01-01T12:00:00Z')
  const table: Array<[string, number]> = [
    ['10m', now - 600e6],
    ['1h30m', now - 5400e6],
    ['1.5s', now - 1.5e6],
    ['2026-01-01T11:00:00Z', at('2026-01-01T11:00:00Z')],
    ['2026-01-01T11:00:00.123456789Z', at('2026-01-01T11:00:00Z', 123456)],
    ['2026-01-01T13:00:00+02:00', at('2026-01-01T11:00:00Z')],
    ['2026-01-01 11:00:00Z', at('2026-01-01T11:00:00Z')],
  ]
  for (const [input, want] of table) test(`parses ${input}`, () => assert.equal(parseTimeBound(input, now), want))
  for (const bad of ['', 'yesterday', '10', '10x', '2026-01-01', '2026-13-01T00:00:00Z']) {
    test(`rejects ${JSON.stringify(bad)}`, () =>
      assert.throws(
        () => parseTimeBound(bad, now),
        (err) => errorKind(err) === 'invalid argument',
      ))
  }
})

describe('event log', () => {
  let t: TempStore
  before(async () => (t = await tempStore()))
  after(() => t.cleanup())

  test('trim keeps at most maxRows, the newest', () => {
    const db = t.store.db
    db.transaction(() => {
      for (let i = 0; i < 50; i++) appendEvent(db, 'ns', '/test/x', {i})
    })()
    trimEvents(db, {maxRows: 10, maxAgeSeconds: 3600})
    const left = [...iterateEvents(db)].map((e) => JSON.parse(e.payloadJson).i)
    assert.deepEqual(
      left,
      Array.from({length: 10}, (_, k) => 40 + k),
    )
  })

  test('trim drops rows older than maxAge', () => {
    const db = t.store.db
    db.prepare("UPDATE events SET ts_us = ts_us - 7200000000 WHERE json_extract(payload, '$.i') < 45").run()
    trimEvents(db, {maxRows: 1000, maxAgeSeconds: 3600})
    assert.deepEqual(
      [...iterateEvents(db)].map((e) => JSON.parse(e.payloadJson).i),
      [45, 46, 47, 48, 49],
    )
  })

  test('appending trims by itself every 512 rows', () => {
    const db = t.store.db
    db.transaction(() => {
      for (let i = 0; i < 1100; i++) appendEvent(db, 'ns', '/test/y', {i}, {maxRows: 100, maxAgeSeconds: 3600})
    })()
    const count = (db.prepare('SELECT count(*) AS n FROM events').get() as {n: number}).n
    assert.ok(count <= 100 + 512, `count ${count}`)
    assert.ok(count >= 100)
  })

  test('followEvents without follow replays everything in order; with since only later ones', async () => {
    const db = t.store.db
    db.exec('DELETE FROM events')
    appendEvent(db, 'a', '/test/one', {n: 1})
    db.prepare('UPDATE events SET ts_us = ts_us - 3600000000').run()
    appendEvent(db, 'b', '/test/two', {n: 2})
    const all: string[] = []
    for await (const e of followEvents(t.store, {follow: false})) all.push(e.topic)
    assert.deepEqual(all, ['/test/one', '/test/two'])
    const recent: string[] = []
    for await (const e of followEvents(t.store, {follow: false, sinceMicros: parseTimeBound('10m')})) recent.push(e.topic)
    assert.deepEqual(recent, ['/test/two'])
  })

  test('followEvents with follow yields new rows and stops on abort', async () => {
    const stop = new AbortController()
    const seen: string[] = []
    const done = (async () => {
      for await (const e of followEvents(t.store, {follow: true, signal: stop.signal, filter: parseFilters(['namespace==c'])})) {
        seen.push(e.topic)
        if (seen.length === 2) stop.abort()
      }
    })()
    await new Promise((r) => setTimeout(r, 60))
    appendEvent(t.store.db, 'c', '/test/three', {})
    appendEvent(t.store.db, 'd', '/test/other', {})
    appendEvent(t.store.db, 'c', '/test/four', {})
    await done
    assert.deepEqual(seen, ['/test/three', '/test/four'])
  })
})
