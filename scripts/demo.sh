#!/usr/bin/env bash
# `npm run demo`: the containerd namespaces seed's story on the default store (root:
# /var/lib/berth, state: /run/berth as root; BERTH_ROOT/BERTH_STATE override), against a local
# registry seeded with an image the project builds itself. It only touches what it creates: the
# namespace `foo` (labelled berth.demo=true), the image 127.0.0.1:<port>/demo/busybox:1 and the
# containers berth-demo-hello, berth-demo-bg, berth-demo-count(2), the checkpoint image
# checkpoint/berth-demo:1, and the pod berth-demo-pod with its containers; the image is also
# exported into a temporary second store (removed again) and pushed as demo/busybox-copy:1.
set -euo pipefail
cd "$(dirname "$0")/.."
ctr() { bin/ctr "$@"; }
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

if ctr ns ls -q | grep -qx foo && ! ctr ns ls -q 'name==foo,labels."berth.demo"==true' | grep -qx foo; then
  echo "demo: a namespace named foo exists and is not the demo's; not touching it" >&2
  exit 1
fi
ctr ns rm --force foo >/dev/null
ctr pods rm --force berth-demo-pod >/dev/null 2>&1 || true
for id in berth-demo-hello berth-demo-bg berth-demo-count berth-demo-count2; do ctr tasks rm -f "$id" >/dev/null 2>&1 || true; ctr containers rm "$id" >/dev/null 2>&1 || true; done

# The registry lives as long as this script holds the pipe to its stdin.
exec 3> >(node scripts/demo-registry.mjs > "${TMPDIR:-/tmp}/berth-demo-registry.$$")
for _ in $(seq 100); do [ -s "${TMPDIR:-/tmp}/berth-demo-registry.$$" ] && break; sleep 0.1; done
host=$(cat "${TMPDIR:-/tmp}/berth-demo-registry.$$")
rm -f "${TMPDIR:-/tmp}/berth-demo-registry.$$"
[ -n "$host" ] || { echo "demo: the local registry did not start" >&2; exit 1; }
ref="$host/demo/busybox:1"
start=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
export -f ctr

