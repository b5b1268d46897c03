import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {tabwrite, toJson} from '../../../src/cli/output.js'

describe('tabwrite (Go text/tabwriter, minwidth 1, padding 1, space)', () => {
  test('ctr namespaces ls layout, trailing padding included', () => {
    const out = tabwrite(['NAME\tLABELS\t', 'default\t\t', 'foo\tmylabel=bar\t'])
    assert.equal(out, 'NAME    LABELS      \ndefault             \nfoo     mylabel=bar \n')
  })
  test('an all-empty column is one space wide', () => {
    assert.equal(tabwrite(['NAME\tLABELS\t', 'default\t\t']), 'NAME    LABELS \ndefault        \n')
  })
  test('header only', () => {
    assert.equal(tabwrite(['REF\tTYPE\tDIGEST\t']), 'REF TYPE DIGEST \n')
  })
  test('column blocks end where a line has fewer cells', () => {
    assert.equal(tabwrite(['a\tb\tc', 'aa\tbbb', 'x']), 'a  b c\naa bbb\nx\n')
  })
  test('widths count code points, not bytes', () => {
    assert.equal(tabwrite(['ü\tx\t', 'ab\ty\t']), 'ü  x \nab y \n')
  })
  test('a block restarts after a line without the column', () => {
    assert.equal(tabwrite(['a\t1', 'b', 'cccc\t2']), 'a 1\nb\ncccc 2\n')
  })
})

test('toJson indents by 4 spaces like ctr', () => {
  assert.equal(toJson({a: [1]}), '{\n    "a": [\n        1\n    ]\n}\n')
})

describe('tabwrite with tab padding (ctr content ls)', () => {
  test('cells are padded with tabs to tab stops', async () => {
    const {CTR_TAB_TABLE} = await import('../../../src/cli/output.js')
    // widths: col0 = 71+1 -> 72 (9 stops), col1 = max(4,3)+1 = 5 -> 8
    const digest = `sha256:${'a'.repeat(64)}`
    assert.equal(tabwrite(['DIGEST\tSIZE\t', `${digest}\t1.0 KiB\t`], CTR_TAB_TABLE), `DIGEST${'\t'.repeat(9)}SIZE\t\n${digest}\t1.0 KiB\t\n`)
  })
})
