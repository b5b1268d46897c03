// `ctr fsck`: check the store's rows against its files, mounts and processes; `--repair` fixes what
// can be fixed without guessing. Thin: the checks live in lib/fsck.
import {Flags} from '@oclif/core'
import {RuntimeCommand} from '../cli/runtime-command.js'
import {formatFlag} from '../cli/flags.js'
import {tabwrite, toJson} from '../cli/output.js'

export default class Fsck extends RuntimeCommand {
  static override summary = 'check the store for damage and leftovers (beyond ctr)'
  static override description = `Checks meta.db (SQLite's integrity and foreign-key checks), that every blob record has its file of
its size (--full also re-hashes it), that content, image and snapshot records have what they
reference, that snapshot records have their directories, and looks for what killed processes leave:
files and directories without records, downloads of writers that are gone, mounts, runc state and
task records of processes that died. Each problem is one line: kind, object, what is wrong and what
--repair does. --repair fixes what it can without guessing (a damaged blob is moved to lost+found/,
never deleted; debris goes through gc) and says what it cannot fix. Exit 0 when clean, 8 when
problems remain.`
  static override flags = {
    repair: Flags.boolean({summary: 'fix what can be fixed without guessing'}),
    full: Flags.boolean({summary: 're-hash every blob (reads all content)'}),
    format: formatFlag,
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Fsck)
    const {fsckIncomplete, fsckStore} = await import('../lib/fsck/index.js')
    const report = await fsckStore(() => this.store(), {full: flags.full, repair: flags.repair, runtimeFor: (ns) => this.taskRuntime(ns)})
    if (flags.format === 'json') this.out(toJson(report))
    else if (report.problems.length > 0) {
      const state = (p: (typeof report.problems)[number]) =>
        p.repaired === undefined ? p.action : p.repaired ? `repaired: ${p.action}` : `not repaired: ${p.action}`
      this.out(tabwrite(['KIND\tOBJECT\tPROBLEM\tREPAIR', ...report.problems.map((p) => `${p.kind}\t${p.object}\t${p.problem}\t${state(p)}`)]))
    }
    const incomplete = fsckIncomplete(report)
    if (incomplete) throw incomplete
  }
}
