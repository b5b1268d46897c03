import {RuntimeCommand} from '../../cli/runtime-command.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {startPod} from '../../lib/pods/index.js'

export default class PodsStart extends RuntimeCommand {
  static override summary = 'start pods'
  static override description =
    "Bring each pod's namespaces up again (pins, networks) if they are down, then start every member whose task is not running (a stopped task is " +
    'deleted first).'
  static override strict = false // pods

  async run(): Promise<void> {
    const {argv} = await this.parse(PodsStart)
    if (argv.length === 0) throw new InvalidArgument('must specify at least one pod', {suffixKind: true})
    const rt = await this.taskRuntime()
    for (const ref of argv as string[]) await startPod(rt, ref)
  }
}
