import {Flags} from '@oclif/core'
import {RuntimeCommand} from '../cli/runtime-command.js'
import {formatFlag} from '../cli/flags.js'
import {tabwrite, toJson} from '../cli/output.js'
import {warnGcFailures} from '../cli/gc-report.js'
import {collectGarbage, gcIncomplete} from '../lib/store/index.js'

export default class Gc extends RuntimeCommand {
  static override summary = 'collect garbage now'
  static override description = `Remove what no root reaches any more: blob records per namespace, then blob files no namespace
references, expired leases and stale ingests. Roots are images, unexpired leases, content labelled
containerd.io/gc.root and downloads in progress. A pull's lease and partial downloads go as soon as
the pulling process has exited or been killed (never while it lives, even stopped). --dry-run changes nothing and explains, for what
stays, which root keeps it. Before that (not in a dry run) every task is reconciled and what
networking a killed process left is released: CNI attachments (DEL), pinned namespaces and
host-local IP reservations that no running task or existing pod holds. An object that cannot be
deleted is reported on stderr and does not stop the rest; the command then exits non-zero.`
  static override flags = {'dry-run': Flags.boolean({summary: 'show what would be removed and why the rest stays'}), format: formatFlag}

  async run(): Promise<void> {
    const {flags} = await this.parse(Gc)
    const store = await this.store()
    const {sweepRuntime} = await import('../lib/runtime/sweep.js')
    const net = flags['dry-run'] ? {attachments: [], pins: [], reservations: []} : await sweepRuntime(store, (ns) => this.taskRuntime(ns))
    const report = await collectGarbage(store, {dryRun: flags['dry-run']})
    const released = [
      ...net.attachments.map((a) => `removed\tnetwork\t-\t${a}\t`),
      ...net.pins.map((p) => `removed\tpin\t-\t${p}\t`),
      ...net.reservations.map((r) => `removed\tip\t-\t${r}\t`),
    ]
    if (flags.format === 'json') return this.out(toJson(released.length > 0 ? {...report, network: net} : report))
    const verb = flags['dry-run'] ? 'would remove' : 'removed'
    const removed = report.removed.map((r) => `${verb}\t${r.kind}\t${r.namespace ?? '-'}\t${r.id}\t`)
    const kept = flags['dry-run'] ? report.kept.map((k) => `keeps\t${k.kind}\t${k.namespace ?? '-'}\t${k.id}\t${k.reason}`) : []
    if (released.length + removed.length + kept.length > 0) this.out(tabwrite([...released, ...removed, ...kept]))
    warnGcFailures(report)
    const incomplete = gcIncomplete(report)
    if (incomplete) throw incomplete
  }
}
