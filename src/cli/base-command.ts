// The base of every command that uses the store: LightCommand's flags, output and errors, plus
// the config file and the lazily opened store (closed when the command ends). Commands that run
// tasks extend RuntimeCommand (runtime-command.ts), which adds the task runtime.
import type {BerthConfig} from '../lib/config/index.js'
import type {Store} from '../lib/store/index.js'
import {LightCommand} from './light-command.js'

export {reportError} from './light-command.js'

export abstract class CtrCommand extends LightCommand {
  private openedStore: Store | undefined
  private loadedConfig: BerthConfig | undefined

  /** The config file's settings, loaded once. */
  protected async berthConfig(): Promise<BerthConfig> {
    const {loadConfig} = await import('../lib/config/index.js')
    this.loadedConfig ??= await loadConfig(this.globals['berth-config'])
    return this.loadedConfig
  }

  /** The store, opened on first use and closed when the command ends. */
  protected async store(): Promise<Store> {
    if (!this.openedStore) {
      // Loaded on first use: start-up does not initialize the store's module graph before the
      // command asks for it (and a usage error never does).
      const [{defaultRoot, defaultState}, {openStore}] = await Promise.all([import('../lib/store/paths.js'), import('../lib/store/store.js')])
      this.openedStore = await openStore({
        root: this.globals.root ?? defaultRoot(),
        state: this.globals.state ?? defaultState(),
        config: await this.berthConfig(),
      })
    }
    return this.openedStore
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    this.openedStore?.close()
    this.openedStore = undefined
    await super.finally(err)
  }
}
