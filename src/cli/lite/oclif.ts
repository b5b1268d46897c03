// A small, fast stand-in for the parts of @oclif/core that Berth's commands use at run time.
// The bundled CLI is built with `@oclif/core` aliased to this file, so an ordinary invocation
// never loads oclif (which costs more than Node's own start-up here). Help, topic listings and
// anything else oclif renders go through the real oclif (see src/entry/oclif-entry.ts), which
// reads the same command classes. Only the API subset below is supported; the build fails on a
// missing export, and test/unit/cli/lite-parity.test.ts checks parsing against real oclif.

import {describe, InvalidArgument, nameErrorClasses} from '../../lib/errors/index.js'

/** Parse errors, reported as usage errors (exit 2). */
export class ParseError extends InvalidArgument {}
nameErrorClasses({ParseError})

/** Go's strconv.ParseBool, which ctr's (urfave/cli's) boolean flags use for `--flag=value`. */
const BOOLEAN_VALUES: Readonly<Record<string, boolean>> = {
  '1': true,
  t: true,
  T: true,
  TRUE: true,
  true: true,
  True: true,
  '0': false,
  f: false,
  F: false,
  FALSE: false,
  false: false,
  False: false,
}

function booleanValue(flag: string, value: string): boolean {
  const parsed = BOOLEAN_VALUES[value]
  if (parsed === undefined) throw new ParseError(`invalid value ${JSON.stringify(value)} for flag ${flag}: must be a boolean (true, false, 1, 0, t, f)`)
  return parsed
}

/** What the parser knows of the command it parses for, to point at its help. */
export interface ParseContext {
  /** The command id (`namespaces:ls`). */
  readonly id?: string | undefined
}

interface FlagBase {
  name?: string
  char?: string
  summary?: string
  description?: string
  env?: string
  required?: boolean
  hidden?: boolean
  helpGroup?: string
  helpValue?: string
  aliases?: string[]
  multiple?: boolean
  /** Lite parsing is always non-greedy: one value per occurrence, as ctr's flags are. */
  multipleNonGreedy?: boolean
  options?: readonly string[]
  default?: unknown
  allowNo?: boolean
  parse?: (input: string) => Promise<unknown> | unknown
  type: 'boolean' | 'option'
}

type FlagOptions = Omit<FlagBase, 'type'>

function option(opts: FlagOptions, parse?: (input: string) => unknown): FlagBase {
  return {...opts, type: 'option', parse: opts.parse ?? parse}
}

export const Flags = {
  string: (opts: FlagOptions = {}): FlagBase => option(opts),
  boolean: (opts: FlagOptions = {}): FlagBase => ({...opts, type: 'boolean'}),
  integer: (opts: FlagOptions & {min?: number; max?: number} = {}): FlagBase =>
    option(opts, (input) => {
      if (!/^-?\d+$/.test(input)) throw new ParseError('must be an integer')
      const n = Number(input)
      if (opts.min !== undefined && n < opts.min) throw new ParseError(`must be an integer of at least ${opts.min}`)
      if (opts.max !== undefined && n > opts.max) throw new ParseError(`must be an integer of at most ${opts.max}`)
      return n
    }),
}

interface ArgBase {
  name?: string
  description?: string
  required?: boolean
  default?: unknown
  options?: readonly string[]
  hidden?: boolean
}

export const Args = {
  string: (opts: ArgBase = {}): ArgBase => ({...opts}),
}

interface CommandClass {
  flags?: Record<string, FlagBase>
  baseFlags?: Record<string, FlagBase>
  args?: Record<string, ArgBase>
  strict?: boolean
  id?: string
}

export interface ParseOutput {
  flags: Record<string, unknown>
  args: Record<string, unknown>
  argv: string[]
}

