// The base of every command: global flags, output helpers, --timeout, and the one place errors
// become `ctr: <message>` and an exit code. Commands that use the store extend CtrCommand
// (base-command.ts); the few that never do (version) extend this one, so that their one-command
// bundle holds none of the store's code.
import {Command} from '@oclif/core'
import {fromSystemError} from '../lib/errors/errno.js'
import {causeChain, describe, Internal, isBerthError, withContext} from '../lib/errors/index.js'
import {validateIdentifier} from '../lib/oci/identifiers.js'
import {endFlagsAfterPositionals, type PositionalCount} from './command-args.js'
import {armDeadline, type Deadline, deadlineExpired} from './deadline.js'
import {exitCodeFor} from './exit-codes.js'
import {globalFlags} from './flags.js'
import {writeStderr, writeStdout} from './stdout.js'

export interface GlobalValues {
  namespace: string
  root: string | undefined
  state: string | undefined
  'berth-config': string | undefined
  debug: boolean
  address?: string | undefined
  timeout?: string | undefined
  'connect-timeout'?: string | undefined
}

export abstract class LightCommand extends Command {
  static override baseFlags = globalFlags

  protected globals: GlobalValues = {namespace: 'default', root: undefined, state: undefined, 'berth-config': undefined, debug: false}
  private deadline: Deadline | undefined

  /** For commands that end with a container command: how many positionals come before it. */
  static commandAfterPositionals: PositionalCount | undefined

  protected override async init(): Promise<void> {
    await super.init()
    const ctor = this.constructor as typeof LightCommand
    if (ctor.commandAfterPositionals !== undefined) {
      this.argv = endFlagsAfterPositionals(this.argv, {...globalFlags, ...ctor.flags}, ctor.commandAfterPositionals)
    }
    const {flags} = await this.parse(this.constructor as typeof LightCommand)
    this.globals = flags
    if (this.globals.debug) noteIgnoredFlags(this.globals)
    if (this.globals.timeout !== undefined) {
      this.deadline = armDeadline(this.globals.timeout, (err) => reportError(err, this.globals.debug))
    }
  }

  /** The namespace this command works in, validated. @throws InvalidArgument. */
  protected namespace(): string {
    try {
      validateIdentifier(this.globals.namespace)
    } catch (err) {
      throw withContext(err, 'namespace validation')
    }
    return this.globals.namespace
  }

  /** Write text to stdout as is (callers add newlines). */
  protected out(text: string): void {
    writeStdout(text)
  }

  protected override async catch(err: Error & {oclif?: {exit?: number}}): Promise<void> {
    if (err.oclif?.exit !== undefined && err.message.startsWith('EEXIT')) {
      process.exitCode = err.oclif.exit
      return
    }
    reportError(err, this.globals.debug)
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    this.deadline?.clear()
    await super.finally(err)
  }
}

/** Under --debug: say that containerd's connection flags were accepted and mean nothing here. */
function noteIgnoredFlags(globals: GlobalValues): void {
  const ignored = (['address', 'connect-timeout'] as const).filter((name) => globals[name] !== undefined).map((name) => `--${name}=${globals[name]}`)
  if (ignored.length > 0) process.stderr.write(`ctr: note: ignored ${ignored.join(' ')}: there is no daemon, every ctr opens the store itself\n`)
}

/** Print `ctr: <message>` (plus the cause chain with --debug) and set the exit code. */
export function reportError(err: unknown, debug: boolean): void {
  if (deadlineExpired()) return // what fails after --timeout passed fails because of it: one line is enough
  // A system or SQLite error that no library wrapped still gets its kind (and exit code) from the
  // one errno table; any other foreign error is an internal error, said as such.
  const foreign = err as {code?: unknown; oclif?: unknown} | null
  if (!isBerthError(err) && foreign?.oclif === undefined) err = typeof foreign?.code === 'string' ? fromSystemError(err) : internalError(err)
  const firstLine = describe(err).split('\n')[0]
  writeStderr(`ctr: ${firstLine}\n`)
  if (debug) for (const line of causeChain(err)) writeStderr(`  ${line}\n`)
  process.exitCode = exitCodeFor(err)
}

/** A JavaScript error (a TypeError, a RangeError) as the user sees it: an internal error, never a raw class name. */
function internalError(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err)
  return new Internal(`internal error: ${message} (run with --debug for the details)`, {cause: err})
}
