// Task state predicates: what each recorded status means (one table), ctr's printed names, and that
// no other source file compares task status strings itself.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {describe, test} from 'node:test'
import {
  isAlive,
  isCreated,
  isPaused,
  isRunning,
  isStopped,
  isUnfinished,
  statusFromName,
  statusName,
  type TaskStatus,
  UNFINISHED_STATUSES,
} from '../../../../src/lib/store/task-state.js'
import {REPO_ROOT} from '../../../helpers/cli.js'

const STATUSES: TaskStatus[] = ['created', 'running', 'paused', 'stopped']

describe('task state predicates', () => {
  test('each status answers each predicate as containerd means it', () => {
    const table = STATUSES.map((s) => [s, isCreated(s), isRunning(s), isPaused(s), isStopped(s), isAlive(s), isUnfinished(s)])
    assert.deepEqual(table, [
      // status     created running paused stopped alive  unfinished
      ['created', true, false, false, false, false, true],
      ['running', false, true, false, false, true, true],
      ['paused', false, false, true, false, true, true],
      ['stopped', false, false, false, true, false, false],
    ])
  })

  test('a record answers as its status does (task and exec records alike)', () => {
    for (const status of STATUSES) {
      const record = {containerId: 'c', status, pid: 1}
      assert.deepEqual(
        [isCreated(record), isRunning(record), isPaused(record), isStopped(record), isAlive(record), isUnfinished(record)],
        [isCreated(status), isRunning(status), isPaused(status), isStopped(status), isAlive(status), isUnfinished(status)],
      )
    }
  })

  test('an exit may be recorded from every status but stopped', () => {
    assert.deepEqual(UNFINISHED_STATUSES, STATUSES.filter(isUnfinished))
  })

  test("names are ctr's upper-case ones and read back; any other text is no status", () => {
    assert.deepEqual(
      STATUSES.map((s) => statusName(s)),
      ['CREATED', 'RUNNING', 'PAUSED', 'STOPPED'],
    )
    assert.deepEqual(
      STATUSES.map((s) => statusFromName(statusName({status: s}))),
      STATUSES,
    )
    assert.equal(statusFromName('NO TASK'), undefined)
    assert.equal(statusFromName('STOPPED (oom)'), undefined)
  })
})

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : name.endsWith('.ts') ? [path] : []
  })
}

test('no source file but task-state.ts compares task status strings (every site asks the predicates)', () => {
  const compare =
    /\bstatus\s*[!=]==\s*'(created|running|paused|stopped)'|\bStatus\s*[!=]==\s*'(CREATED|RUNNING|PAUSED|STOPPED)'|'(created|running|paused|stopped)'\s*[!=]==/i
  const offenders: string[] = []
  for (const file of sources(join(REPO_ROOT, 'src'))) {
    if (file.endsWith(join('store', 'task-state.ts'))) continue
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (compare.test(line)) offenders.push(`${relative(REPO_ROOT, file)}:${i + 1}: ${line.trim()}`)
      })
  }
  assert.deepEqual(offenders, [])
})
