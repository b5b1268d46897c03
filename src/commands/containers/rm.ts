import {Flags} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {deleteTaskOfContainer, removeContainer} from '../../lib/runtime/index.js'

export default class ContainersRm extends RuntimeCommand {
  static override summary = 'delete one or more existing containers'
  static override description = 'Delete containers and, unless --keep-snapshot, their snapshots. A stopped task is deleted first; a running one refuses.'
  static override strict = false // ids
  static override flags = {'keep-snapshot': Flags.boolean({summary: 'do not clean up the snapshot with the container'})}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(ContainersRm)
    const ids = argv as string[]
    if (ids.length === 0) throw new InvalidArgument('must specify at least one container to delete', {suffixKind: true})
    const rt = await this.taskRuntime()
    for (const id of ids) {
      rt.store.containers.get(rt.ns, id)
      await deleteTaskOfContainer(rt, id) // a stopped task goes first; a running one refuses
      removeContainer(rt.store, rt.ns, id, {keepSnapshot: flags['keep-snapshot']})
    }
  }
}
