import {createReadStream} from 'node:fs'
import {pipeline} from 'node:stream/promises'
import {Args} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {parseDigest} from '../../lib/oci/index.js'

export default class ContentGet extends CtrCommand {
  static override summary = 'write a blob to stdout'
  static override description = 'Only blobs visible in the namespace can be read: under the isolated policy, knowing a digest grants nothing.'
  static override args = {digest: Args.string({required: true})}
  static override strict = false // several digests

  async run(): Promise<void> {
    const {argv} = await this.parse(ContentGet)
    const store = await this.store()
    const paths = (argv as string[]).map((d) => store.content.path(this.namespace(), parseDigest(d)))
    for (const path of paths) await pipeline(createReadStream(path), process.stdout, {end: false})
  }
}
