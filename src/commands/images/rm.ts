import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {warn} from '../../cli/output.js'
import {isNotFound} from '../../lib/errors/index.js'
import {parseReference} from '../../lib/oci/index.js'
import {collectGarbage} from '../../lib/store/index.js'
import {warnGcFailures} from '../../cli/gc-report.js'

export default class ImagesRm extends CtrCommand {
  static override summary = 'remove one or more images (aliases: remove, delete, del)'
  static override description =
    "Remove image records and print each removed name; a missing image gets ctr's warning on stderr (`<ref>: image not found`) and does not fail. " +
    'Blobs no namespace reaches any more are deleted at once.'
  static override args = {ref: Args.string({required: true, description: 'image reference'})}
  static override strict = false // several refs
  static override flags = {sync: Flags.boolean({summary: 'accepted for ctr compatibility: garbage is always collected before returning'})}

  async run(): Promise<void> {
    const {argv} = await this.parse(ImagesRm)
    const store = await this.store()
    const ns = this.namespace()
    let removed = 0
    for (const input of argv as string[]) {
      const name = normalize(input)
      try {
        store.images.delete(ns, name)
        removed++
        this.out(`${input}\n`)
      } catch (err) {
        if (!isNotFound(err)) throw err
        warn(`${input}: image not found`) // ctr's warning, not an error: the exit stays 0
      }
    }
    if (removed > 0) warnGcFailures(await collectGarbage(store))
  }
}

/** Stored names are normalized; accept what the user typed too (an unparsable name stays as is). */
function normalize(input: string): string {
  try {
    return parseReference(input).toString()
  } catch {
    return input
  }
}
