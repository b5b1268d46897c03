// Token streams from containerd's scanner_test.go (positions are UTF-16 indices here, UTF-8 bytes there),
// plus the bare-`/` value extension.
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {Scanner, type TokenKind} from '../../../../src/lib/filters/scanner.js'

interface Expected {
  pos: number
  kind: TokenKind
  text?: string
  err?: string
}

function tokens(input: string): Expected[] {
  const scanner = new Scanner(input)
  const out: Expected[] = []
  for (let i = 0; i < 100; i++) {
    const token = scanner.scan()
    const got: Expected = {pos: token.pos, kind: token.kind}
    if (token.text !== '') got.text = token.text
    if (token.kind === 'illegal') got.err = scanner.err
    out.push(got)
    if (token.kind === 'eof') {
      assert.equal(scanner.scan().kind, 'eof', 'stays at eof')
      return out
    }
  }
  assert.fail('scanner did not reach eof')
}

describe('filters scanner', () => {
  const table: Array<[name: string, input: string, expected: Expected[]]> = [
    [
      'Field',
      'name',
      [
        {pos: 0, kind: 'field', text: 'name'},
        {pos: 4, kind: 'eof'},
      ],
    ],
    [
      'SelectorsWithOperators',
      'name==value,foo!=bar',
      [
        {pos: 0, kind: 'field', text: 'name'},
        {pos: 4, kind: 'operator', text: '=='},
        {pos: 6, kind: 'value', text: 'value'},
        {pos: 11, kind: 'separator', text: ','},
        {pos: 12, kind: 'field', text: 'foo'},
        {pos: 15, kind: 'operator', text: '!='},
        {pos: 17, kind: 'value', text: 'bar'},
        {pos: 20, kind: 'eof'},
      ],
    ],
    [
      'SelectorsWithFieldPaths',
      'name==value,labels.foo=value,other.bar~=match',
      [
        {pos: 0, kind: 'field', text: 'name'},
        {pos: 4, kind: 'operator', text: '=='},
        {pos: 6, kind: 'value', text: 'value'},
        {pos: 11, kind: 'separator', text: ','},
        {pos: 12, kind: 'field', text: 'labels'},
        {pos: 18, kind: 'separator', text: '.'},
        {pos: 19, kind: 'field', text: 'foo'},
        {pos: 22, kind: 'operator', text: '='},
        {pos: 23, kind: 'value', text: 'value'},
        {pos: 28, kind: 'separator', text: ','},
        {pos: 29, kind: 'field', text: 'other'},
        {pos: 34, kind: 'separator', text: '.'},
        {pos: 35, kind: 'field', text: 'bar'},
        {pos: 38, kind: 'operator', text: '~='},
        {pos: 40, kind: 'value', text: 'match'},
        {pos: 45, kind: 'eof'},
      ],
    ],
    [
      'RegexpValue',
      'name~=[abc]+,foo=test',
      [
        {pos: 0, kind: 'field', text: 'name'},
        {pos: 4, kind: 'operator', text: '~='},
        {pos: 6, kind: 'value', text: '[abc]+'},
        {pos: 12, kind: 'separator', text: ','},
        {pos: 13, kind: 'field', text: 'foo'},
        {pos: 16, kind: 'operator', text: '='},
        {pos: 17, kind: 'value', text: 'test'},
        {pos: 21, kind: 'eof'},
      ],
    ],
    [
      'RegexpEscapedValue',
      'name~=[abc]\\+,foo=test',
      [
        {pos: 0, kind: 'field', text: 'name'},
        {pos: 4, kind: 'operator', text: '~='},
        {pos: 6, kind: 'value', text: '[abc]\\+'},
        {pos: 13, kind: 'separator', text: ','},
        {pos: 14, kind: 'field', text: 'foo'},
        {pos: 17, kind: 'operator', text: '='},
        {pos: 18, kind: 'value', text: 'test'},
        {pos: 22, kind: 'eof'},
      ],
    ],
    [
      'RegexpQuotedValue',
      'name~=/[abc]{0,2}/,foo=test',
      [
        {pos: 0, kind: 'field', text: 'name'},
        {pos: 4, kind: 'operator', text: '~='},
        {pos: 6, kind: 'quoted', text: '/[abc]{0,2}/'},
        {pos: 18, kind: 'separator', text: ','},
        {pos: 19, kind: 'field', text: 'foo'},
        {pos: 22, kind: 'operator', text: '='},
        {pos: 23, kind: 'value', text: 'test'},
        {pos: 27, kind: 'eof'},
      ],
    ],
    [
      'Cowsay',
      'name~=牛,labels.moo=true',
      [
        {pos: 0, kind: 'field', text: 'name'},
        {pos: 4, kind: 'operator', text: '~='},
        {pos: 6, kind: 'value', text: '牛'},
        {pos: 7, kind: 'separator', text: ','},
        {pos: 8, kind: 'field', text: 'labels'},
        {pos: 14, kind: 'separator', text: '.'},
        {pos: 15, kind: 'field', text: 'moo'},
        {pos: 18, kind: 'operator', text: '='},
        {pos: 19, kind: 'value', text: 'true'},
        {pos: 23, kind: 'eof'},
      ],
    ],
    [
      'CowsayRegexpQuoted',
      'name~=|牛|,labels.moo=true',
      [
        {pos: 0, kind: 'field', text: 'name'},
        {pos: 4, kind: 'operator', text: '~='},
        {pos: 6, kind: 'quoted', text: '|牛|'},
        {pos: 9, kind: 'separator', text: ','},
        {pos: 10, kind: 'field', text: 'labels'},
        {pos: 16, kind: 'separator', text: '.'},
        {pos: 17, kind: 'field', text: 'moo'},
        {pos: 20, kind: 'operator', text: '='},
        {pos: 21, kind: 'value', text: 'true'},
        {pos: 25, kind: 'eof'},
      ],
    ],
    [
      'Escapes',
      'name~="asdf\\n\\tfooo"',
      [
        {pos: 0, kind: 'field', text: 'name'},
        {pos: 4, kind: 'operator', text: '~='},
        {pos: 6, kind: 'quoted', text: '"asdf\\n\\tfooo"'},
        {pos: 20, kind: 'eof'},
      ],
    ],
    [
      'NullInput',
      'foo\x00bar',
      [
        {pos: 0, kind: 'field', text: 'foo'},
        {pos: 3, kind: 'illegal', err: 'unexpected null'},
        {pos: 4, kind: 'field', text: 'bar'},
        {pos: 7, kind: 'eof'},
      ],
    ],
    [
      'SpacesChomped',
      'foo = bar    ',
      [
        {pos: 0, kind: 'field', text: 'foo'},
        {pos: 4, kind: 'operator', text: '='},
        {pos: 6, kind: 'value', text: 'bar'},
        {pos: 13, kind: 'eof'},
      ],
    ],
    [
      'ValuesPunctuated',
      'compound.labels==punctuated_value.foo-bar',
      [
        {pos: 0, kind: 'field', text: 'compound'},
        {pos: 8, kind: 'separator', text: '.'},
        {pos: 9, kind: 'field', text: 'labels'},
        {pos: 15, kind: 'operator', text: '=='},
        {pos: 17, kind: 'value', text: 'punctuated_value.foo-bar'},
        {pos: 41, kind: 'eof'},
      ],
    ],
    [
      'PartialInput',
      'interrupted=',
      [
        {pos: 0, kind: 'field', text: 'interrupted'},
        {pos: 11, kind: 'operator', text: '='},
        {pos: 12, kind: 'eof'},
      ],
    ],
    [
      'DoubleValue',
      'doublevalue=value value',
      [
        {pos: 0, kind: 'field', text: 'doublevalue'},
        {pos: 11, kind: 'operator', text: '='},
        {pos: 12, kind: 'value', text: 'value'},
        {pos: 18, kind: 'field', text: 'value'},
        {pos: 23, kind: 'eof'},
      ],
    ],
    [
      'LeadingWithQuoted',
      '"leading quote".postquote==value',
      [
        {pos: 0, kind: 'quoted', text: '"leading quote"'},
        {pos: 15, kind: 'separator', text: '.'},
        {pos: 16, kind: 'field', text: 'postquote'},
        {pos: 25, kind: 'operator', text: '=='},
        {pos: 27, kind: 'value', text: 'value'},
        {pos: 32, kind: 'eof'},
      ],
    ],
    [
      'MissingValue',
      'input==,id!=ff',
      [
        {pos: 0, kind: 'field', text: 'input'},
        {pos: 5, kind: 'operator', text: '=='},
        {pos: 7, kind: 'separator', text: ','},
        {pos: 8, kind: 'field', text: 'id'},
        {pos: 10, kind: 'operator', text: '!='},
        {pos: 12, kind: 'value', text: 'ff'},
        {pos: 14, kind: 'eof'},
      ],
    ],
    [
      'QuotedRegexp',
      'input~=/foo\\/bar/,id!=ff',
      [
        {pos: 0, kind: 'field', text: 'input'},
        {pos: 5, kind: 'operator', text: '~='},
        {pos: 7, kind: 'quoted', text: '/foo\\/bar/'},
        {pos: 17, kind: 'separator', text: ','},
        {pos: 18, kind: 'field', text: 'id'},
        {pos: 20, kind: 'operator', text: '!='},
        {pos: 22, kind: 'value', text: 'ff'},
        {pos: 24, kind: 'eof'},
      ],
    ],
    [
      'QuotedRegexpAlt',
      'input~=|foo/bar|,id!=ff',
      [
        {pos: 0, kind: 'field', text: 'input'},
        {pos: 5, kind: 'operator', text: '~='},
        {pos: 7, kind: 'quoted', text: '|foo/bar|'},
        {pos: 16, kind: 'separator', text: ','},
        {pos: 17, kind: 'field', text: 'id'},
        {pos: 19, kind: 'operator', text: '!='},
        {pos: 21, kind: 'value', text: 'ff'},
        {pos: 23, kind: 'eof'},
      ],
    ],
    [
      'IllegalQuoted',
      'labels.containerd.io/key==value',
      [
        {pos: 0, kind: 'field', text: 'labels'},
        {pos: 6, kind: 'separator', text: '.'},
        {pos: 7, kind: 'field', text: 'containerd'},
        {pos: 17, kind: 'separator', text: '.'},
        {pos: 18, kind: 'field', text: 'io'},
        {pos: 20, kind: 'illegal', text: '/key==value', err: 'quoted literal not terminated'},
        {pos: 31, kind: 'eof'},
      ],
    ],
    [
      'IllegalQuotedWithNewLine',
      'labels."containerd.io\nkey"==value',
      [
        {pos: 0, kind: 'field', text: 'labels'},
        {pos: 6, kind: 'separator', text: '.'},
        {pos: 7, kind: 'illegal', text: '"containerd.io\n', err: 'quoted literal not terminated'},
        {pos: 22, kind: 'field', text: 'key'},
        {pos: 25, kind: 'illegal', text: '"==value', err: 'quoted literal not terminated'},
        {pos: 33, kind: 'eof'},
      ],
    ],
    [
      'IllegalEscapeSequence',
      'labels."\\g"',
      [
        {pos: 0, kind: 'field', text: 'labels'},
        {pos: 6, kind: 'separator', text: '.'},
        {pos: 7, kind: 'illegal', text: '"\\g"', err: 'illegal escape sequence'},
        {pos: 11, kind: 'eof'},
      ],
    ],
    [
      'IllegalNumericEscapeSequence',
      'labels."\\xaz"',
      [
        {pos: 0, kind: 'field', text: 'labels'},
        {pos: 6, kind: 'separator', text: '.'},
        {pos: 7, kind: 'illegal', text: '"\\xaz"', err: 'illegal numeric escape sequence'},
        {pos: 13, kind: 'eof'},
      ],
    ],
    [
      'an unknown character is its own token',
      'a?b',
      [
        {pos: 0, kind: 'field', text: 'a'},
        {pos: 1, kind: 'char'},
        {pos: 2, kind: 'field', text: 'b'},
        {pos: 3, kind: 'eof'},
      ],
    ],
    [
      'the first error is the one kept',
      'a\x00"\\q',
      [
        {pos: 0, kind: 'field', text: 'a'},
        {pos: 1, kind: 'illegal', err: 'unexpected null'},
        {pos: 2, kind: 'illegal', text: '"\\q', err: 'unexpected null'},
        {pos: 5, kind: 'eof'},
      ],
    ],
    // Berth's extension: in value position, /… or |… is delimited only if the literal ends the value.
    [
      'extension: a bare regexp starting with /',
      'topic~=/tasks/.+,x==y',
      [
        {pos: 0, kind: 'field', text: 'topic'},
        {pos: 5, kind: 'operator', text: '~='},
        {pos: 7, kind: 'value', text: '/tasks/.+'},
        {pos: 16, kind: 'separator', text: ','},
        {pos: 17, kind: 'field', text: 'x'},
        {pos: 18, kind: 'operator', text: '=='},
        {pos: 20, kind: 'value', text: 'y'},
        {pos: 21, kind: 'eof'},
      ],
    ],
    [
      'extension: an unterminated /value',
      'key==/value',
      [
        {pos: 0, kind: 'field', text: 'key'},
        {pos: 3, kind: 'operator', text: '=='},
        {pos: 5, kind: 'value', text: '/value'},
        {pos: 11, kind: 'eof'},
      ],
    ],
    [
      'extension: a bare value stops at whitespace',
      'topic==|a|b c',
      [
        {pos: 0, kind: 'field', text: 'topic'},
        {pos: 5, kind: 'operator', text: '=='},
        {pos: 7, kind: 'value', text: '|a|b'},
        {pos: 12, kind: 'field', text: 'c'},
        {pos: 13, kind: 'eof'},
      ],
    ],
    [
      'extension: a delimited literal followed by whitespace stays delimited',
      'topic~=/a/ x',
      [
        {pos: 0, kind: 'field', text: 'topic'},
        {pos: 5, kind: 'operator', text: '~='},
        {pos: 7, kind: 'quoted', text: '/a/'},
        // As in containerd, a quoted value leaves the scanner in value mode.
        {pos: 11, kind: 'value', text: 'x'},
        {pos: 12, kind: 'eof'},
      ],
    ],
    [
      'extension: an illegal escape in a bare value is just text',
      'topic~=/tasks/\\d+',
      [
        {pos: 0, kind: 'field', text: 'topic'},
        {pos: 5, kind: 'operator', text: '~='},
        {pos: 7, kind: 'value', text: '/tasks/\\d+'},
        {pos: 17, kind: 'eof'},
      ],
    ],
    [
      'extension: an illegal escape in a delimited literal is still illegal',
      'topic~=/\\d/',
      [
        {pos: 0, kind: 'field', text: 'topic'},
        {pos: 5, kind: 'operator', text: '~='},
        {pos: 7, kind: 'illegal', text: '/\\d/', err: 'illegal escape sequence'},
        {pos: 11, kind: 'eof'},
      ],
    ],
    [
      'extension: field position is unchanged',
      'labels.ns/key/==v',
      [
        {pos: 0, kind: 'field', text: 'labels'},
        {pos: 6, kind: 'separator', text: '.'},
        {pos: 7, kind: 'field', text: 'ns'},
        {pos: 9, kind: 'quoted', text: '/key/'},
        {pos: 14, kind: 'operator', text: '=='},
        {pos: 16, kind: 'value', text: 'v'},
        {pos: 17, kind: 'eof'},
      ],
    ],
  ]
  for (const [name, input, expected] of table) {
    test(`${name}: ${JSON.stringify(input)}`, () => {
      assert.deepEqual(tokens(input), expected)
    })
  }
})
