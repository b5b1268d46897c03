// containerd's distribution-source labels: `containerd.io/distribution.source.<registry hostname>` on a blob names
// the repositories (sorted, comma-joined) it was fetched from, so that a push to another repository of the same
// registry can mount it instead of uploading it. Pure functions; the key leaves out the port, as containerd's does.
import type {ImageReference} from '../oci/index.js'

/** The label key prefix containerd uses (`labels.LabelDistributionSource`). */
export const DISTRIBUTION_SOURCE_PREFIX = 'containerd.io/distribution.source'

/** The hostname of a registry domain, without port (`127.0.0.1:5000` -> `127.0.0.1`, `[::1]:5000` -> `[::1]`). */
function hostnameOf(domain: string): string {
  try {
    return new URL(`dummy://${domain}`).hostname
  } catch {
    return domain.replace(/:\d+$/, '')
  }
}

/** The label key recording the repositories of `domain` a blob came from. Never throws. */
export function distributionSourceKey(domain: string): string {
  return `${DISTRIBUTION_SOURCE_PREFIX}.${hostnameOf(domain)}`
}

/** `current` (a comma-joined list, possibly empty) with `repo` added, sorted and without duplicates. Never throws. */
export function appendDistributionSource(current: string | undefined, repo: string): string {
  const repos = new Set((current ?? '').split(',').filter((r) => r !== ''))
  repos.add(repo)
  return [...repos].sort().join(',')
}

/**
 * The repository to mount a blob from when pushing to `target`: among the repositories its labels name on the same
 * registry (other than the target itself), the one sharing the most leading path components with the target; ties go
 * to the last in the sorted list, as containerd picks. Undefined when there is none. Never throws.
 */
export function selectMountCandidate(target: ImageReference, labels: Readonly<Record<string, string>> | undefined): string | undefined {
  const value = labels?.[distributionSourceKey(target.domain)]
  if (value === undefined || value === '') return undefined
  const components = target.path.split('/')
  let best: string | undefined
  let bestLength = 0
  for (const repo of value.split(',')) {
    if (repo === '' || repo === target.path) continue
    const other = repo.split('/')
    let n = 0
    while (n < components.length && n < other.length && components[n] === other[n]) n++
    if (n >= bestLength) {
      bestLength = n
      best = repo
    }
  }
  return best
}
