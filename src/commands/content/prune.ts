import {Args, Flags} from '@oclif/core'
import {CtrCommand} from '../../cli/base-command.js'
import {warnGcFailures} from '../../cli/gc-report.js'
import {collectGarbage} from '../../lib/store/index.js'

export default class ContentPrune extends CtrCommand {
  static override summary = 'prunes content from the content store'
  static override description =
    `content prune references (containerd's only prune) removes the layer reference labels
(containerd.io/gc.ref.content.l.*) from the namespace's blobs, then collects garbage, ` +
    `as containerd's ctr does: layers stay only while something else holds them.
--async leaves the collection to the next command that collects; --dry changes nothing and logs
each label it would remove (at debug level, on stderr).`
  static override args = {
    what: Args.string({
      required: true,
      options: ['references'],
      description: 'references: prunes preference labels from the content store (layers only by default)',
    }),
  }
  static override strict = false // ctr's subcommand ignores further arguments
  static override flags = {
    async: Flags.boolean({summary: 'Allow garbage collection to cleanup asynchronously'}),
    dry: Flags.boolean({summary: 'Just show updates without applying (enables debug logging)'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(ContentPrune)
    const store = await this.store()
    if (flags.dry) debug('dry run, no changes will be applied')
    const removed = store.content.pruneReferences(this.namespace(), {dryRun: flags.dry})
    for (const r of removed) debug('Removing label', {digest: r.digest, label: r.label})
    // ctr ends with a lease delete that, unless --async, waits for a collection.
    if (!flags.async && !flags.dry) warnGcFailures(await collectGarbage(store, {explain: false}))
  }
}

/** A debug line as ctr's logrus writes it to a pipe. */
function debug(msg: string, fields: Record<string, string> = {}): void {
  const value = (v: string) => (/^[A-Za-z0-9\-._/@^+]+$/.test(v) ? v : JSON.stringify(v))
  const time = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z')
  const rest = Object.entries(fields).map(([k, v]) => ` ${k}=${value(v)}`)
  process.stderr.write(`time="${time}" level=debug msg=${value(msg)}${rest.join('')}\n`)
}
