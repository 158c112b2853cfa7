#!/usr/bin/env bash
# Idle cost of `reaperd run` (system scope, --dry-run) beside earlyoom (--dryrun), measured at
# the same time on the same machine: CPU time and wakeups (context switches of all threads)
# over SECONDS seconds. Usage: bench/idle_compare.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
BUILD=${1:-build}
SECS=${2:-60}
command -v earlyoom >/dev/null || { echo "earlyoom is not installed (apt-get install earlyoom)"; exit 1; }
TICK=$(getconf CLK_TCK)

"$BUILD/reaperd" run --dry-run --log-level warning 2>/dev/null &
R=$!
earlyoom --dryrun -r 0 >/dev/null 2>&1 &
E=$!
sleep 2  # let both settle past start-up

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
ctx() { cat /proc/$1/task/*/status | awk '/ctxt_switches/ {s+=$2} END {print s}'; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
r0=$(cpu $R); e0=$(cpu $E); rc0=$(ctx $R); ec0=$(ctx $E)
sleep "$SECS"
r1=$(cpu $R); e1=$(cpu $E); rc1=$(ctx $R); ec1=$(ctx $E)
rr=$(rss $R); er=$(rss $E)
kill $R $E; wait $R $E 2>/dev/null || true

report() {
  awk -v n="$1" -v c=$(( $3 - $2 )) -v w=$(( $5 - $4 )) -v s="$SECS" -v t="$TICK" -v r="$6" \
    'BEGIN { printf "%-8s cpu=%.3f%% of one core (%d ticks in %ds)  wakeups=%.2f/s  rss=%d KiB\n",
             n, 100*c/t/s, c, s, w/s, r }'
}
echo "idle over ${SECS}s on $(uname -r), $(nproc) cores:"
report reaperd "$r0" "$r1" "$rc0" "$rc1" "$rr"
report earlyoom "$e0" "$e1" "$ec0" "$ec1" "$er"
