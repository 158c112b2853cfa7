#!/usr/bin/env bash
# The daemon's resident peak after kills in a cgroup scope (issue 13: the 2 MiB target), and
# where in its executable it is. Safe on any machine: the kills happen only inside a child
# cgroup this script makes under its own (memory controller, v1 or v2) with a 256 MiB limit,
# and the hogs it starts there are the only processes in it. For each BIN: starts
# `BIN run --scope cgroup:CHILD`, runs KILLS hogs one after another (each allocates 8 MiB every
# 30 ms until it is killed, at most 10 s), then prints VmHWM and tools/exe_pages.py's
# per-section count of the executable's resident pages, and stops the daemon.
# EVICT=1 drops each binary from the page cache before it starts (as after a boot, where only
# what exec and the start-up read is cached, and fault-around finds fewer neighbours to map);
# by default a binary just built or installed is wholly cached.
# Usage: [EVICT=1] bench/kill_footprint.sh [KILLS] BIN [BIN...]     (root)
set -euo pipefail
kills=2
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then kills=$1; shift; fi
[ $# -ge 1 ] || { sed -n '2,10p' "$0"; exit 64; }
here=$(cd "$(dirname "$0")/.." && pwd)
mine=$(awk -F: '$2 == "memory" || $2 == "" {print $3; exit}' /proc/self/cgroup)
if [ -d /sys/fs/cgroup/memory ]; then base=/sys/fs/cgroup/memory; else base=/sys/fs/cgroup; fi
for bin in "$@"; do
  rel=$mine/reaperd-footprint-$$
  cg=$base$rel
  mkdir -p "$cg"
  if [ -e "$cg/memory.limit_in_bytes" ]; then echo $((256 << 20)) >"$cg/memory.limit_in_bytes"
  else echo $((256 << 20)) >"$cg/memory.max"; fi
  log=$(mktemp)
  if [ "${EVICT:-0}" = 1 ]; then
    sync "$bin"
    python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$bin"
  fi
  "$bin" run --scope "cgroup:$rel" >"$log" 2>&1 &
  daemon=$!
  sleep 4
  for _ in $(seq 1 "$kills"); do  # (stderr off: the shell's notices of the hogs' SIGKILL)
    sh -c "echo \$\$ >$cg/cgroup.procs; exec python3 -c '
import time
a = []
while True:
    a.append(bytearray(8 << 20)); time.sleep(0.03)'" &
    hog=$!
    for _ in $(seq 1 100); do kill -0 $hog 2>/dev/null || break; sleep 0.1; done
    kill -KILL $hog 2>/dev/null || true
    { wait $hog; } 2>/dev/null || true
    sleep 1
  done 2>/dev/null
  echo "== $bin: $(grep -c ' kill seq=' "$log" || true) kills; $(grep -E 'VmHWM|VmRSS' /proc/$daemon/status | tr -s ' \t' ' ' | paste -sd' ')"
  python3 "$here/tools/exe_pages.py" $daemon
  kill $daemon
  wait $daemon 2>/dev/null || true
  # Whatever is left in the cgroup is ours: killed, and the cgroup removed once it is empty
  # (a cgroup left behind with a limit became an automatic scope of every later daemon).
  for _ in $(seq 1 50); do
    for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    rmdir "$cg" 2>/dev/null && break
    sleep 0.1
  done
  [ -d "$cg" ] && echo "WARNING: could not remove $cg" >&2
  rm -f "$log"
done
