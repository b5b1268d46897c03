import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {pushFlags} from '../../cli/flags.js'
import {createProgress} from '../../cli/progress.js'
import {registryOptions} from '../../cli/registry-options.js'
import {pushImage, type PushResult} from '../../lib/push/index.js'

export default class ImagesPush extends CtrCommand {
  static override summary = 'push an image to a registry'
  static override description = `Push an image from the content store to REMOTE: every blob the image needs (all platforms of an
index; with one --platform only that platform's manifest, pushed under the tag), then the manifests,
the root last. Blobs the registry has are skipped, blobs pulled from another repository of the same
registry are mounted from there, the rest are uploaded (--max-concurrent-uploaded-layers at once).
LOCAL defaults to REMOTE. Nothing is sent when a blob is missing locally: fetch it first.`
  static override examples = [
    '<%= config.bin %> images push 127.0.0.1:5000/library/busybox:1',
    '<%= config.bin %> images push --platform linux/amd64 -u me:secret registry.example.com/me/app:1 docker.io/library/alpine:3.20',
  ]
  static override strict = false // as ctr: REMOTE and LOCAL count, the rest is ignored (Args().Get(0), Get(1))
  static override args = {
    remote: Args.string({required: true, description: 'where to push: host/repository[:tag]'}),
    local: Args.string({description: 'the local image (default: REMOTE)'}),
  }
  static override flags = pushFlags

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ImagesPush)
    const store = await this.store()
    const progress = await createProgress({quiet: flags.quiet})
    let result: PushResult | undefined
    // No summary line for a push that failed before it had anything to show (no such image, blobs missing).
    let shown = false
    const listener = (e: Parameters<typeof progress.listener>[0]) => {
      shown = true
      progress.listener(e)
    }
    try {
      result = await pushImage(store, {
        namespace: this.namespace(),
        remote: args.remote,
        ...(args.local === undefined ? {} : {local: args.local}),
        ...(flags.manifest === undefined ? {} : {manifest: {digest: flags.manifest, mediaType: flags['manifest-type']}}),
        platforms: flags.platform ?? [],
        maxConcurrentUploads: flags['max-concurrent-uploaded-layers'],
        allowNonDistributable: flags['allow-non-distributable-blobs'],
        registry: await registryOptions(flags),
        onProgress: listener,
      })
    } finally {
      if (shown) progress.finish(result?.bytesUploaded ?? 0)
    }
  }
}
