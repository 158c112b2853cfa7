#!/usr/bin/env bash
# Where reaperd's CPU goes under pressure (issue 13): a memory cgroup with a 256 MiB limit,
# reaperd guarding it (--scope cgroup:PATH, real kills, only inside that cgroup), and a burst
# of GROWERS processes of one application growing together (none large alone: each grows
# 4 MiB every STEP_MS ms, default 50, up to 96 MiB), restarted as they die, for SECONDS
# seconds; perf samples the daemon meanwhile. Prints the daemon's CPU ticks per thread, its
# kills, the kernel's memcg OOM kills, and perf's top symbols (self time). Needs root, a
# cgroup memory controller and perf. Never touches anything outside the cgroup it makes.
# Usage: [STEP_MS=50] bench/pressure_profile.sh [BUILD_DIR] [SECONDS] [GROWERS]
set -euo pipefail
BUILD=${1:-build}
SECS=${2:-20}
GROWERS=${3:-8}
STEP_MS=${STEP_MS:-50}  # each grower adds 4 MiB every STEP_MS
OUT=$(mktemp -d /tmp/reaperd-prof-XXXXXX)
command -v perf > /dev/null || { echo "perf is not installed (apt-get install linux-perf)"; exit 1; }

if [[ -d /sys/fs/cgroup/memory ]]; then  # v1: under our own memory cgroup
  base=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
  mnt=/sys/fs/cgroup/memory
  cg="${base%/}/reaperd-prof-$$"
  mkdir "$mnt$cg"
  echo $((256 << 20)) > "$mnt$cg/memory.limit_in_bytes"
else  # v2
  base=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
  mnt=/sys/fs/cgroup
  cg="${base%/}/reaperd-prof-$$"
  mkdir "$mnt$cg"
  echo $((256 << 20)) > "$mnt$cg/memory.max"
fi
cleanup() {
  [[ -n ${LOOP:-} ]] && kill "$LOOP" 2> /dev/null || true
  [[ -n ${R:-} ]] && kill "$R" 2> /dev/null || true
  for p in $(cat "$mnt$cg/cgroup.procs" 2> /dev/null); do kill -KILL "$p" 2> /dev/null || true; done
  sleep 0.5
  rmdir "$mnt$cg" 2> /dev/null || true
}
trap cleanup EXIT

"$BUILD/reaperd" run --scope "cgroup:$cg" --log-level notice > "$OUT/daemon.log" 2>&1 &
R=$!
sleep 1

# The growers: restarted as they are killed, so the pressure lasts the whole run.
grower="import time
b = []
for _ in range(24):
    b.append(bytearray(4 << 20))
    time.sleep($STEP_MS / 1000)
time.sleep(3600)"
(
  sh -c "echo \$\$ > $mnt$cg/cgroup.procs; exec sleep infinity" &
  while :; do
    n=$(wc -l < "$mnt$cg/cgroup.procs")
    while (( n < GROWERS + 1 )); do
      sh -c "echo \$\$ > $mnt$cg/cgroup.procs; exec python3 -c '$grower'" &
      n=$((n + 1))
    done
    sleep 0.1
  done
) &
LOOP=$!

declare -A t0
for t in /proc/$R/task/*; do t0[${t##*/}]=$(awk '{print $14+$15}' "$t/stat"); done
perf record -q -F 499 -g -p "$R" -o "$OUT/perf.data" -- sleep "$SECS" 2> /dev/null
echo "threads (CPU ticks over ${SECS}s, $(getconf CLK_TCK)/s):"
total=0
for t in /proc/$R/task/*; do
  tid=${t##*/}
  now=$(awk '{print $14+$15}' "$t/stat")
  d=$((now - ${t0[$tid]:-0}))
  total=$((total + d))
  printf '  %-8s %-16s %d\n' "$tid" "$(cat "$t/comm")" "$d"
done
echo "  total $total"
echo "kills: $(grep -c ' kill seq=' "$OUT/daemon.log" || true)," \
  "kernel oom kills: $(grep -o 'oom_kill [0-9]*' "$mnt$cg/memory.oom_control" 2> /dev/null ||
    grep -o 'oom_kill [0-9]*' "$mnt$cg/memory.events" 2> /dev/null || echo '?')"
grep ' kill seq=' "$OUT/daemon.log" | grep -o 'scan_ms=[0-9.]* rank_ms=[0-9.]* build_ms=[0-9.]*' |
  sort | uniq -c | sort -rn | head -5 || true
echo "perf, self time:"
perf report -i "$OUT/perf.data" --no-children --sort dso,symbol --stdio -g none 2> /dev/null |
  grep '%' | head -30
echo "perf, by caller (children):"
perf report -i "$OUT/perf.data" --children --sort symbol --stdio -g none 2> /dev/null |
  grep '%' | grep -v '\[k\]' | head -30
echo "(raw data: $OUT)"
