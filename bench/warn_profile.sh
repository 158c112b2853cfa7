#!/usr/bin/env bash
# What reaperd costs while the system scope sits at warn (issue 13: its CPU under pressure was
# 3.5-10 times earlyoom's in the lab, most of it reading /proc). Safe on any machine: every
# daemon runs with --dry-run, and nothing allocates more than the sleepers' few MiB. The
# thresholds hold the system scope at warn throughout (warn below 99% available, reclaim and
# kill at 1%), with SLEEPERS sleeping processes besides the machine's own. Each binary given
# runs alone for SECONDS seconds, one after another, ROUNDS times, and earlyoom 1.7 --dryrun
# beside them in the same rounds when installed (it reads /proc only to kill, so at warn it
# reads meminfo alone). Prints, per run: CPU ticks (utime+stime, every thread), voluntary
# context switches, and, when perf can count syscall tracepoints, the openat, read and
# pread64 calls made meanwhile.
# Usage: [SLEEPERS=500] bench/warn_profile.sh SECONDS ROUNDS BIN [BIN...]
set -euo pipefail
secs=${1:?seconds}
rounds=${2:?rounds}
shift 2
[ $# -ge 1 ] || { echo "usage: bench/warn_profile.sh SECONDS ROUNDS BIN [BIN...]" >&2; exit 2; }
sleepers=${SLEEPERS:-500}
dir=$(mktemp -d /tmp/reaperd-warn-profile-XXXXXX)
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
for _ in $(seq 1 "$sleepers"); do
  sleep 100000 &
  pids+=($!)
done
cat >"$dir/reaperd.toml" <<EOC
[detector]
warn_available_percent = 99.0
reclaim_available_percent = 1.0
kill_available_percent = 1.0
[report]
status_socket = "$dir/status.sock"
metrics_textfile_path = ""
kill_report_path = ""
EOC

# Ticks and voluntary switches of a process and all its threads.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
switches() {
  local n=0 t
  for t in /proc/"$1"/task/*; do
    n=$((n + $(awk '/^voluntary_ctxt_switches/{print $2}' "$t/status")))
  done
  echo "$n"
}
one() {  # label, command...
  local label=$1
  shift
  "$@" >"$dir/log.txt" 2>&1 &
  local p=$!
  sleep 2  # start-up (its whole read) is not what is measured
  local t0 s0
  t0=$(ticks "$p")
  s0=$(switches "$p")
  if [ "$perf_ok" = 1 ]; then
    perf stat -x, -e syscalls:sys_enter_openat,syscalls:sys_enter_read,syscalls:sys_enter_pread64 \
      -p "$p" -o "$dir/perf.txt" -- sleep "$secs" 2>/dev/null
  else
    sleep "$secs"
  fi
  local t1 s1
  t1=$(ticks "$p")
  s1=$(switches "$p")
  local level
  level=$(grep -o 'to=[a-z]*' "$dir/log.txt" | tail -1 || true)
  kill "$p"
  wait "$p" 2>/dev/null || true
  local calls=""
  [ "$perf_ok" = 1 ] && calls=$(awk -F, '$3 ~ /sys_enter_/ {sub(/.*sys_enter_/, "", $3); printf "%s=%s ", $3, $1}' "$dir/perf.txt")
  printf '%-16s ticks=%-4s voluntary_switches=%-6s %s last_level_%s\n' "$label" $((t1 - t0)) \
    $((s1 - s0)) "$calls" "${level:-none}"
}
# Syscalls counted through perf's tracepoints (cheap: strace would slow the daemon enough to
# stretch its own read periods).
perf_ok=0
if command -v perf >/dev/null && perf stat -e syscalls:sys_enter_openat -- true >/dev/null 2>&1; then
  perf_ok=1
fi
for round in $(seq 1 "$rounds"); do
  echo "round $round ($(ls /proc | grep -c '^[0-9]') processes)"
  for bin in "$@"; do
    one "$(basename "$bin")" "$bin" run --scope system --dry-run --config "$dir/reaperd.toml"
  done
  if command -v earlyoom >/dev/null; then
    one earlyoom earlyoom --dryrun -m 1 -s 100 -r 3600
  fi
done
