import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {collectGarbage} from '../../lib/store/index.js'
import {warnGcFailures} from '../../cli/gc-report.js'

export default class ContentRm extends CtrCommand {
  static override summary = 'remove blobs from the namespace (aliases: remove, delete, del)'
  static override description = `Removes the namespace's record of each blob; the bytes are deleted once no namespace references them.
An argument that names no blob of the namespace but the ref of an ingest (see content active)
discards that partial download, unless a running process owns it.`
  static override args = {digest: Args.string({required: true, description: 'a digest, or an ingest ref'})}
  static override strict = false // several digests

  async run(): Promise<void> {
    const {argv} = await this.parse(ContentRm)
    const store = await this.store()
    for (const d of argv as string[]) {
      await store.content.remove(this.namespace(), d)
      this.out(`${d}\n`)
    }
    warnGcFailures(await collectGarbage(store))
  }
}
