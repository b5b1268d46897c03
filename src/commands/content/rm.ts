import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {parseDigest} from '../../lib/oci/index.js'
import {collectGarbage} from '../../lib/store/index.js'
import {warnGcFailures} from '../../cli/gc-report.js'

export default class ContentRm extends CtrCommand {
  static override summary = 'remove blobs from the namespace (aliases: remove, delete, del)'
  static override description = 'Removes the namespace\'s record of each blob; the bytes are deleted once no namespace references them.'
  static override args = {digest: Args.string({required: true})}
  static override strict = false // several digests

  async run(): Promise<void> {
    const {argv} = await this.parse(ContentRm)
    const store = await this.store()
    for (const d of argv as string[]) {
      store.content.delete(this.namespace(), parseDigest(d))
      this.out(`${d}\n`)
    }
    warnGcFailures(await collectGarbage(store))
  }
}
