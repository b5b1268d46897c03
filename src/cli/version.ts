// The client's name and version, as the build stamped them (BERTH_VERSION, BERTH_REVISION are
// esbuild defines; the unbundled tsc output reports `dev` and `unknown`).

declare const BERTH_VERSION: string | undefined
declare const BERTH_REVISION: string | undefined

/** The package name `ctr --version` prints where containerd prints its Go module path. */
export const PACKAGE = 'berth'

/** The release version (`0.1.0`), or `dev` when not built by scripts/build.mjs. */
export function clientVersion(): string {
  return typeof BERTH_VERSION === 'string' ? BERTH_VERSION : 'dev'
}

/** The git revision the bundle was built from, or `unknown`. */
export function clientRevision(): string {
  return typeof BERTH_REVISION === 'string' ? BERTH_REVISION : 'unknown'
}

/** `ctr -v` / `ctr --version`: `ctr <package> <version>`, as urfave/cli's VersionPrinter in ctr. */
export function versionLine(): string {
  return `ctr ${PACKAGE} ${clientVersion()}\n`
}
