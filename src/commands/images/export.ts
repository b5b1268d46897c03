import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {registryFlags} from '../../cli/flags.js'
import {registryOptions} from '../../cli/registry-options.js'
import {exportArchive} from '../../lib/archive/index.js'
import {InvalidArgument} from '../../lib/errors/index.js'

export default class ImagesExport extends CtrCommand {
  static override summary = 'export images to an OCI archive (a file, or - for stdout)'
  static override description = `Write the images as an OCI layout tar (oci-layout, index.json naming each image with the
io.containerd.image.name and org.opencontainers.image.ref.name annotations, blobs/sha256/...), as
containerd's ctr does, plus Docker's manifest.json (unless --skip-manifest-json) so that docker load
reads it too. Only the host platform's manifest of a multi-platform image is exported unless
--platform or --all-platforms says otherwise. Blobs the store lacks (a platform never pulled) are
fetched from the image's registry first (the registry flags apply), or the export fails naming
them. A file OUT appears only once complete.`
  static override examples = [
    '<%= config.bin %> images export app.tar docker.io/library/app:1',
    '<%= config.bin %> images export --platform linux/arm64 - app:1 | ssh host ctr images import -',
  ]
  static override args = {
    out: Args.string({description: 'archive file, or - for stdout'}),
    image: Args.string({description: 'image reference (several may be given)'}),
  }
  static override strict = false // several images
  static override flags = {
    'skip-manifest-json': Flags.boolean({summary: "do not add Docker's manifest.json"}),
    'skip-non-distributable': Flags.boolean({summary: 'leave out non-distributable blobs such as Windows layers'}),
    platform: Flags.string({summary: 'export content of this platform (repeatable; default: the host)', multiple: true, multipleNonGreedy: true}),
    'all-platforms': Flags.boolean({summary: 'export content of every platform'}),
    local: Flags.boolean({summary: 'accepted for ctr compatibility: the export always runs in this process'}),
    ...registryFlags,
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(ImagesExport)
    const [out, ...names] = argv as string[]
    if (out === undefined || names.length === 0) throw new InvalidArgument('please provide both an output filename and an image reference to export')
    await exportArchive(await this.store(), {
      namespace: this.namespace(),
      output: out,
      names,
      platforms: flags.platform ?? [],
      allPlatforms: flags['all-platforms'],
      skipManifestJson: flags['skip-manifest-json'],
      skipNonDistributable: flags['skip-non-distributable'],
      registry: await registryOptions(flags),
      onFetch: (e) => process.stderr.write(`fetching ${e.count} missing blob${e.count === 1 ? '' : 's'} of ${e.name}\n`),
    })
  }
}
