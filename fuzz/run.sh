#!/usr/bin/env bash
# Runs every libFuzzer target built in BUILD (default build-fuzz) for FUZZ_SECONDS (default
# 30) each, seeded with the captured files under tests/fixtures. The corpus grows in
# BUILD/fuzz-corpus/<target> across runs; a crashing input lands in BUILD/fuzz-artifacts/.
# Prints one line per target (executions, corpus size) and exits 1 if any target crashed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-fuzz}
secs=${FUZZ_SECONDS:-30}
fx=$root/tests/fixtures

# The captured files each parser family reads.
seeds() {
  case $1 in
    fuzz_meminfo) find "$fx" -name 'meminfo*' ;;
    fuzz_psi) find "$fx" \( -path '*/pressure/*' -o -name 'memory.pressure' -o -name 'psi_*' \) ;;
    fuzz_pid_stat) find "$fx" \( -name stat -o -name 'stat_*' \) ;;
    fuzz_pid_status) find "$fx" \( -name status -o -name 'status_*' \) ;;
    fuzz_pid_misc) find "$fx/proc" \( -name statm -o -name 'statm_*' -o -name 'oom_score*' \
                     -o -name cmdline -o -name cgroup -o -name 'cgroup_*' \) ;;
    fuzz_cgroup_memory) find "$fx/cgroup" -type f -name 'memory.*' ; find "$fx/cgroup/hostile" -type f ;;
    fuzz_vmstat) find "$fx" -name 'vmstat*' ;;
    fuzz_config) find "$fx/config" "$root/packaging/config" -name '*.toml' ;;
  esac
  find "$fx/proc/hostile" \( -name garbage -o -name empty \)
}

failed=0
ran=0
for bin in "$build"/fuzz_*; do
  [ -x "$bin" ] && [ -f "$bin" ] || continue
  t=$(basename "$bin")
  seed_dir=$build/fuzz-seeds/$t corpus=$build/fuzz-corpus/$t art=$build/fuzz-artifacts/$t/
  rm -rf "$seed_dir" && mkdir -p "$seed_dir" "$corpus" "$art"
  n=0
  while IFS= read -r f; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    cp "$f" "$seed_dir/$n-$(basename "$f")"
  done < <(seeds "$t" | sort -u)
  log=$build/fuzz-$t.log
  # rss_limit keeps a runaway input from hurting a shared machine; it counts as a crash.
  "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
    -artifact_prefix="$art" "$corpus" "$seed_dir" >"$log" 2>&1
  rc=$?
  ran=$((ran + 1))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%-20s seeds=%-3d execs=%-10s corpus=%-5d rc=%d\n' "$t" "$n" "${execs:-?}" \
    "$(find "$corpus" -type f | wc -l)" "$rc"
  if [ "$rc" != 0 ]; then
    failed=1
    echo "--- $t crashed; log: $log; artifacts: $art"
    grep -E 'ERROR|SUMMARY|invariant|runtime error|Test unit written' "$log" | head -20
  fi
done
if [ "$ran" = 0 ]; then
  echo "fuzz: no fuzz_* binaries in $build" >&2
  exit 1
fi
exit $failed
