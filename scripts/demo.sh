#!/usr/bin/env bash
# `npm run demo`: the seed's walk-through on the default store (root: /var/lib/berth, state:
# /run/berth, as root; BERTH_ROOT/BERTH_STATE override). It only touches the namespaces it
# creates, which carry the label berth.demo=true, and refuses to run over a user's own `foo`.
set -euo pipefail
cd "$(dirname "$0")/.."
ctr() { node bin/run.js "$@"; }
step() { printf '\n\033[1m$ ctr %s\033[0m\n' "$*"; ctr "$@"; }

if ctr ns ls -q | grep -qx foo; then
  if ! ctr ns ls -q 'name==foo,labels."berth.demo"==true' | grep -qx foo; then
    echo "demo: a namespace named foo exists and is not the demo's; not touching it" >&2
    exit 1
  fi
  ctr ns rm --force foo >/dev/null
fi
start=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)

echo "Berth demo: namespaces and events, as in containerd's namespaces seed."
step namespaces create foo mylabel=bar berth.demo=true
step namespaces ls
echo
echo "# A write into a namespace creates it: labelling 'default' brings it into being."
step namespaces label default berth.demo.seen=true
step namespaces ls
echo
echo "# Filters use containerd's syntax:"
step namespaces ls -q 'labels.mylabel==bar'
step namespaces rm foo
step namespaces label default berth.demo.seen=
echo
echo "# Every change above is an event row; replay them (beyond ctr: --since / --no-follow):"
step events --since "$start" --no-follow
step events --since "$start" --no-follow 'topic~=/namespaces/.+,namespace==foo'
