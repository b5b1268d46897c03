import {Args, Flags} from '@oclif/core'
import {reportError} from '../../cli/base-command.js'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {isNotFound, withContext} from '../../lib/errors/index.js'
import {deleteAllTasks} from '../../lib/runtime/tasks.js' // not the index: rm needs no image code
import {collectGarbage} from '../../lib/store/index.js'
import {warnGcFailures} from '../../cli/gc-report.js'

export default class NamespacesRm extends RuntimeCommand {
  static override summary = 'remove one or more namespaces (aliases: remove, delete, del)'
  static override description =
    'Remove namespaces. A namespace must be empty unless --force is given, which kills its tasks and removes everything it owns first. Each ' +
    'removed name is printed; a name that does not exist is printed too, as ctr does.'
  static override examples = ['<%= config.bin %> namespaces rm foo', '<%= config.bin %> namespaces rm --force foo']
  static override args = {name: Args.string({required: true, description: 'namespace name'})}
  static override strict = false // several names
  static override flags = {force: Flags.boolean({char: 'f', summary: 'remove the namespace together with everything it owns'})}

  async run(): Promise<void> {
    const {flags, argv} = await this.parse(NamespacesRm)
    const store = await this.store()
    let firstExitCode: number | undefined
    for (const name of argv as string[]) {
      try {
        if (flags.force && store.pods.list(name).length > 0) {
          // Pods go with their members, networks and pinned namespaces.
          const {removeAllPods} = await import('../../lib/pods/index.js')
          await removeAllPods(await this.taskRuntime(name))
        }
        if (flags.force && store.tasks.list(name).length > 0) await deleteAllTasks(await this.taskRuntime(name))
        store.namespaces.remove(name, {force: flags.force})
      } catch (err) {
        if (!isNotFound(err)) {
          // Report each failure and go on with the next name; exit with the first one's code.
          reportError(withContext(err, `unable to delete ${name}`), this.globals.debug)
          firstExitCode ??= process.exitCode as number
          continue
        }
      }
      this.out(`${name}\n`)
    }
    if (flags.force) warnGcFailures(await collectGarbage(store)) // what the namespaces owned and nobody else reaches
    if (firstExitCode !== undefined) process.exitCode = firstExitCode
  }
}
