import {Args} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {setTaskPaused} from '../../lib/runtime/tasks.js'

export default class TasksResume extends RuntimeCommand {
  static override summary = 'resume a paused container'
  static override description = 'Thaw the processes of a paused task; publishes /tasks/resumed.'
  static override args = {container: Args.string({description: 'container id'})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())

  async run(): Promise<void> {
    const {args} = await this.parse(TasksResume)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    await setTaskPaused(await this.taskRuntime(), args.container, false)
  }
}