/** `unknown flag "--x"` with a "did you mean" (or where to look); the suggestion code loads only here. */
async function unknownFlag(flag: string, defs: Record<string, FlagBase>, context: ParseContext): Promise<ParseError> {
  const names: string[] = []
  for (const [name, def] of Object.entries(defs)) {
    if (def.hidden) continue
    names.push(`--${name}`, ...(def.aliases ?? []).map((a) => `--${a}`))
    if (def.char) names.push(`-${def.char}`)
    if (def.type === 'boolean' && def.allowNo) names.push(`--no-${name}`)
  }
  const {suggestion} = await import('../suggest.js')
  const hint = context.id ? `see "ctr ${context.id.split(':').join(' ')} --help"` : undefined
  return new ParseError(`unknown flag ${JSON.stringify(flag)}${suggestion(flag, names, hint)}`)
}

/**
 * Parse argv against a command's static flags and args the way oclif does, with ctr's habits:
 * flags anywhere among the arguments (up to `--`), `--bool=false` (Go's ParseBool values), and a
 * command's own short flag winning over a global one with the same letter.
 */
export async function parse(argv: readonly string[], cls: CommandClass, context: ParseContext = {}): Promise<ParseOutput> {
  const defs: Record<string, FlagBase> = {...cls.baseFlags, ...cls.flags}
  const byLong = new Map<string, [string, FlagBase]>()
  const byChar = new Map<string, [string, FlagBase]>()
  for (const [name, def] of Object.entries(defs)) {
    byLong.set(name, [name, def])
    for (const alias of def.aliases ?? []) byLong.set(alias, [name, def])
  }
  // Global flags first, so that a command's own letter replaces theirs.
  for (const source of [cls.baseFlags ?? {}, cls.flags ?? {}]) {
    for (const [name, def] of Object.entries(source)) if (def.char) byChar.set(def.char, [name, defs[name]])
  }
  const raw = new Map<string, string[] | boolean>()
  const positional: string[] = []
  const setValue = (name: string, def: FlagBase, value: string) => {
    const prev = raw.get(name)
    if (def.multiple) raw.set(name, [...((prev as string[] | undefined) ?? []), value])
    else raw.set(name, [value])
  }

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]
    if (token === '--') {
      positional.push(...argv.slice(i + 1))
      break
    }
    if (token.startsWith('--') && token.length > 2) {
      const eq = token.indexOf('=')
      const key = token.slice(2, eq < 0 ? undefined : eq)
      const entry = byLong.get(key)
      if (!entry && key.startsWith('no-')) {
        const negated = byLong.get(key.slice(3))
        if (negated && negated[1].type === 'boolean' && negated[1].allowNo) {
          raw.set(negated[0], false)
          continue
        }
      }
      if (!entry) throw await unknownFlag(`--${key}`, defs, context)
      const [name, def] = entry
      if (def.type === 'boolean') {
        raw.set(name, eq >= 0 ? booleanValue(`--${key}`, token.slice(eq + 1)) : true)
      } else if (eq >= 0) setValue(name, def, token.slice(eq + 1))
      else {
        if (i + 1 >= argv.length) throw new ParseError(`flag --${name} expects a value`)
        setValue(name, def, argv[++i])
      }
      continue
    }
    if (token.startsWith('-') && token.length > 1 && !/^-\d/.test(token)) {
      // -q, -n foo, -nfoo, -n=foo, -qa (several booleans), -q=false
      for (let j = 1; j < token.length; j++) {
        const entry = byChar.get(token[j])
        if (!entry) throw await unknownFlag(j === 1 ? token.split('=')[0] : `-${token[j]}`, defs, context)
        const [name, def] = entry
        if (def.type === 'boolean') {
          if (token[j + 1] === '=') {
            raw.set(name, booleanValue(`-${token[j]}`, token.slice(j + 2)))
            break
          }
          raw.set(name, true)
          continue
        }
        let value = token.slice(j + 1)
        if (value.startsWith('=')) value = value.slice(1)
        if (value === '') {
          if (i + 1 >= argv.length) throw new ParseError(`flag --${name} expects a value`)
          value = argv[++i]!
        }
        setValue(name, def, value)
        break
      }
      continue
    }
    positional.push(token)
  }

  const flags: Record<string, unknown> = {}
  for (const [name, def] of Object.entries(defs)) {
    let value = raw.get(name)
    if (value === undefined && def.env && process.env[def.env] !== undefined && process.env[def.env] !== '') {
      value = def.type === 'boolean' ? ['true', '1', 'yes'].includes(process.env[def.env]!.toLowerCase()) : [process.env[def.env]!]
    }
    if (value === undefined) {
      if (def.required) throw new ParseError(`missing required flag --${name}`)
      if (def.default !== undefined) flags[name] = def.default
      continue
    }
    if (typeof value === 'boolean') {
      flags[name] = value
      continue
    }
    const parsed: unknown[] = []
    for (const v of value) {
      const invalid = (why: string) => new ParseError(`invalid value ${JSON.stringify(v)} for flag --${name}: ${why}`)
      if (def.options && !def.options.includes(v)) throw invalid(`must be one of ${def.options.join(', ')}`)
      try {
        parsed.push(def.parse ? await def.parse(v) : v)
      } catch (err) {
        throw invalid(describe(err))
      }
    }
    flags[name] = def.multiple ? parsed : parsed[0]
  }

  const args: Record<string, unknown> = {}
  const argDefs = Object.entries(cls.args ?? {})
  argDefs.forEach(([name, def], index) => {
    const value = positional[index]
    if (value === undefined) {
      if (def.required) throw new ParseError(`missing required argument ${name}`)
      if (def.default !== undefined) args[name] = def.default
      return
    }
    if (def.options && !def.options.includes(value)) throw new ParseError(`expected ${name} ${value} to be one of: ${def.options.join(', ')}`)
    args[name] = value
  })
  if (cls.strict !== false && positional.length > argDefs.length) {
    throw new ParseError(`unexpected argument${positional.length - argDefs.length > 1 ? 's' : ''}: ${positional.slice(argDefs.length).join(', ')}`)
  }
  return {flags, args, argv: positional}
}

