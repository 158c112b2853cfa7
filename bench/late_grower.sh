#!/usr/bin/env bash
# The system scope's kill on a refreshed standing snapshot, against a process outside the top 8
# candidates that grows past them between two whole reads (session 8's trust fix: before, the
# refresh ranked it by its old figures and chose another). Safe on any machine: reaperd runs
# with --dry-run (it chooses and reports, it signals nothing), and the test holds 2 GiB at
# most. Ten decoys of 50 MiB are the top candidates; the thresholds put the system scope at
# warn throughout (so the standing snapshot is read whole every second) and the kill 2.5 points
# of MemAvailable below where it starts; the grower sleeps 4 s small (read whole several times)
# and then takes 1.5 GiB at once. Prints which process the first kill decision chose, RIGHT
# when it is the grower, and how the snapshot was read (read=, unseen_growth_mib=).
# Usage: bench/late_grower.sh [REAPERD_BIN] [RUNS]. Needs python3.
set -euo pipefail
bin=${1:-build/reaperd}
runs=${2:-3}
dir=$(mktemp -d /tmp/reaperd-late-grower-XXXXXX)
trap 'rm -rf "$dir"' EXIT
for run in $(seq 1 "$runs"); do
  d=$dir/$run
  mkdir -p "$d"
  decoys=()
  for _ in $(seq 1 10); do
    python3 -c "import time; x = b'\x02' * (50 << 20); time.sleep(60)" &
    decoys+=($!)
  done
  sleep 2
  avail=$(awk '/MemTotal/{t=$2} /MemAvailable/{a=$2} END{printf "%.1f", a*100/t}' /proc/meminfo)
  kill_pct=$(awk -v a="$avail" 'BEGIN{printf "%.1f", a - 2.5}')
  reclaim_pct=$(awk -v a="$avail" 'BEGIN{printf "%.1f", a - 2.0}')
  cat >"$d/reaperd.toml" <<EOC
[detector]
warn_available_percent = 99.0
reclaim_available_percent = $reclaim_pct
kill_available_percent = $kill_pct
[report]
status_socket = "$d/status.sock"
metrics_textfile_path = ""
kill_report_path = ""
EOC
  "$bin" run --scope system --dry-run --config "$d/reaperd.toml" >"$d/log.txt" 2>&1 &
  daemon=$!
  sleep 3
  python3 -c "import time; time.sleep(4); x = b'\x01' * (1536 << 20); time.sleep(6)" &
  grower=$!
  wait "$grower"
  kill "$daemon" "${decoys[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  line=$(grep -m1 "dry_run=1 pid=" "$d/log.txt" || true)
  victim=$(echo "$line" | grep -o "pid=[0-9]*" | head -1 | cut -d= -f2)
  verdict=WRONG
  [ "$victim" = "$grower" ] && verdict=RIGHT
  [ -z "$line" ] && verdict="NO_KILL (available ${avail}%, kill at ${kill_pct}%)"
  echo "run $run: grower=$grower victim=${victim:-none} $verdict $(echo "$line" |
    grep -o 'rss_mib=[0-9.]*\| read=[a-z_]*\|read_unchanged=[0-9]*\|rivals_read=[0-9]*\|unseen_growth_mib=[0-9.]*\|snapshot_age_ms=[0-9]*\|scan_ms=[0-9.]*' |
    tr '\n' ' ')"
done
