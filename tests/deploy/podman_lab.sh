#!/bin/sh
# ctest: builds the image from the tree (deploy/container/build.sh, seconds once reaperd is
# built) and runs it under Podman as the DaemonSet does beside a leaking container
# (deploy/container/podman_lab.sh, about 15 s). Usage: podman_lab.sh BUILD_DIR SOURCE_DIR REAPERD.
# Exit 77 (skip) without podman, runc or gcc, or with a dynamically linked reaperd (the
# sanitizer builds): the image holds the static binary alone.
set -u
build=$1
src=$2
bin=$3
for tool in podman runc gcc readelf; do
  if ! command -v $tool >/dev/null 2>&1; then
    echo "$tool not installed (make test-deps installs podman and runc): skipped" >&2
    exit 77
  fi
done
if readelf -l "$bin" | grep -q 'program interpreter'; then
  echo "$bin is dynamically linked (a sanitizer build?): the image needs the static build: skipped" >&2
  exit 77
fi
tag=localhost/reaperd:ctest-$$
"$src/deploy/container/build.sh" "$build" "$tag" || exit 1
"$src/deploy/container/podman_lab.sh" "$tag"
rc=$?
podman rmi -f "$tag" >/dev/null 2>&1
exit $rc
