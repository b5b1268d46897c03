import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {prepareFlags, prepareSnapshot} from '../../cli/snapshots.js'

export default class SnapshotsPrepare extends CtrCommand {
  static override summary = 'prepare a snapshot from a committed snapshot'
  static override description = `Create the active snapshot KEY on PARENT (a committed snapshot), labelled containerd.io/gc.root so
that GC keeps it. --target prints the mount commands for that path; --mounts prints the mounts as JSON.`
  static override args = {key: Args.string({required: true}), parent: Args.string()}
  static override flags = prepareFlags

  async run(): Promise<void> {
    const {args, flags} = await this.parse(SnapshotsPrepare)
    this.out(await prepareSnapshot(await this.store(), this.namespace(), 'active', args, flags))
  }
}
