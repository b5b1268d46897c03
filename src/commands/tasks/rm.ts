import {Flags} from '@oclif/core'
import {reportError} from '../../cli/base-command.js'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {warn} from '../../cli/output.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {deleteExec} from '../../lib/runtime/exec.js'
import {deleteTask} from '../../lib/runtime/tasks.js'

export default class TasksRm extends RuntimeCommand {
  static override summary = 'delete one or more tasks'
  static override description = `Delete stopped tasks: their runc state, mounts and files. --force kills a running task first. A
non-zero exit status is reported on stderr, as ctr does. With --exec-id, delete that exec'd process.`
  static override examples = ['<%= config.bin %> tasks rm web', '<%= config.bin %> tasks rm -f web']
  static override strict = false // ids
  static override flags = {
    force: Flags.boolean({char: 'f', summary: 'force delete task process'}),
    'exec-id': Flags.string({summary: 'process ID to kill'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(TasksRm)
    const ids = argv as string[]
    if (ids.length === 0) throw new InvalidArgument('container id must be provided', {suffixKind: true})
    const rt = await this.taskRuntime()
    let firstExitCode: number | undefined
    // With --exec-id ctr deletes that process of the first container only (Args().First()).
    for (const id of flags['exec-id'] ? ids.slice(0, 1) : ids) {
      try {
        const removed = flags['exec-id'] ? await deleteExec(rt, id, flags['exec-id'], {force: flags.force}) : await deleteTask(rt, id, {force: flags.force})
        if (removed.exitStatus !== undefined && removed.exitStatus !== 0) warn(`task ${id} exit with non-zero exit code ${removed.exitStatus}`)
      } catch (err) {
        reportError(err, this.globals.debug)
        firstExitCode ??= process.exitCode as number
      }
    }
    if (firstExitCode !== undefined) process.exitCode = firstExitCode
  }
}
