import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {snapshotterFlag} from '../../cli/flags.js'
import {toJson} from '../../cli/output.js'
import {formatMountCommands} from '../../cli/snapshots.js'
import {GC_ROOT_LABEL, SnapshotService} from '../../lib/snapshot/index.js'

export default class SnapshotsView extends CtrCommand {
  static override summary = 'create a read-only snapshot from a committed snapshot'
  static override description = `Create the view snapshot KEY on PARENT (a committed snapshot), labelled containerd.io/gc.root so
that GC keeps it. --target prints the mount commands for that path; --mounts prints the mounts as JSON.`
  static override args = {key: Args.string({required: true}), parent: Args.string()}
  static override flags = {
    snapshotter: snapshotterFlag,
    target: Flags.string({char: 't', summary: 'mount target path; print the mount commands for it'}),
    mounts: Flags.boolean({summary: 'print the snapshot mounts as JSON'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(SnapshotsView)
    const store = await this.store()
    const snapshots = new SnapshotService(store, this.namespace(), flags.snapshotter ?? store.config.defaultSnapshotter)
    const labels = {[GC_ROOT_LABEL]: new Date().toISOString().replace(/\.\d+Z$/, 'Z')}
    const {mounts} = await snapshots.prepare(args.key, {kind: 'view', parent: args.parent, labels})
    if (flags.target) this.out(formatMountCommands(flags.target, mounts))
    if (flags.mounts) this.out(toJson(mounts))
  }
}
