import {CtrCommand} from '../cli/base-command.js'
import {clientRevision, clientVersion} from '../cli/version.js'
import {InvalidArgument} from '../lib/errors/index.js'
import {SCHEMA_VERSION} from '../lib/store/migrations.js'

export default class Version extends CtrCommand {
  static override summary = 'print the client version'
  static override description = 'Print the version of ctr (Berth). There is no server: every call opens the store itself. `ctr -v` prints the one-line form.'
  static override strict = false // extra arguments get ctr's own error below

  async run(): Promise<void> {
    const {argv} = await this.parse(Version)
    if (argv.length > 0) throw new InvalidArgument(`extra arguments: [${(argv as string[]).join(' ')}]`)
    this.out(`Client:\n  Version:  ${clientVersion()}\n  Revision: ${clientRevision()}\n  Node version: ${process.version}\n  Schema version: ${SCHEMA_VERSION}\n`)
  }
}
