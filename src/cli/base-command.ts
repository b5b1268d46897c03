// The base of every command that uses the store: LightCommand's flags, output and errors, plus
// the config file, the lazily opened store (closed when the command ends) and the task runtime.
import {resolve} from 'node:path'
import type {BerthConfig} from '../lib/config/index.js'
import type {TaskRuntime} from '../lib/runtime/tasks.js'
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
      const {defaultRoot, defaultState, openStore} = await import('../lib/store/index.js')
      this.openedStore = await openStore({
        root: this.globals.root ?? defaultRoot(),
        state: this.globals.state ?? defaultState(),
        config: await this.berthConfig(),
      })
    }
    return this.openedStore
  }

  /**
   * The task runtime of this command's namespace. conmon's exit command re-runs this very ctr
   * (same node, same script) on the same root, state and config.
   */
  protected async taskRuntime(ns?: string): Promise<TaskRuntime> {
    const store = await this.store()
    const ctrArgv = [process.execPath, process.argv[1], '--root', resolve(store.root), '--state', resolve(store.state)]
    const config = this.globals['berth-config']
    if (config !== undefined) ctrArgv.push('--berth-config', resolve(config))
    // Loaded on demand: the runtime's module graph (runc, conmon, snapshots) is not every command's.
    const {taskRuntime} = await import('../lib/runtime/tasks.js')
    return taskRuntime(store, ns ?? this.namespace(), ctrArgv)
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    this.openedStore?.close()
    this.openedStore = undefined
    await super.finally(err)
  }
}