/** The subset of oclif's Command the lite runner supports. */
export abstract class Command {
  static id = ''
  static summary?: string
  static description?: string
  static examples?: string[]
  static hidden = false
  static aliases: string[] = []
  static strict = true
  static flags: Record<string, FlagBase> = {}
  static baseFlags: Record<string, FlagBase> = {}
  static args: Record<string, ArgBase> = {}

  id: string | undefined

  constructor(
    public argv: string[],
    public config: unknown = {},
  ) {}

  abstract run(): Promise<unknown>

  protected async init(): Promise<void> {}
  protected async catch(err: Error): Promise<unknown> {
    throw err
  }
  protected async finally(_err: Error | undefined): Promise<unknown> {
    return undefined
  }

  protected async parse(cls?: CommandClass, argv = this.argv): Promise<ParseOutput> {
    return parse(argv, cls ?? (this.constructor as CommandClass), {id: this.id})
  }

  log(message = ''): void {
    process.stdout.write(`${message}\n`)
  }
  logToStderr(message = ''): void {
    process.stderr.write(`${message}\n`)
  }
  warn(input: string | Error): string | Error {
    process.stderr.write(`Warning: ${input instanceof Error ? input.message : input}\n`)
    return input
  }
  error(input: string | Error, options: {exit?: number} = {}): never {
    const err = input instanceof Error ? input : new ParseError(input)
    if (options.exit !== undefined) (err as {oclif?: unknown}).oclif = {exit: options.exit}
    throw err
  }
  exit(code = 0): never {
    const err = new Error(`EEXIT: ${code}`)
    ;(err as {oclif?: unknown}).oclif = {exit: code}
    throw err
  }

  /** Run the lifecycle as oclif does: init, run, catch on error, finally. */
  async _run(): Promise<unknown> {
    let err: Error | undefined
    let result: unknown
    try {
      await this.init()
      result = await this.run()
    } catch (error) {
      err = error as Error
      await this.catch(err)
    } finally {
      await this.finally(err)
    }
    return result
  }
}
