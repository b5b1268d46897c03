import {LightCommand} from '../cli/light-command.js'
import {formatFlag} from '../cli/flags.js'
import {toJson} from '../cli/output.js'
import {clientRevision, clientVersion} from '../cli/version.js'
import {InvalidArgument} from '../lib/errors/index.js'
import {SCHEMA_VERSION} from '../lib/store/schema-version.js'

export default class Version extends LightCommand {
  static override summary = 'print the client version'
  static override description = 'Print the version of ctr (Berth). There is no server: every call opens the store itself. `ctr -v` prints the one-line form.'
  static override flags = {format: formatFlag}
  static override strict = false // extra arguments get ctr's own error below

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Version)
    if (argv.length > 0) throw new InvalidArgument(`extra arguments: [${(argv as string[]).join(' ')}]`)
    if (flags.format === 'json') {
      return this.out(toJson({client: {version: clientVersion(), revision: clientRevision(), nodeVersion: process.version, schemaVersion: SCHEMA_VERSION}}))
    }
    this.out(
      `Client:\n  Version:  ${clientVersion()}\n  Revision: ${clientRevision()}\n  Node version: ${process.version}\n  Schema version: ${SCHEMA_VERSION}\n`,
    )
  }
}
