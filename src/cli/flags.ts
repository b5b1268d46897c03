// Flags shared by commands: the global ones (accepted before or after the subcommand) and the
// output format.
import {Flags} from '@oclif/core'

/** Global flags: on every command, and hoisted from before the subcommand by src/cli/argv.ts. */
export const globalFlags = {
  namespace: Flags.string({char: 'n', env: 'CONTAINERD_NAMESPACE', default: 'default', summary: 'namespace to use', helpGroup: 'GLOBAL'}),
  root: Flags.string({env: 'BERTH_ROOT', summary: 'persistent root directory [default: /var/lib/berth]', helpGroup: 'GLOBAL'}),
  state: Flags.string({env: 'BERTH_STATE', summary: 'volatile state directory [default: /run/berth]', helpGroup: 'GLOBAL'}),
  config: Flags.string({env: 'BERTH_CONFIG', summary: 'config file [default: /etc/berth/config.toml]', helpGroup: 'GLOBAL'}),
  debug: Flags.boolean({summary: 'print the cause chain of errors', helpGroup: 'GLOBAL'}),
}

/** Which global flags take a value, by every spelling; used to hoist them. */
export const GLOBAL_VALUE_FLAGS = new Set(['-n', '--namespace', '--root', '--state', '--config'])
export const GLOBAL_BOOLEAN_FLAGS = new Set(['--debug'])

/** `--format table|json` for list and info commands. */
export const formatFlag = Flags.string({summary: 'output format', options: ['table', 'json'], default: 'table'})

/** `-q/--quiet` for list commands: print identifiers only. */
export const quietFlag = Flags.boolean({char: 'q', summary: 'print only the names'})
