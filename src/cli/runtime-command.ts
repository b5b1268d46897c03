// The base of the commands that create, run, stop or look at tasks: CtrCommand plus the task
// runtime. A class of its own so that the runtime's module graph (runc, conmon, CNI, reconcile: a
// quarter of a command bundle) is carried only by the bundles of these commands, not by
// `namespaces ls` or `images ls`.
import {resolve} from 'node:path'
import type {TaskRuntime} from '../lib/runtime/tasks.js'
import {CtrCommand} from './base-command.js'

export abstract class RuntimeCommand extends CtrCommand {
  /**
   * The task runtime of this command's namespace. conmon's exit command re-runs this very ctr
   * (same node, same script) on the same root, state and config.
   */
  protected async taskRuntime(ns?: string): Promise<TaskRuntime> {
    const store = await this.store()
    const ctrArgv = [process.execPath, process.argv[1], '--root', resolve(store.root), '--state', resolve(store.state)]
    const config = this.globals['berth-config']
    if (config !== undefined) ctrArgv.push('--berth-config', resolve(config))
    const {taskRuntime} = await import('../lib/runtime/tasks.js')
    return taskRuntime(store, ns ?? this.namespace(), ctrArgv)
  }
}
