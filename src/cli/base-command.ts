// The base of every command: global flags, the lazily opened store, output helpers, and the one
// place errors become `ctr: <message>` and an exit code.
import {Command} from '@oclif/core'
import {type BerthConfig, loadConfig} from '../lib/config/index.js'
import {causeChain, describe, withContext} from '../lib/errors/index.js'
import {validateIdentifier} from '../lib/oci/identifiers.js'
import {defaultRoot, defaultState, openStore, type Store} from '../lib/store/index.js'
import {exitCodeFor} from './exit-codes.js'
import {globalFlags} from './flags.js'

interface GlobalValues {
  namespace: string
  root: string | undefined
  state: string | undefined
  config: string | undefined
  debug: boolean
}

export abstract class CtrCommand extends Command {
  static override baseFlags = globalFlags

  protected globals: GlobalValues = {namespace: 'default', root: undefined, state: undefined, config: undefined, debug: false}
  private openedStore: Store | undefined
  private loadedConfig: BerthConfig | undefined

  protected override async init(): Promise<void> {
    await super.init()
    const {flags} = await this.parse(this.constructor as typeof CtrCommand)
    this.globals = flags as unknown as GlobalValues
  }

  /** The namespace this command works in, validated. @throws InvalidArgument. */
  protected namespace(): string {
    try {
      validateIdentifier(this.globals.namespace)
    } catch (err) {
      throw withContext(err, 'namespace validation')
    }
    return this.globals.namespace
  }

  /** The config file's settings, loaded once. */
  protected async berthConfig(): Promise<BerthConfig> {
    this.loadedConfig ??= await loadConfig(this.globals.config)
    return this.loadedConfig
  }

  /** The store, opened on first use and closed when the command ends. */
  protected async store(): Promise<Store> {
    if (!this.openedStore) {
      this.openedStore = await openStore({
        root: this.globals.root ?? defaultRoot(),
        state: this.globals.state ?? defaultState(),
        config: await this.berthConfig(),
      })
    }
    return this.openedStore
  }

  /** Write text to stdout as is (callers add newlines). */
  protected out(text: string): void {
    if (text !== '') process.stdout.write(text)
  }

  protected override async catch(err: Error & {oclif?: {exit?: number}}): Promise<void> {
    if (err.oclif?.exit !== undefined && err.message.startsWith('EEXIT')) {
      process.exitCode = err.oclif.exit
      return
    }
    reportError(err, this.globals.debug)
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    this.openedStore?.close()
    this.openedStore = undefined
    await super.finally(err)
  }
}

/** Print `ctr: <message>` (plus the cause chain with --debug) and set the exit code. */
export function reportError(err: unknown, debug: boolean): void {
  const firstLine = describe(err).split('\n')[0]
  process.stderr.write(`ctr: ${firstLine}\n`)
  if (debug) for (const line of causeChain(err)) process.stderr.write(`  ${line}\n`)
  process.exitCode = exitCodeFor(err)
}
