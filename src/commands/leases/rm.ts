import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {collectGarbage} from '../../lib/store/index.js'
import {warnGcFailures} from '../../cli/gc-report.js'

export default class LeasesRm extends CtrCommand {
  static override summary = 'remove leases (aliases: remove, delete, del)'
  static override args = {id: Args.string({required: true})}
  static override strict = false // several ids
  static override flags = {sync: Flags.boolean({summary: 'accepted for ctr compatibility: garbage is always collected before returning'})}

  async run(): Promise<void> {
    const {argv} = await this.parse(LeasesRm)
    const store = await this.store()
    for (const id of argv as string[]) {
      store.leases.delete(this.namespace(), id)
      this.out(`${id}\n`)
    }
    warnGcFailures(await collectGarbage(store))
  }
}
