#!/bin/bash
# `make install` (cmake --install BUILD --prefix PREFIX with DESTDIR, exactly as the Makefile
# runs it) produces the expected tree for PREFIX=/usr and PREFIX=/usr/local; the installed
# config has every key of packaging/config/reaperd.toml, all commented out, and
# `reaperd check-config` accepts it; the unit names the installed binary and config.
# Usage: tree.sh BUILD_DIR SOURCE_DIR REAPERD_BINARY
set -u
build=$(cd "$1" && pwd) src=$2 bin=$3
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# Under the build directory: check-config refuses files below world-writable dirs (/tmp).
stage=$build/install-test-$$
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"

# Keys of the documented default: "key = ..." lines (comments and examples left out).
keys=$(grep -E '^[a-z_]+ *=' "$src/packaging/config/reaperd.toml" | sed -E 's/ *=.*//')
[ "$(echo "$keys" | wc -l)" -ge 60 ] || bad "fewer keys than expected in the default config"

check_prefix() {
  local prefix=$1 etc=$2 root=$stage/${1//\//_}
  DESTDIR=$root cmake --install "$build" --prefix "$prefix" > "$root.log" 2>&1 ||
    { bad "cmake --install --prefix $prefix failed: $(cat "$root.log")"; return; }
  local expected actual bus_files=""
  # reaperd-bus, when the build has it (libsystemd found): its binary, unit and D-Bus policy.
  [ -x "$build/reaperd-bus" ] && bus_files="$prefix/sbin/reaperd-bus
$prefix/lib/systemd/system/reaperd-bus.service
$prefix/share/dbus-1/system.d/org.freedesktop.LowMemoryMonitor.conf"
  # reaperd-managed-oom (ManagedOOMMemoryPressure=kill from PID 1), built with reaperd-bus.
  [ -x "$build/reaperd-managed-oom" ] && bus_files="$bus_files
$prefix/sbin/reaperd-managed-oom
$prefix/lib/systemd/system/reaperd-managed-oom.service"
  expected=$(printf '%s\n' "$etc/reaperd/reaperd.toml" "$prefix/lib/systemd/system/reaperd.service" \
    "$prefix/sbin/reaperd" "$prefix/share/man/man5/reaperd.toml.5" "$prefix/share/man/man8/reaperd.8" \
    $bus_files | sort)
  actual=$(cd "$root" && find . -type f | sed 's/^\.//' | sort)
  [ "$expected" = "$actual" ] || bad "prefix $prefix: tree differs:
expected:
$expected
actual:
$actual"
  [ -x "$root$prefix/sbin/reaperd" ] || bad "$prefix/sbin/reaperd not executable"
  local unit=$root$prefix/lib/systemd/system/reaperd.service
  grep -qx "ExecStart=$prefix/sbin/reaperd run --config $etc/reaperd/reaperd.toml" "$unit" ||
    bad "prefix $prefix: ExecStart: $(grep ExecStart= "$unit")"
  if [ -n "$bus_files" ]; then
    grep -qx "ExecStart=$prefix/sbin/reaperd-bus --socket /run/reaperd/status.sock" \
      "$root$prefix/lib/systemd/system/reaperd-bus.service" ||
      bad "prefix $prefix: reaperd-bus ExecStart: $(grep ExecStart= "$root$prefix/lib/systemd/system/reaperd-bus.service")"
  fi
  local cfg=$root$etc/reaperd/reaperd.toml
  [ -f "$cfg" ] || return
  # No active key: every line is blank, a comment or a [table] header.
  local active
  active=$(grep -vE '^(#|\[|[[:space:]]*$)' "$cfg")
  [ -z "$active" ] || bad "uncommented lines in the installed config: $active"
  for k in $keys; do
    grep -qE "^# $k =" "$cfg" || bad "key $k missing (commented) from the installed config"
  done
  # Uncommenting every key gives back the documented default, byte for byte (but the header).
  # (the 6 lines of comment_keys.awk's header left out)
  diff <(tail -n +7 "$cfg" | grep -v '^#$' | sed -E 's/^# //') \
       <(grep -v '^#$' "$src/packaging/config/reaperd.toml" | sed -E 's/^# //') > "$root.diff" ||
    bad "commented config does not uncomment to the default: $(head -20 "$root.diff")"
  local out
  out=$("$bin" check-config "$cfg" 2>&1) || bad "check-config rejected the installed config: $out"
}

check_prefix /usr /etc
check_prefix /usr/local /usr/local/etc

# Installing again over an edited config keeps it and puts the new default beside it.
root=$stage/_usr
echo '[daemon]' > "$root/etc/reaperd/reaperd.toml"
DESTDIR=$root cmake --install "$build" --prefix /usr > /dev/null 2>&1 || bad "reinstall failed"
[ "$(cat "$root/etc/reaperd/reaperd.toml")" = "[daemon]" ] || bad "an edited config was overwritten"
[ -f "$root/etc/reaperd/reaperd.toml.dist" ] || bad "no reaperd.toml.dist beside the edited config"

[ $fail = 0 ] && echo "install tree: ok (prefixes /usr and /usr/local, $(echo "$keys" | wc -l) keys)"
exit $fail
