#!/bin/sh
# Every file the package must ship, checked in the staged tree (debian/reaperd) before
# dh_builddeb: a missing one fails the package build with its name.
set -u
root=$1
fail=0
for f in usr/sbin/reaperd lib/systemd/system/reaperd.service etc/reaperd/reaperd.toml \
  usr/sbin/reaperd-managed-oom lib/systemd/system/reaperd-managed-oom.service \
  usr/share/man/man8/reaperd.8 usr/share/man/man5/reaperd.toml.5; do
  if [ ! -s "$root/$f" ]; then
    echo "debian/check-tree.sh: missing or empty in the package: /$f" >&2
    fail=1
  fi
done
[ -x "$root/usr/sbin/reaperd" ] || { echo "debian/check-tree.sh: /usr/sbin/reaperd not executable" >&2; fail=1; }
grep -q '^ExecStart=/usr/sbin/reaperd run --config /etc/reaperd/reaperd.toml$' \
  "$root/lib/systemd/system/reaperd.service" ||
  { echo "debian/check-tree.sh: the unit's ExecStart does not name /usr/sbin/reaperd and /etc/reaperd" >&2; fail=1; }
exit $fail
