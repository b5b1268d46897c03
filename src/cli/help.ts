// oclif's help with ctr's manners (package.json oclif.helpClass; loaded only for help): usage
// lines in ctr's `[flags] ARGS` form, descriptions wrapped once (to the terminal), and the root
// help lists the global flags, as `ctr --help` does.
import {Help, type Command} from '@oclif/core'
import {globalFlags} from './flags.js'
import {unwrap, usageLine} from './help-text.js'

export default class CtrHelp extends Help {
  override formatCommand(command: Command.Loadable): string {
    const text: Command.Loadable = {...command, usage: usageLine(command.id, command)}
    if (command.description !== undefined) text.description = unwrap(command.description)
    return super.formatCommand(text)
  }

  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    const rows = Object.entries(globalFlags).map(([name, def]) => {
      const d = def as {char?: string; summary?: string; env?: string; type: string}
      const spelled = `${d.char === undefined ? '    ' : `-${d.char}, `}--${name}${d.type === 'option' ? '=<value>' : ''}`
      return [spelled, `${d.summary ?? ''}${d.env === undefined ? '' : ` [env: ${d.env}]`}`] as const
    })
    rows.push(['-h, --help', 'show help'], ['-v, --version', 'print the version'])
    const left = Math.max(...rows.map(([l]) => l.length)) + 2
    const body = rows.map(([l, r]) => this.indent(`${l.padEnd(left)}${this.wrap(r, left + 2).replaceAll('\n', `\n${' '.repeat(left)}`)}`)).join('\n')
    this.log(`GLOBAL FLAGS\n${body}\n`)
  }
}
