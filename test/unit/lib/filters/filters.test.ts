// Table tests for the public filters API: containerd's filter_test.go corpus and cases, the exact
// parse-error texts, OR across arguments, the bare-`/` value extension and the event envelope shape.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {describe, test} from 'node:test'
import {describe as describeError, isInvalidArgument} from '../../../../src/lib/errors/index.js'
import {type Filter, objectAdaptor, parseFilter, parseFilters} from '../../../../src/lib/filters/index.js'

/** containerd's TestFilters corpus; empty Name/Other fields are simply left out. */
const corpus: readonly object[] = [
  {name: 'foo', labels: {foo: 'true'}},
  {name: 'bar'},
  {name: 'foo', labels: {foo: 'present', 'more complex label': 'present'}},
  {name: 'bar', labels: {bar: 'true'}},
  {name: 'fooer', labels: {'more complex label with \\ and "': 'present'}},
  {name: 'fooer', labels: {'more complex label with \\ and ".post': 'present'}},
  {name: 'baz', other: 'too complex, yo'},
  {name: 'bazo', other: 'abc'},
  {name: 'compound', labels: {foo: 'omg_asdf.asdf-qwer'}},
]
const ALL = corpus.map((_, i) => i)

/** An event-envelope corpus as `ctr events` filters it: only `labels` is a map, at any depth. */
const envelopes: readonly object[] = [
  {namespace: 'bb', topic: '/tasks/exit', event: {container_id: 'c1', id: 'c1', pid: 42, exit_status: 137}},
  {namespace: 'bb', topic: '/tasks/create', event: {container_id: 'c1', bundle: '/run/c1', io: {stdin: '/dev/null'}}},
  {namespace: 'default', topic: '/tasks/exit', event: {container_id: 'c2', id: 'c2'}},
  {namespace: 'bb', topic: '/containers/create', event: {id: 'c1', image: 'docker.io/library/alpine:3.20', runtime: {name: 'io.containerd.runc.v2'}}},
  {
    namespace: 'bb',
    topic: '/images/update',
    event: {name: 'docker.io/library/alpine:3.20', labels: {'a.b': 'x', 'containerd.io/gc.ref.content': 'sha256:0', k: ''}},
  },
  {namespace: 'bb', topic: '/namespaces/create', event: {name: 'bb', labels: {}}},
]

function selected(filter: Filter, objects: readonly object[], maps: readonly string[]): number[] {
  return objects.flatMap((object, i) => (filter.match(objectAdaptor(object, maps)) ? [i] : []))
}

function parseError(input: string): Error {
  try {
    parseFilter(input)
  } catch (err) {
    return err as Error
  }
  assert.fail(`expected ${JSON.stringify(input)} to be rejected`)
}

describe('filters: accepted inputs (containerd filter_test.go corpus)', () => {
  const table: Array<[name: string, input: string, expected: number[]]> = [
    // containerd's own cases
    ['Empty', '', ALL],
    ['Present', 'name', ALL],
    ['LabelPresent', 'labels.foo', [0, 2, 8]],
    ['NameAndLabelPresent', 'labels.foo,name', [0, 2, 8]],
    ['LabelValue', 'labels.foo==true', [0]],
    ['LabelValuePunctuated', 'labels.foo==omg_asdf.asdf-qwer', [8]],
    ['Name', 'name==bar', [1, 3]],
    ['NameNotEqual', 'name!=bar', [0, 2, 4, 5, 6, 7, 8]],
    ['NameAndLabelPresent (value)', 'name==bar,labels.bar', [3]],
    ['QuotedValue', 'other=="too complex, yo"', [6]],
    ['RegexpValue', 'other~=[abc]+,name!=foo', [6, 7]],
    ['RegexpQuotedValue', 'other~=/[abc]+/,name!=foo', [6, 7]],
    ['RegexpQuotedValue with a comma inside', 'other~=/[abc]{1,2}/,name!=foo', [6, 7]],
    ['RegexpQuotedValueGarbage', 'other~=/[abc]{0,1}"\\//,name!=foo', []],
    ['NameAndLabelValue', 'name==bar,labels.bar==true', [3]],
    ['NameAndLabelValueNoMatch', 'name==bar,labels.bar==wrong', []],
    ['LabelQuotedFieldPathPresent', 'name==foo,labels."more complex label"', [2]],
    ['LabelQuotedFieldPathPresentWithQuoted', 'labels."more complex label with \\\\ and \\""==present', [4]],
    ['LabelQuotedFieldPathPresentWithQuotedEmbed', 'labels."more complex label with \\\\ and \\"".post==present', [5]],
    // further consequences of the same grammar
    ['whitespace around tokens is skipped', '  name ==  bar', [1, 3]],
    ['quoted value', 'name=="bar"', [1, 3]],
    ['quoted field', '"name"==bar', [1, 3]],
    ['quoted label key part', 'labels."foo"==true', [0]],
    ['hex escape in a quoted value', 'name=="\\x62ar"', [1, 3]],
    ['octal escape in a quoted value', 'name=="\\142ar"', [1, 3]],
    ['unicode escape in a quoted value', 'name=="\\u0062ar"', [1, 3]],
    ['value may contain = ! ~ after its first character', 'name!=a=b!c~d', ALL],
    ['!= holds when the field is absent', 'other!=abc', [0, 1, 2, 3, 4, 5, 6, 8]],
    ['!= compares an absent field as ""', 'other!=""', [6, 7]],
    ['~= matches an absent field as ""', 'other~=^$', [0, 1, 2, 3, 4, 5, 8]],
    ['~= is unanchored', 'name~=o$', [0, 2, 7]],
    ['~= with a leading (?i) flag', 'name~=(?i)^FOO$', [0, 2]],
    ['~= with |…| delimiters', 'name~=|^ba|', [1, 3, 6, 7]],
    ['~= with "…" delimiters', 'name~="^ba"', [1, 3, 6, 7]],
    ['~= /…/ may hold spaces and commas', 'other~=/^too complex, yo$/', [6]],
    ['~= escaped delimiter inside /…/', 'other~=/^a\\/?bc$/', [7]],
    ['an absent label with != holds', 'labels.bar!=true', [0, 1, 2, 4, 5, 6, 7, 8]],
    ['several regexps AND together', 'name~=^fo+$,labels.foo~=^pres', [2]],
    ['a label map has no "" key, so bare labels is absent', 'labels', []],
  ]
  for (const [name, input, expected] of table) {
    test(`${name}: ${JSON.stringify(input)}`, () => {
      assert.deepEqual(selected(parseFilter(input), corpus, ['labels']), expected)
    })
  }
})

