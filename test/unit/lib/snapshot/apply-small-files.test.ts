// Regression for issue 14 item 4, "slow on many small files" (a layer of 200,000 empty files took
// 97 s to apply): the applier's cost per entry must stay a small constant number of system calls,
// at most what GNU tar makes for the same entry, with no per-entry work that grows with the
// layer (bookkeeping scans, fsync, re-resolving the whole path, a SQLite write). Counted with
// `strace -c` on a child process applying N and then 2N empty files: the difference is the cost of
// N entries, whatever start-up costs. Not a timing test: the counts are exact on any machine.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {readFileSync, readdirSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, before, describe, test} from 'node:test'
import {scratch, type Scratch} from '../../../helpers/apply-layers.js'
import type {TarEntry} from '../../../helpers/tar-writer.js'

const haveStrace = spawnSync('strace', ['-V']).status === 0
const skip = !haveStrace && !process.env['CI'] ? 'needs strace (scripts/debian-packages.txt)' : false
const MODULE = fileURLToPath(new URL('../../../../src/lib/snapshot/apply/index.js', import.meta.url))
const APPLY = `
const [, modulePath, blobPath, mediaType, target] = process.argv
const {applyLayer} = await import(modulePath)
await applyLayer({blobPath, mediaType, target, mode: 'overlay', lowers: async () => []})
`
/** Calls that do not touch the target's tree (the runtime, threads, reading the blob). */
const RUNTIME = new Set([
  'futex',
  'epoll_pwait',
  'epoll_wait',
  'epoll_ctl',
  'mmap',
  'munmap',
  'mprotect',
  'madvise',
  'brk',
  'read',
  'pread64',
  'write',
  'getpid',
  'rt_sigprocmask',
  'sched_yield',
  'clock_gettime',
  'clock_nanosleep',
  'mremap',
])

/** `count` empty files in directories of 100 (as the 200k layer: many files, few directories). */
function emptyFiles(count: number): TarEntry[] {
  const entries: TarEntry[] = []
  for (let i = 0; i < count; i++) {
    if (i % 100 === 0) entries.push({path: `d${i / 100}/`, type: 'dir', mode: 0o755})
    entries.push({path: `d${Math.floor(i / 100)}/f${i % 100}`, type: 'file', mode: 0o644, content: ''})
  }
  return entries
}

/** Applies the layer in a child under `strace -f -c`; @returns calls per system call name. */
function syscallCounts(s: Scratch, blob: {path: string; mediaType: string}): Map<string, number> {
  const target = s.mkdir('t')
  const out = join(s.dir, `strace-${readdirSync(s.dir).length}.txt`)
  const r = spawnSync(
    'strace',
    ['-f', '-c', '-o', out, process.execPath, '--input-type=module', '-e', APPLY, '--', MODULE, blob.path, blob.mediaType, target],
    {encoding: 'utf8'},
  )
  assert.equal(r.status, 0, r.stderr)
  const counts = new Map<string, number>()
  for (const line of readFileSync(out, 'utf8').split('\n')) {
    // % time  seconds  usecs/call  calls  [errors]  syscall
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?([a-z_0-9]+)\s*$/.exec(line)
    if (m && m[2] !== 'total') counts.set(m[2], Number(m[1]))
  }
  return counts
}

describe('regression: slow on many small files', {skip}, () => {
  let s: Scratch
  before(() => (s = scratch('berth-apply-small-')))
  after(() => s.cleanup())

  test('an empty file costs at most 3 system calls (open, times, close), and the cost grows linearly', async () => {
    const N = 2000
    const small = syscallCounts(s, await s.blob(emptyFiles(N)))
    const large = syscallCounts(s, await s.blob(emptyFiles(2 * N)))
    const delta = (name: string) => (large.get(name) ?? 0) - (small.get(name) ?? 0)
    let perEntry = 0
    const growing: string[] = []
    for (const name of new Set([...small.keys(), ...large.keys()])) {
      if (RUNTIME.has(name)) continue
      const d = delta(name)
      perEntry += d
      if (d > N / 50) growing.push(`${name} +${d}`)
    }
    // N more files in N/100 more directories: N opens, N time stamps, N closes, N/100 mkdirs
    // (GNU tar makes 5 calls a file: open, fchown, fchmod, utimensat, close).
    assert.ok(perEntry <= 3 * N + N / 20, `${perEntry} more calls for ${N} more files (${(perEntry / N).toFixed(2)} a file): ${growing.join(', ')}`)
    assert.ok(delta('openat') + delta('open') >= N, `strace counted ${delta('openat')} more openat for ${N} more files`)
    assert.ok(delta('openat') + delta('open') <= N + N / 50, `one open a file: ${delta('openat')} more openat for ${N} more files`)
    for (const never of ['fsync', 'fdatasync', 'sync_file_range', 'syncfs', 'sync']) assert.equal(delta(never), 0, `${never} grows with the layer`)
  })
})
