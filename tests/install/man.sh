#!/bin/bash
# Both man pages render with man(1) without a warning; reaperd.toml(5) names every key of
# the documented default config; reaperd(8) names every command and option the binary's
# --help lists, so neither page can drift from what it documents.
# Usage: man.sh BUILD_DIR SOURCE_DIR REAPERD_BINARY
set -u
build=$1 src=$2 bin=$3
command -v man > /dev/null || { echo "SKIP: man not installed (apt-get install man-db groff-base)" >&2; exit 77; }
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for page in reaperd.8 reaperd.toml.5; do
  f=$build/packaging/$page
  [ -s "$f" ] || { bad "$f missing (build the reaperd target)"; continue; }
  MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$f" > "$tmp/$page.txt" 2> "$tmp/$page.err" ||
    bad "man -l $page failed"
  [ -s "$tmp/$page.err" ] && bad "man -l $page warned: $(cat "$tmp/$page.err")"
  [ "$(wc -l < "$tmp/$page.txt")" -gt 50 ] || bad "$page rendered to almost nothing"
done

# Rendered text, with the man hyphenation and formatting undone.
col -b < "$tmp/reaperd.toml.5.txt" > "$tmp/toml.txt"
for k in $(grep -E '^[a-z_]+ *=' "$src/packaging/config/reaperd.toml" | sed -E 's/ *=.*//'); do
  grep -qE "^ +$k =( |$)" "$tmp/toml.txt" || bad "reaperd.toml(5) lacks key $k"
done
for t in $(grep -E '^\[' "$src/packaging/config/reaperd.toml"); do
  grep -qF -- "$t" "$tmp/toml.txt" || bad "reaperd.toml(5) lacks table $t"
done

col -b < "$tmp/reaperd.8.txt" > "$tmp/8.txt"
checked=0
for cmd in $("$bin" --help | awk 'tolower($0) ~ /^subcommands:/ {on=1; next} on && NF {print $1}'); do
  grep -qE "^ +$cmd( |$)" "$tmp/8.txt" || bad "reaperd(8) lacks command $cmd"
  for opt in $("$bin" "$cmd" --help | grep -oE '^ +--[a-z-]+' | tr -d ' '); do
    [ "$opt" = --help ] && continue
    grep -qE -- "$opt([^a-z-]|$)" "$tmp/8.txt" || bad "reaperd(8) lacks $cmd $opt"
    checked=$((checked + 1))
  done
done

[ $checked -ge 10 ] || bad "only $checked options found in reaperd --help"
[ $fail = 0 ] && echo "man pages: ok ($checked options of reaperd --help documented)"
exit $fail
