#!/bin/bash
# The Debian package built by `make deb` has what it must: exactly the files CMake installs
# (binary, unit under lib/systemd/system, commented config, both man pages) plus the Debian
# docs; its version is the project's; the config is a conffile; the maintainer scripts enable
# and start the unit on install, stop it on remove and remove /var/lib/reaperd on purge; the
# packaged binary runs; debian/control's Build-Depends are all in the Makefile's DEPS; lintian
# (when installed) reports no error. Needs a built package: REAPERD_DEB, else
# BUILD_DIR/reaperd_VERSION_amd64.deb; skips (77) without one (a package build is a full
# Release compile, too slow for `make test`: run `make deb`, then `ctest -L deb`).
# Usage: deb.sh BUILD_DIR SOURCE_DIR REAPERD_BINARY
set -u
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
command -v dpkg-deb > /dev/null || { echo "SKIP: dpkg-deb missing (apt-get install dpkg-dev)" >&2; exit 77; }
version=$(sed -n 's/^project(reaperd VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
deb=${REAPERD_DEB:-$build/reaperd_${version}_amd64.deb}
[ -f "$deb" ] || { echo "SKIP: no package $deb (make deb builds it)" >&2; exit 77; }
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# The file list, exactly (directories left out).
expected=$(printf '%s\n' /etc/reaperd/reaperd.toml /lib/systemd/system/reaperd.service \
  /lib/systemd/system/reaperd-managed-oom.service /usr/sbin/reaperd-managed-oom \
  /usr/sbin/reaperd /usr/share/doc/reaperd/changelog.gz /usr/share/doc/reaperd/copyright \
  /usr/share/lintian/overrides/reaperd /usr/share/man/man5/reaperd.toml.5.gz \
  /usr/share/man/man8/reaperd.8.gz | sort)
actual=$(dpkg-deb -c "$deb" | grep -v '^d' | awk '{print $6}' | sed 's/^\.//' | sort)
[ "$expected" = "$actual" ] || bad "package files differ:
expected:
$expected
actual:
$actual"
dpkg-deb -c "$deb" | grep '^-rwxr-xr-x root/root .* \./usr/sbin/reaperd$' >/dev/null ||
  bad "/usr/sbin/reaperd is not root-owned mode 0755"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = reaperd ] || bad "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || bad "Version $(field Version), CMakeLists.txt says $version"
[ "$(field Architecture)" = amd64 ] || bad "Architecture: $(field Architecture)"
field Built-Using | grep -q 'glibc (= ' || bad "no Built-Using for the static glibc: $(field Built-Using)"

ctl=$(mktemp -d "$build/deb-test-XXXXXX")
trap 'rm -rf "$ctl"' EXIT
dpkg-deb -e "$deb" "$ctl/DEBIAN"
[ "$(cat "$ctl/DEBIAN/conffiles" 2>/dev/null)" = /etc/reaperd/reaperd.toml ] ||
  bad "conffiles: $(cat "$ctl/DEBIAN/conffiles" 2>/dev/null)"
grep -q "deb-systemd-helper enable 'reaperd.service'" "$ctl/DEBIAN/postinst" 2>/dev/null ||
  bad "postinst does not enable reaperd.service"
grep -q "_dh_action=start" "$ctl/DEBIAN/postinst" 2>/dev/null || bad "postinst does not start the unit"
grep -q "deb-systemd-invoke stop .*'reaperd.service'" "$ctl/DEBIAN/prerm" 2>/dev/null ||
  bad "prerm does not stop reaperd.service"
grep -q "rm -rf /var/lib/reaperd" "$ctl/DEBIAN/postrm" 2>/dev/null ||
  bad "postrm does not remove /var/lib/reaperd on purge"

# The packaged binary and unit.
dpkg-deb -x "$deb" "$ctl/root"
out=$("$ctl/root/usr/sbin/reaperd" --version 2>&1) || bad "packaged reaperd --version failed: $out"
case $out in *"$version"*) ;; *) bad "packaged reaperd --version says '$out', want $version" ;; esac
grep -qx 'ExecStart=/usr/sbin/reaperd run --config /etc/reaperd/reaperd.toml' \
  "$ctl/root/lib/systemd/system/reaperd.service" || bad "the packaged unit's ExecStart"
out=$("$ctl/root/usr/sbin/reaperd" check-config "$ctl/root/etc/reaperd/reaperd.toml" 2>&1) ||
  bad "check-config rejects the packaged config: $out"

# Build-Depends (but debhelper-compat) come from the Makefile's DEPS list.
deps=$(sed -n '/^DEPS :=/,/^[^\t]/p' "$src/Makefile" | sed 's/^DEPS :=//; s/\\//g')
bdeps=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$src/debian/control" | grep -v '^#' |
  sed 's/^Build-Depends://; /^[A-Z]/d' | tr ',' '\n' | sed 's/(.*)//; s/ //g' | grep -v '^$')
for b in $bdeps; do
  [ "$b" = debhelper-compat ] && continue
  echo " $deps " | tr -s ' \t\n' ' ' | grep -q " $b " || bad "Build-Depends names $b, which the Makefile's DEPS lacks"
done

if command -v lintian > /dev/null; then
  out=$(lintian "$deb" 2>&1 | grep -v 'running with root privileges')
  echo "$out" | grep -q '^E:' && bad "lintian errors: $out"
  [ -n "$out" ] && echo "lintian: $out" >&2
fi
[ $fail = 0 ] && echo "deb: $deb has what it must"
exit $fail
