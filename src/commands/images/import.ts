import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {labelFlag, snapshotterFlag} from '../../cli/flags.js'
import {importArchive} from '../../lib/archive/index.js'
import {resolveSnapshotter} from '../../lib/config/index.js'
import {parseLabelArgs} from '../../lib/oci/labels.js'

export default class ImagesImport extends CtrCommand {
  static override summary = 'import images from a tar archive (a file, or - for stdin)'
  static override description = `Import images from an OCI layout archive (oci-layout, index.json, blobs/; skopeo oci-archive:,
buildx --output type=oci) or a Docker archive (docker save, skopeo docker-archive:), streamed: stdin
is never held in memory, and every blob is checked against its digest while it passes. A gzip- or
zstd-compressed archive is decompressed on the fly.

Names are derived as ctr does: a Docker archive's RepoTags (normalized: busybox:latest ->
docker.io/library/busybox:latest); an OCI ref name that is only a tag becomes <base-name>:<tag>
(default base name: import-<yyyy-mm-dd>); --digests adds <base-name>@<digest>; images without a
name are not created. Berth stores every name normalized, as pull and tag do. Each image is
unpacked for the host platform (or --platform) and ctr's "unpacking <name> (<digest>)...done" is
printed. A bad archive (tampered, missing or truncated content, paths leading out) fails with exit
8 and records nothing.`
  static override examples = [
    'docker save app | <%= config.bin %> -n k8s.io images import -',
    '<%= config.bin %> images import --base-name foo/bar --digests foobar.tar',
    '<%= config.bin %> images import --all-platforms --no-unpack multi.tar',
  ]
  static override strict = false // as ctr: the first argument is the archive, the rest is ignored (Args().First())
  static override args = {in: Args.string({required: true, description: 'archive file, or - for stdin'})}
  static override flags = {
    'base-name': Flags.string({summary: 'base image name for added images; when given, only images with this name prefix are imported'}),
    digests: Flags.boolean({summary: 'also name every image <base-name>@<digest>'}),
    'skip-digest-for-named': Flags.boolean({summary: 'with --digests: not for images that have a name in the archive'}),
    'index-name': Flags.string({summary: "name the archive's whole index as this image (by default the index is not kept)"}),
    'all-platforms': Flags.boolean({summary: 'import content for every platform'}),
    platform: Flags.string({summary: 'import content for this platform only (repeatable; default: the host)', multiple: true, multipleNonGreedy: true}),
    'no-unpack': Flags.boolean({summary: 'do not unpack the images'}),
    'compress-blobs': Flags.boolean({summary: 'gzip uncompressed layers when making manifests (Docker archives only)'}),
    'discard-unpacked-layers': Flags.boolean({summary: 'let GC remove layer blobs once they are unpacked (not with --no-unpack)'}),
    'sync-fs': Flags.boolean({summary: 'flush each unpacked layer to disk before recording it'}),
    snapshotter: snapshotterFlag,
    label: labelFlag,
    local: Flags.boolean({summary: 'accepted for ctr compatibility: the import always runs in this process'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ImagesImport)
    const store = await this.store()
    await importArchive(store, {
      namespace: this.namespace(),
      input: args.in,
      baseName: flags['base-name'],
      digests: flags.digests,
      skipDigestForNamed: flags['skip-digest-for-named'],
      indexName: flags['index-name'],
      platforms: flags.platform ?? [],
      allPlatforms: flags['all-platforms'],
      labels: parseLabelArgs(flags.label ?? []),
      compressBlobs: flags['compress-blobs'],
      discardUnpackedLayers: flags['discard-unpacked-layers'],
      unpack: flags['no-unpack'] ? undefined : {snapshotter: resolveSnapshotter(store.config, flags.snapshotter), syncFs: flags['sync-fs']},
      // ctr 1.7's lines: the name and digest before the unpack, `done` after it.
      onUnpack: (e) => this.out(e.phase === 'start' ? `unpacking ${e.name} (${e.digest})...` : 'done\n'),
      onWarning: (message) => process.stderr.write(`WARN: ${message}\n`),
    })
  }
}
