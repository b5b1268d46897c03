// How commands tell the user about garbage collection that could not delete everything: one
// `ctr: gc: …` line per object left on disk, on stderr (the collection itself went on).
import type {GcReport} from '../lib/store/index.js'

/** Write one line per object GC could not delete. @returns how many there were. */
export function warnGcFailures(report: GcReport): number {
  for (const f of report.failed) {
    process.stderr.write(`ctr: gc: could not remove ${f.kind} ${f.namespace ? `${f.namespace}/` : ''}${f.id}: ${f.error}\n`)
  }
  return report.failed.length
}
