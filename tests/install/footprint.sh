#!/bin/bash
# The idle daemon's footprint (issue 8): `reaperd run --dry-run`, with mlock as in service,
# scoped to a memory-limited v1 cgroup this script creates (nothing outside it is watched, and
# --dry-run sends no signal anyway), is read from /proc/PID/status after it settled:
#   - its resident pages are locked: the pages with PG_mlocked, or in a large folio of a
#     locked mapping (tools/rss_table.py reads /proc/PID/pagemap and /proc/kpageflags), are
#     >= 90% of its Rss. (VmLck is no measure here: with MCL_ONFAULT it is the size of every
#     locked mapping, touched or not. A page-cache folio of the executable across the edge of
#     two of its mappings (the hot section's, a segment's) is never PG_mlocked, though
#     reclaim leaves it mapped: with PG_mlocked alone, a layout that put 104 such pages
#     there failed, 1872 of 2296 kB, session 17.)
#   - its hot section (cmake/hot.ld: the kill path's own code, locked whole by LockExecutable,
#     so the code of a kill path that never ran is in memory) is resident and locked whole:
#     every page of .text.reaperd_hot is present in /proc/PID/pagemap, but the pages of the
#     string-function variants this CPU does not run (the daemon's left_out_kib), and its
#     mappings in smaps are Locked as far as they are resident;
#   - VmRSS and VmHWM (the peak, start-up included) are at most 2.75 MiB (issue 13 asks for
#     2 MiB; 2260 and 2380 kB measured here at session 12's layout, where the runtime the kill
#     path calls is in the hot section, the start-up is trimmed before the command line is
#     parsed and the hot section is locked only after it: 2908 and 2908 kB before, which
#     this bound fails; 3584 kB was the bound before), when the binary
#     is the default lean build
#     (cmake/lean.cmake: a static PIE, so it has no program interpreter). A build with
#     REAPERD_LEAN or REAPERD_STATIC off (the sanitizers' builds) maps the shared libraries'
#     fault-around too (5.8 MiB measured): there the figure is printed, not asserted
#     (docs/architecture.md, "Footprint", has the figures).
# Prints the per-mapping table (tools/rss_table.py) so a failure shows where the memory went.
# The cgroup is removed whatever happens.
# Usage: footprint.sh BUILD_DIR SOURCE_DIR REAPERD_BINARY
set -u
build=$(cd "$1" && pwd) src=$2 bin=$3
mem=/sys/fs/cgroup/memory
limit_kb=2816
skip() { echo "SKIP: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (to lock memory beyond RLIMIT_MEMLOCK)"
[ -f $mem/memory.usage_in_bytes ] || skip "no cgroup v1 memory controller at $mem"
command -v python3 > /dev/null || skip "python3 missing"
readelf -h "$bin" > /dev/null 2>&1 || skip "readelf missing or $bin unreadable"
# A sanitizer build reserves terabytes of shadow memory: locking and resident figures mean
# nothing there (mlockall cannot cover the shadow), so the check is for normal builds only.
if grep -q '^REAPERD_SANITIZE:[A-Z]*=..*' "$build/CMakeCache.txt" 2> /dev/null; then
  skip "a sanitizer build (REAPERD_SANITIZE set): its memory figures say nothing"
fi
# The lean static build has no PT_INTERP (no ld.so, no shared library).
static=1
LC_ALL=C readelf -lW "$bin" | grep -q 'Requesting program interpreter' && static=0
parent=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
[ -n "$parent" ] || skip "no memory line in /proc/self/cgroup"
parent=${parent%/}

stage=$build/footprint-test-$$
cg=$parent/reaperd-footprint-$$
cgdir=$mem$cg
daemon=
cleanup() {
  [ -n "$daemon" ] && kill -KILL "$daemon" 2> /dev/null
  [ -d "$cgdir" ] && { rmdir "$cgdir" 2> /dev/null || echo "WARNING: could not remove $cgdir" >&2; }
  rm -rf "$stage"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$stage"
mkdir "$cgdir" || skip "cannot create $cgdir"
echo $((64 << 20)) > "$cgdir/memory.limit_in_bytes" || skip "cannot set the memory limit"
cat > "$stage/reaperd.toml" << CONF
[report]
kill_report_path = ""
metrics_textfile_path = ""
status_socket = "$stage/status.sock"
[watchdog]
report_path = "$stage/stalls.jsonl"
CONF

# A binary just linked has dirty pages in the page cache, which the daemon's trim of its cold
# code (sys::TrimColdCode) cannot drop; written back, they can.
sync "$bin" 2> /dev/null || true
"$bin" run --dry-run --config "$stage/reaperd.toml" --scope "cgroup:$cg" \
  --run-for-ms 60000 --log-level info 2> "$stage/log" &
daemon=$!
# Settled: the start line is out and a few ticks have passed.
for _ in $(seq 100); do grep -q ' start ' "$stage/log" && break; sleep 0.1; done
grep -q ' start ' "$stage/log" || { cat "$stage/log" >&2; echo "FAIL: no start line" >&2; exit 1; }
sleep 5
kill -0 $daemon 2> /dev/null || { cat "$stage/log" >&2; echo "FAIL: daemon died" >&2; exit 1; }
if grep -q 'mlock=failed' "$stage/log"; then
  grep 'mlock=failed' "$stage/log" >&2
  echo "FAIL: the daemon could not lock its memory" >&2
  exit 1
fi

python3 "$src/tools/rss_table.py" $daemon --min-kb 4 | tee "$stage/table"
read -r t_rss t_mlocked < <(awk '$1 == "total" {print $4, $5}' "$stage/table")
read -r rss lck < <(awk '/^VmRSS:/ {r = $2} /^VmLck:/ {l = $2} END {print r, l}' \
  /proc/$daemon/status)
read -r hwm < <(awk '/^VmHWM:/ {print $2}' /proc/$daemon/status)
exe=$(readlink -f /proc/$daemon/exe)
# The hot section's pages: present (pagemap bit 63) and in locked mappings.
read -r hot_pages hot_present hot_locked < <(python3 - "$daemon" "$exe" << 'PY'
import re, struct, subprocess, sys
pid, exe = int(sys.argv[1]), sys.argv[2]
out = subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True,
                     env={"LC_ALL": "C"}).stdout
m = re.search(r"\.text\.reaperd_hot\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", out)
if not m:
    print(0, 0, 0)
    sys.exit()
vaddr, off, size = (int(x, 16) for x in m.groups())
base, maps = None, []
for line in open(f"/proc/{pid}/smaps"):
    f = line.split()
    if re.match(r"^[0-9a-f]+-[0-9a-f]+$", f[0]):
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        cur = {"lo": lo, "hi": hi, "path": f[5] if len(f) > 5 else "", "off": int(f[2], 16)}
        maps.append(cur)
        if cur["path"] == exe and base is None:
            base = lo - cur["off"]
    elif f[0] in ("Rss:", "Locked:"):
        maps[-1][f[0]] = int(f[1])
start, end, page = base + vaddr, base + vaddr + size, 4096
pages = present = 0
with open(f"/proc/{pid}/pagemap", "rb") as pm:
    for a in range(start & ~(page - 1), end, page):
        pm.seek(a // page * 8)
        pages += 1
        present += (struct.unpack("<Q", pm.read(8))[0] >> 63) & 1
locked = all(m.get("Locked", 0) >= m.get("Rss", 0) for m in maps
             if m["path"] == exe and m["lo"] < end and m["hi"] > start)
print(pages, present, pages if locked else 0)
PY
)
kill -TERM $daemon
wait $daemon 2> /dev/null
daemon=

echo "footprint: VmRSS=${rss} kB VmHWM=${hwm} kB VmLck=${lck} kB mlocked=${t_mlocked} of" \
  "${t_rss} kB; hot section ${hot_present} of ${hot_pages} pages resident, locked=${hot_locked}" \
  "(bound ${limit_kb} kB, static=${static})"
fail=0
if ! [ "$t_mlocked" -ge 0 ] 2> /dev/null; then
  echo "FAIL: no mlocked count (pagemap unreadable?)" >&2
  fail=1
elif [ $((t_mlocked * 10)) -lt $((t_rss * 9)) ]; then
  echo "FAIL: only ${t_mlocked} of ${t_rss} kB resident are locked" >&2
  fail=1
fi
if [ "$static" = 1 ]; then
  if [ "${hot_pages:-0}" -eq 0 ]; then
    echo "FAIL: no .text.reaperd_hot section in $exe (cmake/hot.ld not linked)" >&2
    fail=1
  else
    # Less the string functions' variants this CPU does not run (LockExecutable leaves their
    # groups out: tests/install/hot_variants.sh checks which), as the daemon logged them.
    left_out=$(sed -n 's/.* left_out_kib=\([0-9]*\).*/\1/p' "$stage/log" | head -1)
    want=$((hot_pages - ${left_out:-0} / 4))
    if [ "$hot_present" -lt "$want" ] || [ "$hot_locked" -lt "$hot_pages" ]; then
      echo "FAIL: the hot section is not resident and locked whole (${left_out:-0} KiB of" \
        "variants left out)" >&2
      fail=1
    fi
  fi
  [ "$hwm" -le $limit_kb ] || { echo "FAIL: VmHWM ${hwm} kB is above ${limit_kb} kB" >&2; fail=1; }
fi
if [ "$static" = 1 ]; then
  [ "$rss" -le $limit_kb ] || { echo "FAIL: VmRSS ${rss} kB is above ${limit_kb} kB" >&2; fail=1; }
elif [ "$rss" -gt $limit_kb ]; then
  echo "NOTE: VmRSS ${rss} kB is above ${limit_kb} kB (not asserted: not a static lean build)"
fi
[ $fail = 0 ] && echo "PASS"
exit $fail
