import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {runFetch} from '../../cli/fetch-runner.js'
import {pullFlags} from '../../cli/flags.js'
import {goDuration} from '../../cli/units.js'
import {resolveSnapshotter} from '../../lib/config/index.js'

export default class ImagesPull extends CtrCommand {
  static override summary = 'pull an image from a registry'
  static override description = `Fetch an image and everything it references into the namespace's view of the shared content store,
and unpack the host platform's layers into snapshots while downloading (content fetch only fetches).
Short names are normalized as Docker does (redis -> docker.io/library/redis:latest). Blobs and
unpacked layers another namespace already has are shared without downloading or extracting when
the sharing policy allows; an interrupted pull resumes where it stopped.`
  static override examples = [
    '<%= config.bin %> images pull docker.io/library/redis:latest',
    '<%= config.bin %> -n foo images pull --platform linux/arm64 127.0.0.1:5000/app:1',
  ]
  static override args = {ref: Args.string({required: true, description: 'image reference'})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())
  static override flags = pullFlags

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ImagesPull)
    const store = await this.store()
    // hrtime, not performance.now(): the latter's first use loads perf_hooks, a millisecond of every pull.
    const started = process.hrtime.bigint()
    const result = await runFetch(store, this.namespace(), args.ref, flags, {
      snapshotter: resolveSnapshotter(store.config, flags.snapshotter),
      syncFs: flags['sync-fs'],
    })
    // ctr's --local tail: the unpack happened while downloading, so these lines come last.
    // -q keeps only what was asked for explicitly (the chain IDs).
    let text = ''
    for (const u of result.unpacked) {
      if (!flags.quiet) text += `unpacking ${u.platform} ${result.target.digest}...\n`
      if (flags['print-chainid']) text += `image chain ID: ${u.chainId}\n`
    }
    if (!flags.quiet) text += `done: ${goDuration(Number(process.hrtime.bigint() - started) / 1e6)}\t\n`
    this.out(text)
  }
}
