import {CtrCommand} from '../cli/base-command.js'
import {SCHEMA_VERSION} from '../lib/store/migrations.js'

declare const BERTH_VERSION: string | undefined
declare const BERTH_REVISION: string | undefined

export default class Version extends CtrCommand {
  static override summary = 'print the client version'
  static override description = 'Print the version of ctr (Berth). There is no server: every call opens the store itself.'

  async run(): Promise<void> {
    await this.parse(Version)
    const version = typeof BERTH_VERSION === 'string' ? BERTH_VERSION : 'dev'
    const revision = typeof BERTH_REVISION === 'string' ? BERTH_REVISION : 'unknown'
    this.out(`Client:\n  Version:  ${version}\n  Revision: ${revision}\n  Node version: ${process.version}\n  Schema version: ${SCHEMA_VERSION}\n`)
  }
}