echo "Berth demo: namespaces, a shared content store and events, as in containerd's namespaces seed."
echo "A local registry at $host serves $ref, built by this project from Debian's busybox-static."
step ctr namespaces create foo mylabel=bar berth.demo=true
step ctr namespaces ls
echo; echo "# Pull into the default namespace (progress goes to stderr):"
step ctr images pull --print-chainid "$ref"
step ctr images ls
echo; echo "# The pull unpacked the layers into overlayfs snapshots, keyed by chain ID:"
step ctr images check
step ctr snapshots ls
mnt=$(mktemp -d "${TMPDIR:-/tmp}/berth-demo-mnt.XXXXXX")
echo; echo "# Mount the image read-only and look inside (and run its busybox there):"
step ctr images mount "$ref" "$mnt"
step ls "$mnt" "$mnt/bin/busybox"
step chroot "$mnt" /bin/busybox echo "hello from the image's busybox"
step ctr images unmount --rm "$mnt"
rmdir "$mnt"
echo; echo "# Nothing was pulled in foo:"
step env CONTAINERD_NAMESPACE=foo bin/ctr images ls
echo; echo "# Pulling the same image into foo downloads and extracts nothing: blobs and snapshots are shared."
step env CONTAINERD_NAMESPACE=foo bin/ctr images pull "$ref"
step env CONTAINERD_NAMESPACE=foo bin/ctr images ls
step env CONTAINERD_NAMESPACE=foo bin/ctr snapshots ls
step env CONTAINERD_NAMESPACE=foo bin/ctr images rm "$ref"
step env CONTAINERD_NAMESPACE=foo bin/ctr images ls
echo; echo "# It is still in default, which was created by the first write into it:"
step ctr images ls
step ctr namespaces ls
step ctr namespaces rm foo
echo; echo "# default still holds an image, its blobs and snapshots, so it cannot be removed:"
step ctr namespaces rm default || true
echo; echo "# Every change above is an event row; replay them (beyond ctr: --since / --no-follow):"
step ctr events --since "$start" --no-follow
echo; echo "# Run containers from the pulled image (runc; a detached task is watched by conmon, not a daemon):"
runstart=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
step ctr run --rm "$ref" berth-demo-hello sh -c 'echo "hello from a container: $(hostname), pid $$, user $(id -un)"'
step ctr run -d "$ref" berth-demo-bg sh -c 'echo working; sleep 1; echo done; exit 3'
step ctr tasks ls
echo; echo "# The task exits while no ctr runs; conmon records it. wait prints the exit status:"
step ctr tasks wait berth-demo-bg
step ctr tasks logs berth-demo-bg
step ctr tasks rm berth-demo-bg
step ctr containers rm berth-demo-bg
echo; echo "# The task events of those two containers, as ctr prints them:"
step ctr events --since "$runstart" --no-follow 'topic~=/tasks/.+'
echo; echo "# Images travel without a registry: export to an OCI archive, import into a second, empty store, run it there:"
second=$(mktemp -d "${TMPDIR:-/tmp}/berth-demo-second.XXXXXX")
archive="$second/busybox.tar"
step ctr images export "$archive" "$ref"
step tar -tf "$archive"
step ctr --root "$second/root" --state "$second/state" images import "$archive"
step ctr --root "$second/root" --state "$second/state" run --rm "$ref" berth-demo-imported echo "hello from a store that never saw a registry"
for m in $(awk -v d="$second/" 'index($2, d) == 1 {print $2}' /proc/self/mounts | sort -r); do umount "$m"; done
rm -rf "$second"
echo; echo "# And push it under a new name (blobs the registry has are skipped or mounted across repositories):"
step ctr images push "$host/demo/busybox-copy:1" "$ref"
step ctr images push "$host/demo/busybox-copy:1" "$ref"
if ctr info | node -e 'process.exit(JSON.parse(require("fs").readFileSync(0, "utf8")).criu.version ? 0 : 1)'; then
  ctr images rm docker.io/checkpoint/berth-demo:1 >/dev/null 2>&1 || true
  echo; echo "# Checkpoint a counting container into an image with CRIU (seed 002), and restore it as another container:"
  step ctr run -d "$ref" berth-demo-count sh -c 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.2; done'
  sleep 1.5
  step ctr tasks checkpoint --exit --name checkpoint/berth-demo:1 berth-demo-count
  echo "# --exit left it stopped; its output up to the checkpoint:"
  step ctr tasks logs berth-demo-count
  echo; echo "# Checkpoint images are hidden from images ls; the seed's filter lists them:"
  step ctr images ls -q
  step ctr images ls 'labels.containerd."io/checkpoint"==true'
  step ctr containers restore --rw --live berth-demo-count2 checkpoint/berth-demo:1
  sleep 1
  echo "# The restored process goes on counting where the checkpoint stopped it:"
  step ctr tasks logs berth-demo-count2
  step ctr tasks rm -f berth-demo-count2
  for id in berth-demo-count berth-demo-count2; do ctr tasks rm -f "$id" >/dev/null 2>&1 || true; ctr containers rm "$id"; done
  step ctr images rm docker.io/checkpoint/berth-demo:1
else
  echo; echo "# (checkpoint and restore skipped: no usable CRIU; run scripts/setup.sh as root)"
fi
echo; echo "# A pod: namespaces pinned at files (no infra process), Berth's bridge network, a published port:"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
step ctr pods create --hostname web -p "127.0.0.1:$port:8080" --label app=demo berth-demo-pod
step ctr run -d --pod berth-demo-pod "$ref" berth-demo-httpd sh -c 'mkdir -p /www && echo "hello from a pod" > /www/index.html && exec busybox httpd -f -p 8080 -h /www'
echo; echo "# A client in the same pod reaches the server over 127.0.0.1 and sees the pod's hostname:"
step ctr run --rm --pod berth-demo-pod "$ref" berth-demo-client sh -c 'hostname; sleep 0.3; printf "GET / HTTP/1.0\r\n\r\n" | nc 127.0.0.1 8080 | tail -1'
echo; echo "# The host fetches the page through the published port:"
step curl -s --retry 5 --retry-connrefused "http://127.0.0.1:$port/"
step ctr pods ls
echo; echo "# The pod as Kubernetes YAML:"
step ctr pods generate-kube berth-demo-pod
step ctr pods rm --force berth-demo-pod
echo; echo "# Clean up what the demo pulled (garbage collection deletes the blobs and snapshots nobody references):"
step ctr images rm "$ref"
