import {Args} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {attachTask} from '../../lib/runtime/attach.js'

export default class TasksAttach extends RuntimeCommand {
  static override summary = 'attach to the IO of a running container'
  static override description = `Connect this terminal to a detached task through its conmon: the task's output from now on is
printed (stdout to stdout, stderr to stderr) and, for a terminal task (run -d -t), what you type is
its input; a terminal is put in raw mode and its size passed on. ctrl-p ctrl-q detaches (on a
terminal). When the task exits, ctr exits with its status. A foreground task cannot be attached to.`
  static override examples = ['<%= config.bin %> tasks attach shell']
  static override args = {container: Args.string({description: 'container id'})}
  static override strict = false // as ctr: the first id counts, the rest is ignored (Args().First())

  async run(): Promise<void> {
    const {args} = await this.parse(TasksAttach)
    if (!args.container) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    const result = await attachTask(await this.taskRuntime(), args.container, {stdin: process.stdin, stdout: process.stdout, stderr: process.stderr})
    if (result.exitStatus !== undefined && result.exitStatus !== 0) process.exitCode = result.exitStatus
  }
}
