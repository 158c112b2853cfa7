#!/bin/bash
# The string functions' CPU variants in the hot section (session 14): cmake/hot.ld groups them
# by CPU class (rtm: with TSX; v4: AVX-512, evex; v3: AVX2; v2: SSE), and the daemon leaves out
# of its lock, and drops, the whole pages of each group that none of the C library's picks is
# in (sys::UnusedHotVariants, logged as "self ... hot_variants_left_out=..."). Checked here
# independently of the daemon's own reading:
#   1. on the symbol table: each group holds only variants of its class, and is not empty;
#   2. on a running daemon: the picks are read from outside, at each IRELATIVE relocation's
#      slot in /proc/PID/mem (readelf gives the slots), and mapped to the groups; the groups
#      the daemon left out are exactly those with no pick and a whole page, and none it left
#      out holds a pick. A wrong group left out would cost a page fault, perhaps from disk, on
#      the kill path.
# Skipped for a build without the groups (the sanitizers' builds are not linked with hot.ld).
# Usage: hot_variants.sh BUILD_DIR SOURCE_DIR REAPERD_BINARY
set -u
bin=$3
skip() { echo "SKIP: $*" >&2; exit 77; }
command -v nm > /dev/null || skip "nm missing"
command -v readelf > /dev/null || skip "readelf missing"
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT
nm --defined-only "$bin" > "$work/syms" 2> /dev/null || skip "$bin has no symbol table"
grep -q ' __reaperd_hot_v2_start$' "$work/syms" || skip "$bin has no variant groups"
readelf -rW "$bin" | awk '/R_X86_64_IRELATIV/ {print $1}' > "$work/slots"
[ -s "$work/slots" ] || skip "$bin has no IRELATIVE relocations"

# The daemon, dry run, system scope: it logs its lock once it has started.
"$bin" run --dry-run --log-level info --run-for-ms 20000 > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q 'hot_variants_left_out=' "$work/log" && break
  sleep 0.1
done
line=$(grep -m1 'hot_variants_left_out=' "$work/log")
[ -n "$line" ] || { echo "FAIL: no hot_variants_left_out in the daemon's log:"; cat "$work/log"; exit 1; }
base=$(awk -v exe="$(readlink -f "$bin")" '$6 == exe {split($1, a, "-"); print a[1]; exit}' \
  "/proc/$pid/maps")
[ -n "$base" ] || { echo "FAIL: the daemon's executable is not in /proc/$pid/maps"; exit 1; }

python3 - "$work/syms" "$work/slots" "$pid" "$base" "$line" << 'PY'
import re, sys
syms_path, slots_path, pid, base, line = sys.argv[1:]
base = int(base, 16)
addr = {}
funcs = []
for l in open(syms_path):
    f = l.split()
    if len(f) != 3:
        continue
    addr.setdefault(f[2], int(f[0], 16))
    if f[1] in "tT":
        funcs.append((int(f[0], 16), f[2]))
groups = ["rtm", "v4", "v3", "v2"]
span = {g: (addr[f"__reaperd_hot_{g}_start"], addr[f"__reaperd_hot_{g}_end"]) for g in groups}
cls = {
    "rtm": lambda n: "_rtm" in n,
    "v4": lambda n: ("evex" in n or "avx512" in n) and "_rtm" not in n,
    "v3": lambda n: "avx" in n and "avx512" not in n and "_rtm" not in n,
    "v2": lambda n: "sse" in n,
}
bad = 0
for g in groups:
    s, e = span[g]
    inside = sorted({n for a, n in funcs if s <= a < e and not n.startswith("__reaperd_hot")})
    if not inside:
        print(f"FAIL: group {g} is empty")
        bad += 1
    for n in inside:
        if not cls[g](n):
            print(f"FAIL: {n} is in group {g}")
            bad += 1
    print(f"group {g}: {len(inside)} functions, {(e - s) // 1024} KiB")
# The picks, read from outside the daemon.
picks = []
try:
    with open(f"/proc/{pid}/mem", "rb") as mem:
        for off in open(slots_path):
            mem.seek(base + int(off, 16))
            picks.append(int.from_bytes(mem.read(8), "little") - base)
except PermissionError as e:
    print(f"SKIP: cannot read the daemon's memory ({e})", file=sys.stderr)
    sys.exit(77)
page = 4096
expected = []
for g in groups:
    s, e = span[g]
    held = [p for p in picks if s <= p < e]
    if not held and ((e // page) * page) > ((s + page - 1) // page) * page:
        expected.append(g)
logged = re.search(r'hot_variants_left_out="([^"]*)"', line).group(1)
logged = [] if logged == "none" else logged.split(",")
print(f"picks in groups: " + ", ".join(
    f"{g}={sum(1 for p in picks if span[g][0] <= p < span[g][1])}" for g in groups))
print(f"left out: logged {logged}, expected {expected}")
if logged != expected:
    print("FAIL: the daemon left out other groups than the picks allow")
    bad += 1
sys.exit(1 if bad else 0)
PY
