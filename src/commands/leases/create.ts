import {Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {parseDuration} from '../../lib/config/index.js'
import {parseLabelArgs} from '../../lib/oci/labels.js'

export default class LeasesCreate extends CtrCommand {
  static override summary = 'create a lease'
  static override description = 'Create a lease and print its id. It expires after --expires (default 24h; 0 never expires).'
  static override strict = false // labels
  static override flags = {
    id: Flags.string({summary: 'lease id (default: generated)'}),
    expires: Flags.string({char: 'x', summary: 'expiration, a duration such as 24h; 0 never expires', default: '24h'}),
  }

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(LeasesCreate)
    const ms = flags.expires === '0' ? 0 : parseDuration(flags.expires)
    const store = await this.store()
    const lease = store.leases.create(this.namespace(), {
      id: flags.id,
      labels: parseLabelArgs(argv as string[]),
      expiresAt: ms === 0 ? null : Date.now() * 1000 + ms * 1000,
    })
    this.out(`${lease.id}\n`)
  }
}
