#!/bin/bash
# Measures an idle daemon's footprint: starts COMMAND, lets it settle for SECONDS, prints
# VmRSS, VmLck and VmHWM from /proc/PID/status (and, with -t, the per-mapping table of
# tools/rss_table.py), then stops it with SIGTERM (SIGKILL after 5 s) and waits for it.
# Only the process this script started is signalled.
# Usage: footprint.sh [-s SECONDS] [-t] -- COMMAND [ARGS...]
# e.g.   tools/footprint.sh -s 10 -t -- build/reaperd run --dry-run
#        tools/footprint.sh -s 10 -- earlyoom --dryrun      (never earlyoom without --dryrun)
set -u
secs=10 table=0
while getopts "s:t" o; do
  case $o in
    s) secs=$OPTARG ;;
    t) table=1 ;;
    *) echo "usage: $0 [-s SECONDS] [-t] -- COMMAND [ARGS...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] || { echo "usage: $0 [-s SECONDS] [-t] -- COMMAND [ARGS...]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)

"$@" > /dev/null 2>&1 &
pid=$!
trap 'kill -KILL $pid 2> /dev/null' EXIT
sleep "$secs"
if ! kill -0 $pid 2> /dev/null; then
  echo "footprint: $1 exited before the reading" >&2
  exit 1
fi
[ $table = 1 ] && python3 "$here/rss_table.py" $pid --min-kb 4
# One line a script can parse: the values in kB.
awk -v cmd="$*" '/^(VmRSS|VmLck|VmHWM):/ {v[$1] = $2}
  END {printf "footprint: VmRSS=%d VmLck=%d VmHWM=%d kB  (%s)\n", v["VmRSS:"], v["VmLck:"],
       v["VmHWM:"], cmd}' /proc/$pid/status
kill -TERM $pid
for _ in $(seq 50); do kill -0 $pid 2> /dev/null || break; sleep 0.1; done
wait $pid 2> /dev/null
exit 0
