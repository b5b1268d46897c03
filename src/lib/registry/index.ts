// Public API of the registry client used by the pull and push pipelines: `createRegistry()`, its types and the
// distribution-source labels; hosts, auth, credentials and transport stay private.
import {createRegistryClient} from './registry.js'
import type {Registry, RegistryOptions} from './types.js'

export type {BlobSource, PushBlobOptions, PushBlobOutcome, PushManifestOptions, Registry, RegistryOptions, Resolved} from './types.js'
export {DISTRIBUTION_SOURCE_PREFIX, appendDistributionSource, distributionSourceKey, selectMountCandidate} from './distribution-source.js'
export {DEFAULT_HOSTS_DIR} from './hosts.js'
export {DEFAULT_USER_AGENT, isResumableError} from './registry.js'

/**
 * Create a registry client. Nothing is read (hosts.toml, credentials, CA files) or contacted until the first call;
 * config problems surface there as InvalidArgument.
 * @returns a client with its own token cache, connection pool and statistics.
 */
export function createRegistry(options: RegistryOptions = {}): Registry {
  return createRegistryClient(options)
}
