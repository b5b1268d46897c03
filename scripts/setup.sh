#!/usr/bin/env bash
# Installs what `npm test`, `npm run demo` and `npm run bench` need and builds the CLI.
# Idempotent and quiet when everything is present: Debian packages from scripts/debian-packages.txt
# (root only), npm dependencies when node_modules is missing or older than the lockfile, then the build.
# Usage: setup.sh [LIST ...] — each LIST also installs scripts/debian-packages-LIST.txt
# (`setup.sh bench` adds the benchmark's anchor, containerd).
set -euo pipefail
cd "$(dirname "$0")/.."

lists=(scripts/debian-packages.txt)
for name in "$@"; do
  list="scripts/debian-packages-$name.txt"
  [ -f "$list" ] || { echo "setup: no package list $list" >&2; exit 2; }
  lists+=("$list")
done
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "${lists[@]}" | tr -d ' ')
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run as root to install them" >&2
  else
    echo "setup: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # No package may start a service (containerd ships one): with no policy-rc.d in place,
    # install a temporary one that denies every start (exit 101), and remove it afterwards.
    policy=/usr/sbin/policy-rc.d
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\n# berth setup.sh: start no services while installing\nexit 101\n' >"$policy"
      chmod 755 "$policy"
      trap 'rm -f "$policy"' EXIT
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# CRIU for checkpoint/restore: a private install (Debian unstable's 4.2) under .criu/, see the script.
bash scripts/install-criu.sh || echo "setup: installing CRIU failed; checkpoint and restore will not work" >&2

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

npm run --silent build
