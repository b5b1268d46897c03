#!/usr/bin/env bash
# Installs a CRIU that works on this kernel (Debian unstable's criu >= 4.2) into a private prefix,
# touching neither the system's apt configuration nor dpkg's database; idempotent and quiet when present.
#
# Why: Debian 12's criu 3.17 cannot dump on kernels >= 6.13 and Debian 13's 4.1 cannot dump an inet
# socket there; 4.2 can. The recipe: an apt configuration of our own under PREFIX (own source list
# pointing at the mirror the system already uses, suite sid; own state, cache and an empty dpkg
# status so apt resolves the whole closure, libc included), `apt-get install --download-only criu`,
# `dpkg -x` of every .deb into PREFIX/root, and a wrapper PREFIX/bin/criu that runs the binary
# through the bundled dynamic loader with the bundled libraries. Programs CRIU starts (ip, iptables)
# are the host's.
# Usage: install-criu.sh [PREFIX]   (default: <repo>/.criu; Berth looks there after `criu_path`)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix="${1:-${BERTH_CRIU_PREFIX:-$PWD/.criu}}"
wrapper="$prefix/bin/criu"

# Present and working: nothing to do, say nothing.
if [ -x "$wrapper" ] && "$wrapper" --version >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: CRIU is not installed in $prefix; run as root to install it (checkpoint/restore needs it)" >&2
  exit 0
fi
command -v apt-get >/dev/null && command -v dpkg >/dev/null || {
  echo "setup: cannot install CRIU without apt-get and dpkg; install criu >= 4.2 and set criu_path" >&2
  exit 0
}

# The mirror the system already uses (deb822 sources first, then the one-line format).
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  mirror=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /\/debian\/?$/) { print $i; exit } }' "$f")
  [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\/.*\/debian\/?$/) { print $i; exit } }' /etc/apt/sources.list)
fi
if [ -z "$mirror" ]; then
  echo "setup: no Debian mirror found in /etc/apt/sources.list(.d); cannot fetch CRIU" >&2
  exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg

echo "setup: installing CRIU (Debian unstable) into $prefix" >&2
apt_dir="$prefix/apt"
rm -rf "$prefix/root" "$prefix/bin" "$apt_dir"
mkdir -p "$apt_dir/etc/sources.list.d" "$apt_dir/etc/preferences.d" "$apt_dir/state/lists/partial" \
  "$apt_dir/cache/archives/partial" "$prefix/root" "$prefix/bin"
echo "deb [signed-by=$keyring] $mirror sid main" >"$apt_dir/etc/sources.list"
: >"$apt_dir/state/status"
opts=(
  -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
  -o "Dir::Etc::Preferences=$apt_dir/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
  -o "Dir::State=$apt_dir/state"
  -o "Dir::State::status=$apt_dir/state/status"
  -o "Dir::Cache=$apt_dir/cache"
  -o "APT::Install-Recommends=false"
  -o "Debug::NoLocking=true"
)
apt-get "${opts[@]}" update -qq >/dev/null
apt-get "${opts[@]}" install -y -qq --download-only criu >/dev/null
for deb in "$apt_dir"/cache/archives/*.deb; do
  dpkg -x "$deb" "$prefix/root"
done
rm -rf "$apt_dir"  # lists and .debs: ~40 MB nobody needs again

# The library path: every directory in the tree that holds shared objects, relative to the prefix
# so the wrapper keeps working when the checkout moves.
libdirs=$(cd "$prefix/root" && find . -name '*.so*' -path './*lib*' -printf '%h\n' | sort -u | sed 's|^\./|$p/root/|' | paste -sd: -)
loader=$(cd "$prefix/root" && find . -name 'ld-linux-x86-64.so.2' | head -n 1 | sed 's|^\./||')
[ -n "$loader" ] && [ -x "$prefix/root/usr/sbin/criu" ] || {
  echo "setup: the CRIU download is incomplete (no loader or no criu binary in $prefix/root)" >&2
  exit 1
}
cat >"$wrapper" <<EOF
#!/bin/sh
# Runs the privately installed CRIU (Debian unstable) through its own loader and libraries.
p=\$(dirname "\$(readlink -f "\$0")")/..
exec "\$p/root/$loader" --library-path "$libdirs" "\$p/root/usr/sbin/criu" "\$@"
EOF
chmod 755 "$wrapper"
"$wrapper" --version >/dev/null || { echo "setup: the installed CRIU does not run" >&2; exit 1; }
