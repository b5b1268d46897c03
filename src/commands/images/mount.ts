import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {snapshotterFlag} from '../../cli/flags.js'
import {parseDuration} from '../../lib/config/index.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {parseReference} from '../../lib/oci/index.js'
import {mountImage} from '../../lib/images/mount.js'

export default class ImagesMount extends CtrCommand {
  static override summary = 'mount an image to a target path'
  static override description = `Unpack the image if needed and mount it at TARGET: read-only (a view), or writable with --rw.
The snapshot is keyed by the target path and kept by a lease for --expiration; \`images unmount --rm\`
removes it. Prints the target.`
  static override examples = ['<%= config.bin %> images mount docker.io/library/busybox:latest /mnt/busybox']
  static override args = {
    ref: Args.string({required: true, description: 'image reference'}),
    target: Args.string({required: true, description: 'mount point (created if missing)'}),
  }
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())
  static override flags = {
    snapshotter: snapshotterFlag,
    rw: Flags.boolean({summary: 'enable write support on the mount'}),
    platform: Flags.string({summary: 'mount the image for the specified platform (default: the host)'}),
    expiration: Flags.string({char: 'x', summary: 'lease expiration of the mount snapshot, e.g. 1h', default: '1h'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ImagesMount)
    const store = await this.store()
    const target = await mountImage(store, {
      namespace: this.namespace(),
      name: parseReference(args.ref).toString(),
      target: args.target,
      snapshotter: resolveSnapshotter(store.config, flags.snapshotter),
      rw: flags.rw,
      platform: flags.platform,
      expirationMs: parseDuration(flags.expiration),
    })
    this.out(`${target}\n`)
  }
}
