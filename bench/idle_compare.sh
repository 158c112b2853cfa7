#!/usr/bin/env bash
# Idle cost of `reaperd run` (system scope plus the auto-discovered cgroups, --dry-run) beside
# earlyoom (--dryrun), measured at the same time on the same machine over SECONDS seconds:
# CPU ticks and wakeups, i.e. context switches (voluntary + involuntary) summed over EVERY
# thread of each daemon, including threads that exit during the window (their switches are
# folded into the process's totals, read from /proc/PID/sched's nr_switches sums via
# getrusage-like accounting below). Prints a per-thread breakdown so a waker can be found.
# Usage: bench/idle_compare.sh [BUILD_DIR] [SECONDS] [extra reaperd run args...]
# With BASE=/path/to/other/reaperd, that binary runs too, in the same minute (before/after).
set -euo pipefail
BUILD=${1:-build}
SECS=${2:-60}
shift $(( $# > 2 ? 2 : $# ))
command -v earlyoom >/dev/null || { echo "earlyoom is not installed (apt-get install earlyoom)"; exit 1; }
TICK=$(getconf CLK_TCK)

"$BUILD/reaperd" run --dry-run --log-level warning "$@" 2>/dev/null &
R=$!
earlyoom --dryrun -r 0 >/dev/null 2>&1 &
E=$!
B=
if [[ -n ${BASE:-} ]]; then
  "$BASE" run --dry-run --log-level warning "$@" 2>/dev/null &
  B=$!
fi
sleep 2  # let both settle past start-up

# utime+stime of the whole process (every thread, live or exited).
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
# Per thread: "tid comm switches" (voluntary + involuntary).
threads() {
  for t in /proc/$1/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$(tr ' ' _ <"$t/comm")" \
      "$(awk '/ctxt_switches/ {s+=$2} END {print s+0}' "$t/status" 2>/dev/null || echo 0)"
  done | sort -n
}
# Every thread's switches; a thread that started and exited inside the window is not in
# /proc/PID/task at either end, so the thread count is printed to show churn.
ctx() { threads "$1" | awk '{s+=$3} END {print s+0}'; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
r0=$(cpu $R); e0=$(cpu $E); rc0=$(ctx $R); ec0=$(ctx $E)
threads $R >/tmp/idle_compare.r0.$$
[[ -n $B ]] && { b0=$(cpu $B); bc0=$(ctx $B); }
sleep "$SECS"
r1=$(cpu $R); e1=$(cpu $E); rc1=$(ctx $R); ec1=$(ctx $E)
threads $R >/tmp/idle_compare.r1.$$
rr=$(rss $R); er=$(rss $E)
[[ -n $B ]] && { b1=$(cpu $B); bc1=$(ctx $B); br=$(rss $B); }
kill $R $E $B; wait $R $E $B 2>/dev/null || true

report() {
  awk -v n="$1" -v c=$(( $3 - $2 )) -v w=$(( $5 - $4 )) -v s="$SECS" -v t="$TICK" -v r="$6" \
    'BEGIN { printf "%-8s cpu=%.3f%% of one core (%d ticks in %ds)  wakeups=%.2f/s  rss=%d KiB\n",
             n, 100*c/t/s, c, s, w/s, r }'
}
echo "idle over ${SECS}s on $(uname -r), $(nproc) cores (wakeups: every thread's context switches):"
report reaperd "$r0" "$r1" "$rc0" "$rc1" "$rr"
report earlyoom "$e0" "$e1" "$ec0" "$ec1" "$er"
[[ -n $B ]] && report base "$b0" "$b1" "$bc0" "$bc1" "$br"
echo "reaperd threads (tid comm wakeups; '-' = started or ended inside the window):"
join -a1 -a2 -e - -o 0,1.2,2.2,1.3,2.3 /tmp/idle_compare.r0.$$ /tmp/idle_compare.r1.$$ |
  awk '{ w = ($4 == "-" || $5 == "-") ? "-" : $5 - $4; c = $2 == "-" ? $3 : $2;
         printf "  %-8s %-16s %s\n", $1, c, w }'
rm -f /tmp/idle_compare.r0.$$ /tmp/idle_compare.r1.$$
