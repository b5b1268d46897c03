// Turns the registry flags of a command into the registry client's options.
import type {RegistryOptions} from '../lib/pull/index.js'
import {resolveUser} from './prompt.js'

interface RegistryFlagValues {
  'plain-http'?: boolean
  'skip-verify'?: boolean
  tlscacert?: string[]
  user?: string
  'hosts-dir'?: string
}

export async function registryOptions(flags: RegistryFlagValues): Promise<RegistryOptions> {
  return {
    plainHttp: flags['plain-http'] ?? false,
    skipVerify: flags['skip-verify'] ?? false,
    tlsCaCert: flags.tlscacert ?? [],
    user: await resolveUser(flags.user),
    hostsDir: flags['hosts-dir'],
  }
}
