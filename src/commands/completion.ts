// `ctr completion bash|zsh|fish`: print the shell's completion script (src/cli/completion.ts).
import {Args} from '@oclif/core'
import {LightCommand} from '../cli/light-command.js'
import {InvalidArgument} from '../lib/errors/index.js'

export default class Completion extends LightCommand {
  static override summary = 'print a shell completion script (bash, zsh, fish)'
  static override description = `Print the completion script for SHELL. The script asks ctr itself for the candidates (the
--generate-bash-completion protocol of ctr's urfave/cli, which Debian's ctr bash completion uses
too): commands, subcommands, flags, and the namespace, image, container, snapshot and lease ids
of the namespace being typed.`
  static override examples = ['source <(<%= config.bin %> completion bash)', '<%= config.bin %> completion fish > ~/.config/fish/completions/ctr.fish']
  static override args = {shell: Args.string({required: true, description: 'bash, zsh or fish'})}

  async run(): Promise<void> {
    const {args} = await this.parse(Completion)
    if (!['bash', 'zsh', 'fish'].includes(args.shell)) throw new InvalidArgument(`unsupported shell ${JSON.stringify(args.shell)}: use bash, zsh or fish`)
    const {completionScript} = await import('../cli/completion.js')
    this.out(completionScript(args.shell))
  }
}
