import {Args, Flags} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {recordExec} from '../../lib/runtime/exec.js'
import {recordExit} from '../../lib/runtime/tasks.js'

export default class TasksCleanup extends RuntimeCommand {
  static override hidden = true
  static override summary = "record a task's exit and clean up (conmon's exit command)"
  static override description = `Run by conmon after the process it monitors exited (for a task whose teardown is plain, conmon runs
berth-exit instead, which hands over to this command when anything surprises it): records the exit
status conmon wrote, publishes /tasks/exit (and /tasks/oom), unmounts the rootfs and removes runc's
state. Only the run named by --instance is touched. Podman's "container cleanup" plays the same part.`
  static override args = {container: Args.string({description: 'container id'})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())
  static override flags = {
    instance: Flags.string({summary: 'the task run this exit belongs to', required: true}),
    'exec-id': Flags.string({summary: "the exec'd process that exited"}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(TasksCleanup)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    const rt = await this.taskRuntime()
    if (flags['exec-id']) await recordExec(rt, args.container, flags.instance, flags['exec-id'])
    else await recordExit(rt, args.container, flags.instance)
  }
}