describe('filters: rejected inputs and their exact messages', () => {
  const table: Array<[name: string, input: string, message: string]> = [
    // containerd's own cases
    ['LabelValueNoAltQuoting', 'labels.|foo|==omg_asdf.asdf-qwer', '[labels. >|||< foo|==omg_asdf.asdf-qwer]: invalid quote encountered'],
    [
      'LabelQuotedFieldPathPresentWithQuotedEmbedInvalid',
      'labels.?"more complex label with \\\\ and \\"".post==present',
      '[labels. >|?|< "more complex label with \\\\ and \\"".post==present]: expected field or quoted',
    ],
    ['TrailingComma', 'name==foo,', '[name==foo,]: expected field or quoted'],
    // beyond containerd (which matches nothing): a ~= pattern that Go's regexp refuses is refused here
    ['an invalid regexp', 'name~=([', '[name~= >|(|< []: error parsing regexp: missing closing ]: `[`'],
    [
      'an invalid regexp after a valid selector',
      'name==a,labels.x~=a**',
      '[name==a,labels.x~= >|a|< **]: error parsing regexp: invalid nested repetition operator: `**`',
    ],
    ['TrailingFieldSeparator', 'labels.', '[labels.]: expected field or quoted'],
    ['MissingValue', 'image~=,id?=?fbaq', '[image~= >|,|< id?=?fbaq]: expected value or quoted'],
    ['FieldQuotedLiteralNotTerminated', 'labels.ns/key==value', '[labels.ns >|/|< key==value]: quoted literal not terminated'],
    // scanner_test.go inputs, through the parser
    ['IllegalQuoted', 'labels.containerd.io/key==value', '[labels.containerd.io >|/|< key==value]: quoted literal not terminated'],
    ['IllegalQuotedWithNewLine', 'labels."containerd.io\nkey"==value', '[labels. >|"|< containerd.io\nkey"==value]: quoted literal not terminated'],
    ['IllegalEscapeSequence', 'labels."\\g"', '[labels. >|"|< \\g"]: illegal escape sequence'],
    ['IllegalNumericEscapeSequence', 'labels."\\xaz"', '[labels. >|"|< \\xaz"]: illegal numeric escape sequence'],
    ['NullInput', 'foo\x00bar', '[foo >|\x00|< bar]: unexpected null'],
    ['single = is not an operator', 'doublevalue=value value', '[doublevalue >|=|< value value]: unsupported operator "="'],
    // other paths through the parser
    ['a dash in a bare label key (containerd#5642)', 'labels.foo-bar==bla', '[labels.foo >|-|< bar==bla]: expected an operator ("=="|"!="|"~=")'],
    ['trailing space after a field', 'name ', '[name ]: expected an operator ("=="|"!="|"~=")'],
    ['a space inside a bare value', 'name==foo bar', '[name==foo >| |< bar]: unexpected input:  '],
    ['text glued to a quoted value', 'name=="foo"bar', '[name=="foo" >|b|< ar]: unexpected input: b'],
    ['a control character after a value', 'name==foo\x01', '[name==foo >|\x01|< ]: unexpected input: \x01'],
    ['a NUL after a value is shown as U+FFFD', 'name==foo\x00', '[name==foo >|\x00|< ]: unexpected input: \ufffd'],
    ['an undecodable character', 'name==\ufffd', '[name== >|\ufffd|< ]: rune error'],
    ['/…/ only after ~=', 'name==/foo/', '[name== >|/|< foo/]: invalid quote encountered'],
    ['|…| only after ~=', 'name!=|foo|', '[name!= >|||< foo|]: invalid quote encountered'],
    ['Go escapes only inside /…/ (\\d is not one)', 'name~=/\\d+/', '[name~= >|/|< \\d+/]: illegal escape sequence'],
    ['an escape past U+10FFFF', 'name=="\\UFFFFFFFF"', '[name== >|"|< \\UFFFFFFFF"]: unquoting failed: quote syntax error'],
    ['an octal escape past 255', 'name=="\\777"', '[name== >|"|< \\777"]: unquoting failed: quote syntax error'],
    ['only whitespace', '   ', '[   ]: expected field or quoted'],
    ['only a comma', ',', '[ >|,|< ]: expected field or quoted'],
    ['an empty selector in the middle', 'name==foo,,x', '[name==foo, >|,|< x]: expected field or quoted'],
    ['a leading dot', '.name', '[ >|.|< name]: expected field or quoted'],
    ['operator without a value', 'name==', '[name==]: expected value or quoted'],
    ['a value starting with a dot', 'name~=.x', '[name~= >|.|< x]: expected value or quoted'],
    ['a run of operator characters', 'name===foo', '[name >|=|< ==foo]: unsupported operator "==="'],
    ['quoted text where an operator belongs', 'name "x"', '[name  >|"|< x"]: expected an operator ("=="|"!="|"~=")'],
    ['non-ASCII where a field belongs', '牛==x', '[ >|牛|< ==x]: expected field or quoted'],
  ]
  for (const [name, input, message] of table) {
    test(`${name}: ${JSON.stringify(input)}`, () => {
      const err = parseError(input)
      assert.equal(err.message, `filters: parse error: ${message}`)
      assert.ok(isInvalidArgument(err), 'an InvalidArgument')
      assert.equal(describeError(err), `filters: parse error: ${message}: invalid argument`)
    })
  }
})

