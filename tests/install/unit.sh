#!/bin/bash
# `systemd-analyze verify` accepts the installed unit: installed with PREFIX=/usr into a
# staging root, then verified against this host's systemd (--root would need a whole systemd
# tree in the stage), with ExecStart pointed at the staged binary, which is the one change,
# and the staged man pages on MANPATH so the Documentation= lines are checked too. Skips (77) where systemd-analyze is missing or
# cannot run in this container.
# Usage: unit.sh BUILD_DIR SOURCE_DIR REAPERD_BINARY
set -u
build=$(cd "$1" && pwd) src=$2
command -v systemd-analyze > /dev/null || { echo "SKIP: systemd-analyze missing (apt-get install systemd)" >&2; exit 77; }
stage=$build/unit-test-$$
trap 'rm -rf "$stage"' EXIT
DESTDIR=$stage cmake --install "$build" --prefix /usr > "$stage.log" 2>&1 ||
  { echo "FAIL: cmake --install: $(cat "$stage.log")" >&2; rm -f "$stage.log"; exit 1; }
rm -f "$stage.log"
installed=$stage/usr/lib/systemd/system/reaperd.service
grep -qx 'ExecStart=/usr/sbin/reaperd run --config /etc/reaperd/reaperd.toml' "$installed" ||
  { echo "FAIL: unexpected ExecStart in $installed" >&2; exit 1; }
mkdir -p "$stage/verify"
unit=$stage/verify/reaperd.service
sed "s#^ExecStart=/usr/sbin/reaperd #ExecStart=$stage/usr/sbin/reaperd #" "$installed" > "$unit"
out=$(MANPATH=$stage/usr/share/man SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$unit" 2>&1)
rc=$?
case $out in
  *"Failed to initialize manager"* | *"Failed to set up"* | *"Operation not permitted"*)
    echo "SKIP: systemd-analyze verify cannot run here: $out" >&2; exit 77 ;;
esac
if [ $rc != 0 ] || [ -n "$out" ]; then
  echo "FAIL: systemd-analyze verify (rc=$rc): $out" >&2
  exit 1
fi
echo "unit: systemd-analyze verify accepted the installed reaperd.service"
