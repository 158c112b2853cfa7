#!/bin/bash
# Trust (issue 8): reaperd refuses a config, or a hook program it names, that someone other
# than root could change: `check-config` and `run` exit 1 naming the key and the path, and
# accept the same files once they are safe. Nothing runs in the system scope: `run` is
# --dry-run with --run-for-ms, and is refused before it starts when it should be.
# Usage: trust.sh BUILD_DIR SOURCE_DIR REAPERD_BINARY
set -u
build=$(cd "$1" && pwd) bin=$3
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# Under the build directory (root-owned, not world-writable), not /tmp.
stage=$build/trust-test-$$
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/safe" "$stage/open"
chmod 0755 "$stage" "$stage/safe"
chmod 0777 "$stage/open" # writable by anyone, no sticky bit
for d in safe open; do
  printf '#!/bin/sh\nexit 0\n' > "$stage/$d/hook"
  chmod 0755 "$stage/$d/hook"
done

config() { # $1: file, $2: hook program
  printf '[hooks.warn]\nargv = ["%s", "--flag"]\n[[reclaim.notifier]]\nkind = "hook"\nargv = ["%s"]\n' \
    "$2" "$2" > "$1"
  chmod 0644 "$1"
}

config "$stage/good.toml" "$stage/safe/hook"
out=$("$bin" check-config "$stage/good.toml" 2>&1) || bad "a safe hook was refused: $out"

config "$stage/bad.toml" "$stage/open/hook"
out=$("$bin" check-config "$stage/bad.toml" 2>&1) && bad "check-config accepted a hook in a world-writable dir"
echo "$out" | grep -q "refusing hooks.warn program $stage/open/hook" || bad "no clear error for hooks.warn: $out"
echo "$out" | grep -q "refusing reclaim.notifier\[0\] program $stage/open/hook" ||
  bad "no clear error for the notifier: $out"
out=$(timeout 20 "$bin" run --dry-run --run-for-ms 200 --no-mlock --config "$stage/bad.toml" 2>&1) &&
  bad "run started with an untrusted hook"
echo "$out" | grep -q "refusing hooks.warn program" || bad "run gave no clear error: $out"
echo "$out" | grep -q "start version=" && bad "run started although it refused"

# A group-writable program in a safe directory: refused too.
chmod 0775 "$stage/safe/hook"
out=$("$bin" check-config "$stage/good.toml" 2>&1) && bad "check-config accepted a group-writable hook"
chmod 0755 "$stage/safe/hook"

# The config itself: world-writable, or in a world-writable dir, is refused.
cp "$stage/good.toml" "$stage/open/c.toml" && chmod 0644 "$stage/open/c.toml"
out=$("$bin" check-config "$stage/open/c.toml" 2>&1) && bad "check-config accepted a config in a world-writable dir"
echo "$out" | grep -q "refusing config" || bad "no clear error for the config: $out"
chmod 0666 "$stage/good.toml"
out=$("$bin" check-config "$stage/good.toml" 2>&1) && bad "check-config accepted a world-writable config"

[ $fail = 0 ] && echo "trust: config and hook programs checked (5 refusals, 1 acceptance)"
exit $fail
