#!/usr/bin/env bash
# The upgrade check's second package (lab/run.sh systemd, issue 14): the tree that `make deb`
# copied into $DEB_OUT/src, given a changelog entry for VERSION+rebuild1 and built again with
# dpkg-buildpackage (a real rebuild: same paths, so ccache makes it cheap). The changelog in
# the copy is put back afterwards; the checkout's debian/changelog is never touched.
#   lab/upgrade-deb.sh        -> build/reaperd_VERSION+rebuild1_amd64.deb
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
OUT=${DEB_OUT:-$REPO/build-deb}
OUT=$(cd "$OUT" 2>/dev/null && pwd) || { echo "upgrade-deb: no $OUT (run make deb first)" >&2; exit 1; }
SRC=$OUT/src
[ -f "$SRC/debian/changelog" ] || { echo "upgrade-deb: no $SRC/debian/changelog (run make deb first)" >&2; exit 1; }
v=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version)
nv=$v+rebuild1
maint=$(dpkg-parsechangelog -l "$SRC/debian/changelog" -S Maintainer)
cp "$SRC/debian/changelog" "$OUT/changelog.orig"
trap 'cp "$OUT/changelog.orig" "$SRC/debian/changelog"' EXIT
{
  printf 'reaperd (%s) unstable; urgency=medium\n\n' "$nv"
  printf '  * Lab upgrade check: the same tree rebuilt as a newer version.\n\n'
  printf ' -- %s  %s\n\n' "$maint" "$(date -R)"
  cat "$OUT/changelog.orig"
} >"$SRC/debian/changelog"
echo "upgrade-deb: dpkg-buildpackage $nv (log: $OUT/upgrade-build.log)" >&2
(cd "$SRC" && DEB_BUILD_OPTIONS="parallel=${JOBS:-2}" dpkg-buildpackage -us -uc -b) \
  >"$OUT/upgrade-build.log" 2>&1 || { tail -20 "$OUT/upgrade-build.log" >&2; exit 1; }
mkdir -p "$REPO/${BUILD:-build}"
cp "$OUT/reaperd_${nv}_amd64.deb" "$REPO/${BUILD:-build}/"
echo "$REPO/${BUILD:-build}/reaperd_${nv}_amd64.deb"
