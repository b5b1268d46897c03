import {CtrCommand} from '../cli/base-command.js'
import {jsonOnlyFormatFlag} from '../cli/flags.js'
import {toJson} from '../cli/output.js'
import {SCHEMA_VERSION, storedSchemaVersion} from '../lib/store/index.js'

export default class Info extends CtrCommand {
  static override summary = 'print information about the store'
  static override description =
    'Print the root and state directories, schema version, content sharing policy, object counts and the CRIU in use (with the result of `criu check`) as JSON.'
  static override strict = false // as ctr: arguments are ignored
  static override flags = {format: jsonOnlyFormatFlag}

  async run(): Promise<void> {
    await this.parse(Info)
    const store = await this.store()
    const config = store.config
    this.out(
      toJson({
        root: store.root,
        state: store.state,
        config: config.source ?? null,
        schemaVersion: storedSchemaVersion(store.db),
        supportedSchemaVersion: SCHEMA_VERSION,
        contentSharingPolicy: config.contentSharingPolicy,
        defaultSnapshotter: config.defaultSnapshotter,
        eventRetention: {maxRows: config.eventRetentionRows, maxAgeSeconds: config.eventRetentionSeconds},
        counts: store.counts(),
        criu: (await import('../lib/checkpoint/criu.js')).criuInfo(config),
      }),
    )
  }
}
