import {Flags} from '@oclif/core'
import {RuntimeCommand} from '../../cli/runtime-command.js'
import {InvalidArgument} from '../../lib/errors/index.js'
import {removePod} from '../../lib/pods/index.js'

export default class PodsRm extends RuntimeCommand {
  static override summary = 'remove pods'
  static override description =
    'Remove pods: their networks, pinned namespaces and records. A pod with containers is refused unless --force, which kills and removes them ' +
    '(tasks, records, snapshots) first.'
  static override strict = false // pods
  static override flags = {force: Flags.boolean({char: 'f', summary: 'remove the pod with its containers'})}

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(PodsRm)
    if (argv.length === 0) throw new InvalidArgument('must specify at least one pod', {suffixKind: true})
    const rt = await this.taskRuntime()
    for (const ref of argv as string[]) await removePod(rt, ref, {force: flags.force})
  }
}
