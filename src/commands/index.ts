// Every command class, loaded eagerly, for oclif's explicit command strategy (help, manifest).
import {COMMAND_LOADERS} from './registry.js'

export const COMMANDS = Object.fromEntries(await Promise.all(Object.entries(COMMAND_LOADERS).map(async ([id, load]) => [id, (await load()).default] as const)))