describe("filters: several arguments are OR'd", () => {
  test('an empty list matches everything', () => {
    assert.deepEqual(selected(parseFilters([]), corpus, ['labels']), ALL)
  })
  test('each argument is one alternative', () => {
    assert.deepEqual(selected(parseFilters(['name==foo', 'name==bar']), corpus, ['labels']), [0, 1, 2, 3])
  })
  test('selectors inside an argument still AND', () => {
    assert.deepEqual(selected(parseFilters(['name==foo,labels.foo==true', 'other==abc']), corpus, ['labels']), [0, 7])
  })
  test('an empty argument matches everything', () => {
    assert.deepEqual(selected(parseFilters(['name==foo', '']), corpus, ['labels']), ALL)
  })
  test('one bad argument rejects the whole list with its own message', () => {
    assert.throws(
      () => parseFilters(['name==foo', 'name==foo,']),
      (err: Error) => {
        assert.equal(describeError(err), 'filters: parse error: [name==foo,]: expected field or quoted: invalid argument')
        return isInvalidArgument(err)
      },
    )
  })
})

describe('filters: extension — a value starting with / or | is delimited only when the literal ends the value', () => {
  const table: Array<[name: string, input: string, expected: number[]]> = [
    ['the founding document example', 'topic~=/tasks/.+,namespace==bb', [0, 1]],
    ['== against a bare topic', 'topic==/tasks/exit', [0, 2]],
    ['!= against a bare topic', 'topic!=/tasks/exit', [1, 3, 4, 5]],
    ['a bare topic followed by more selectors', 'topic==/tasks/exit,namespace==bb', [0]],
    ['a bare regexp containing |', 'topic~=/tasks/(exit|create)$', [0, 1, 2]],
    ['a bare path value deeper in the event', 'event.io.stdin==/dev/null', [1]],
    ['delimited /…/ with escaped slashes stays a regexp', 'topic~=/^\\/tasks\\//', [0, 1, 2]],
    ['delimited |…| stays a regexp', 'topic~=|^/tasks/|', [0, 1, 2]],
    ['delimited /tasks/ is the regexp "tasks"', 'topic~=/tasks/', [0, 1, 2]],
    ['delimited, then a comma', 'topic~=|exit|,namespace==bb', [0]],
    ['containerd integration test form', 'namespace==bb,topic~=|^/tasks/exit|', [0]],
    ['double quotes as containerd documents', 'topic=="/tasks/exit"', [0, 2]],
    ['CRI subscription form', 'topic~="/images/"', [4]],
  ]
  for (const [name, input, expected] of table) {
    test(`${name}: ${JSON.stringify(input)}`, () => {
      assert.deepEqual(selected(parseFilter(input), envelopes, ['labels']), expected)
    })
  }

  test('name~=/foo/,… is still a delimited regexp', () => {
    assert.deepEqual(selected(parseFilter('name~=/foo/,labels.foo==true'), corpus, ['labels']), [0])
    assert.deepEqual(selected(parseFilter('name~=/^fo/,name!=foo'), corpus, ['labels']), [4, 5])
  })

  test('an unterminated /value is a bare value (containerd: quoted literal not terminated)', () => {
    const filter = parseFilter('labels.key==/value')
    assert.equal(filter.match(objectAdaptor({labels: {key: '/value'}}, ['labels'])), true)
    assert.equal(filter.match(objectAdaptor({labels: {key: 'value'}}, ['labels'])), false)
  })

  test('a lone / or | is a bare value', () => {
    assert.equal(parseFilter('path==/').match(objectAdaptor({path: '/'})), true)
    assert.equal(parseFilter('sep==|').match(objectAdaptor({sep: '|'})), true)
  })

  test("field paths keep containerd's rules", () => {
    assert.equal(parseError('labels.ns/key==value').message, 'filters: parse error: [labels.ns >|/|< key==value]: quoted literal not terminated')
    assert.equal(parseError('labels./ns/==v').message, 'filters: parse error: [labels. >|/|< ns/==v]: invalid quote encountered')
  })

  test("a delimited literal followed by whitespace keeps containerd's error", () => {
    assert.equal(parseError('topic~=/a/ ,b').message, 'filters: parse error: [topic~=/a/ >| |< ,b]: unexpected input:  ')
    assert.equal(parseError('topic~=/tasks/.+ x').message, 'filters: parse error: [topic~=/tasks/.+ >| |< x]: unexpected input:  ')
  })
})

