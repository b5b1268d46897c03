import {Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {toJson} from '../../cli/output.js'
import {NotImplemented} from '../../lib/errors/index.js'
import {formatPlatform, parsePlatform} from '../../lib/oci/platform.js'
import {defaultSpec, readHostFacts} from '../../lib/runtime/index.js'

export default class OciSpec extends CtrCommand {
  static override summary = 'see the output of the default OCI spec'
  static override description = `Print the runtime spec every container starts from, as JSON with ctr's 4-space indent
(containerd's oci.GenerateSpec): no command yet, containerd's default capabilities, mounts,
namespaces, masked and read-only paths, and the cgroup parent of the namespace.`
  static override strict = false // as ctr: arguments are ignored
  static override flags = {platform: Flags.string({summary: 'platform of the spec (linux only: Berth runs Linux containers)'})}

  async run(): Promise<void> {
    const {flags} = await this.parse(OciSpec)
    if (flags.platform !== undefined && parsePlatform(flags.platform).os !== 'linux') {
      throw new NotImplemented(`platform ${JSON.stringify(formatPlatform(parsePlatform(flags.platform)))}: only linux specs are supported`, {suffixKind: true})
    }
    this.out(toJson(defaultSpec(this.namespace(), readHostFacts())))
  }
}
