#!/bin/sh
# Builds the reaperd image from the tree: reaperd (static PIE: the image needs no library),
# stripped, with the default config and the directories it writes, FROM scratch, so nothing
# is downloaded. Usage: deploy/container/build.sh [BUILD_DIR] [TAG]
# (default build, localhost/reaperd:latest). Needs podman or buildah.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
tag=${2:-localhost/reaperd:latest}
cmake --build "$build" --target reaperd
bin=$build/reaperd
if readelf -l "$bin" | grep -q 'Requesting program interpreter'; then
  echo "$bin is dynamically linked: configure with -DREAPERD_STATIC=ON (the default)" >&2
  exit 1
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/rootfs
mkdir -p "$root/usr/sbin" "$root/etc/reaperd" "$root/run/reaperd" "$root/var/lib/reaperd" \
  "$root/tmp" "$root/var/log/pods" "$root/var/lib/node_exporter/textfile_collector"
chmod 1777 "$root/tmp"
objcopy --strip-debug "$bin" "$root/usr/sbin/reaperd"
cp "$build/packaging/reaperd.toml" "$root/etc/reaperd/reaperd.toml"
chmod 0644 "$root/etc/reaperd/reaperd.toml"
cp "$src/deploy/container/Containerfile" "$ctx/Containerfile"
if command -v podman >/dev/null 2>&1; then
  podman build --pull=never -t "$tag" -f "$ctx/Containerfile" "$ctx"
else
  buildah bud --pull-never -t "$tag" -f "$ctx/Containerfile" "$ctx"
fi