describe('filters: event envelopes', () => {
  const table: Array<[name: string, input: string, expected: number[]]> = [
    ['envelope fields', 'namespace==bb', [0, 1, 3, 4, 5]],
    ['exchange_test.go form', 'topic=="/containers/create",event.id=="c1"', [3]],
    ['a payload field', 'event.container_id==c1', [0, 1]],
    ['a nested payload field', 'event.runtime.name==io.containerd.runc.v2', [3]],
    ['numbers are compared as text', 'event.pid==42', [0]],
    ['numbers can be matched by regexp', 'event.exit_status~=^13', [0]],
    ['event.labels joins the rest of the path into one key', 'event.labels.a.b==x', [4]],
    ['a quoted label key with a slash', 'event.labels."containerd.io/gc.ref.content"', [4]],
    ['an empty label value is present', 'event.labels.k', [4]],
    ['an empty label value equals ""', 'event.labels.k==""', [4]],
    ['the event object itself is not a value', 'event', []],
    ['a map itself is not a value', 'event.labels', []],
    ['timestamp is not a field', 'timestamp', []],
  ]
  for (const [name, input, expected] of table) {
    test(`${name}: ${JSON.stringify(input)}`, () => {
      assert.deepEqual(selected(parseFilter(input), envelopes, ['labels']), expected)
    })
  }
})

describe('filters: cost', () => {
  test('re2js is loaded only when a filter has a ~= selector', () => {
    const probe = `
      const {parseFilter} = await import(${JSON.stringify(new URL('../../../../src/lib/filters/index.js', import.meta.url).href)})
      const {createRequire} = await import('node:module')
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes('/re2js/'))
      parseFilter('name==a,labels.b!=c')
      const before = loaded()
      parseFilter('name~=^a')
      console.log(JSON.stringify([before, loaded()]))`
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {encoding: 'utf8'})
    assert.deepEqual(JSON.parse(out), [false, true])
  })

  test('matching 10,000 objects is cheap', () => {
    const filter = parseFilter('name~=^ba,other~=c,labels.foo!=x')
    const objects = Array.from({length: 10_000}, (_, i) => ({name: `ba${i}`, other: 'abc', labels: {foo: String(i)}}))
    const started = performance.now()
    let matched = 0
    for (const object of objects) if (filter.match(objectAdaptor(object, ['labels']))) matched++
    const elapsed = performance.now() - started
    assert.equal(matched, 10_000)
    assert.ok(elapsed < 1000, `took ${elapsed.toFixed(1)} ms`)
  })
})
