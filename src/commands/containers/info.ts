import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {jsonOnlyFormatFlag} from '../../cli/flags.js'
import {toJson} from '../../cli/output.js'
import {formatRfc3339Nano} from '../../lib/events/format.js'
import {containerExtras, containerSpec} from '../../lib/runtime/index.js'

export default class ContainersInfo extends CtrCommand {
  static override summary = 'get info about a container'
  static override description =
    'Print the container as JSON (ID, Labels, Image, Runtime, SnapshotKey, Snapshotter, CreatedAt, UpdatedAt, Spec, and Berth: pod, network mode, ' +
    'networks, ports and IPs, metadata, WorkDir, RunDir); --spec prints only its runtime spec template.'
  static override args = {id: Args.string({required: true})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())
  static override flags = {spec: Flags.boolean({summary: 'only display the spec'}), format: jsonOnlyFormatFlag}

  async run(): Promise<void> {
    const {args, flags} = await this.parse(ContainersInfo)
    const store = await this.store()
    const ns = this.namespace()
    const c = store.containers.get(ns, args.id)
    const spec = JSON.parse(containerSpec(store, ns, args.id)) as unknown
    if (flags.spec) return this.out(toJson(spec))
    this.out(
      toJson({
        ID: c.id,
        Labels: c.labels,
        Image: c.image,
        Runtime: {Name: c.runtime.name, ...(c.runtime.options !== undefined ? {Options: c.runtime.options} : {})},
        SnapshotKey: c.snapshotKey ?? '',
        Snapshotter: c.snapshotter ?? '',
        CreatedAt: formatRfc3339Nano(c.createdAt),
        UpdatedAt: formatRfc3339Nano(c.updatedAt),
        Extensions: null,
        Spec: spec,
        // Beyond ctr: pod, networks and IPs, seed 004's metadata, work and run dirs.
        Berth: containerExtras(store, ns, args.id),
      }),
    )
  }
}
