import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {snapshotterFlag} from '../../cli/flags.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {unmountImage} from '../../lib/images/mount.js'

export default class ImagesUnmount extends CtrCommand {
  static override summary = 'unmount the image from the target'
  static override description = 'Unmount everything mounted at TARGET; with --rm also remove the snapshot the mount used. Prints the target.'
  static override args = {target: Args.string({required: true})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())
  static override flags = {snapshotter: snapshotterFlag, rm: Flags.boolean({summary: 'remove the snapshot after a successful unmount'})}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ImagesUnmount)
    const store = await this.store()
    const target = unmountImage(store, {
      namespace: this.namespace(),
      target: args.target,
      snapshotter: resolveSnapshotter(store.config, flags.snapshotter),
      remove: flags.rm,
    })
    this.out(`${target}\n`)
  }
}
