#!/usr/bin/env bash
# Which pages of reaperd's binary its first kill reads from disk (major faults): a memory
# cgroup of our own with a 128 MiB limit, reaperd guarding it (--scope cgroup:PATH, real
# kills only inside it, no report written), the page cache dropped once it has started, a
# hog in the cgroup, and perf's major-faults with their addresses for 5 s. Prints each
# fault's offset in the binary, its section and the bytes there. Needs root, a cgroup memory
# controller and perf. Drops the machine's clean page cache (echo 1 > drop_caches).
# Usage: tools/first_kill_faults.sh [BINARY]
set -euo pipefail
BIN=$(readlink -f "${1:-build/reaperd}")
OUT=$(mktemp -d /tmp/reaperd-faults-XXXXXX)
command -v perf > /dev/null || { echo "perf is not installed (apt-get install linux-perf)"; exit 1; }
if [[ -d /sys/fs/cgroup/memory ]]; then  # v1: under our own memory cgroup
  base=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
  mnt=/sys/fs/cgroup/memory
  limit=memory.limit_in_bytes
else  # v2
  base=$(awk -F: '$1 == "0" {print $3}' /proc/self/cgroup)
  mnt=/sys/fs/cgroup
  limit=memory.max
fi
cg="${base%/}/reaperd-faults-$$"
mkdir "$mnt$cg"
echo $((128 << 20)) > "$mnt$cg/$limit"
cleanup() {
  [[ -n ${R:-} ]] && kill "$R" 2> /dev/null || true
  for p in $(cat "$mnt$cg/cgroup.procs" 2> /dev/null); do kill -KILL "$p" 2> /dev/null || true; done
  sleep 0.5
  rmdir "$mnt$cg" 2> /dev/null || true
}
trap cleanup EXIT
printf '[report]\nkill_report_path = ""\nmetrics_textfile_path = ""\nstatus_socket = ""\n[watchdog]\nreport_path = ""\n' \
  > "$OUT/safe.toml"
"$BIN" run --scope "cgroup:$cg" --config "$OUT/safe.toml" > "$OUT/daemon.log" 2>&1 &
R=$!
sleep 4  # started and settled
load=$(awk -v bin="$BIN" '$6 == bin {split($1, a, "-"); print a[1]; exit}' "/proc/$R/maps")
majflt() { awk '{print $12}' "/proc/$R/stat"; }
before=$(majflt)
sync
echo 1 > /proc/sys/vm/drop_caches
perf record -q -e major-faults -c 1 -d -p "$R" -o "$OUT/perf.data" -- sleep 5 2> /dev/null &
P=$!
sleep 0.5
sh -c "echo \$\$ > $mnt$cg/cgroup.procs; exec python3 -c 'import time
b = []
while True:
    b.append(bytearray(8 << 20))
    time.sleep(0.02)'" 2> /dev/null &
wait "$P"
echo "major faults: $before before the drop, $(majflt) after the kill"
grep -E ' kill seq=| reaped seq=' "$OUT/daemon.log" | cut -c1-120 || echo "(no kill)"
echo "faults (thread, offset in the binary, section, instruction, bytes there):"
# Each section's name, address and size (after readelf's [N] column).
readelf -SW "$BIN" | sed -n 's/^ *\[ *[0-9]*\] //p' | awk '$1 ~ /^\./ {print $1, $3, $5}' > "$OUT/sections"
perf script -i "$OUT/perf.data" -F tid,addr,ip,sym 2> /dev/null | while read -r tid addr ip sym; do
  off=$((0x$addr - 0x$load))
  if ((off < 0 || off > 0x10000000)); then
    printf '  %s 0x%s (not in the binary) %s %s\n' "$tid" "$addr" "$ip" "$sym"
    continue
  fi
  sec=
  while read -r name addr size; do
    if ((off >= 0x$addr && off < 0x$addr + 0x$size)); then sec=$name; break; fi
  done < "$OUT/sections"
  bytes=$(dd if="$BIN" bs=1 skip="$off" count=40 2> /dev/null | tr '\0\n' '|~' | tr -cd '[:print:]')
  printf '  %s +0x%x %s %s %s "%s"\n' "$tid" "$off" "${sec:-?}" "$ip" "$sym" "$bytes"
done
echo "(raw data: $OUT)"
