#!/bin/bash
# The unit's capability set is enough, and each tested capability is needed: `reaperd run`
# with exactly the unit's CapabilityBoundingSet (uid 0, as systemd runs it, with
# NoNewPrivileges), scoped to a memory-limited v1 cgroup this script creates, kills and reaps
# a hog of another uid there before the kernel's memcg OOM killer acts. Then, under strace,
# every system call the daemon made is checked against the unit's SystemCallFilter. Then,
# without CAP_KILL, the same kill must fail (so the check can fail, and CAP_KILL is needed).
# Capabilities this sandbox lacks even as root (CAP_SYS_RESOURCE here) are left out, and
# said so. The cgroup is removed whatever happens.
# Usage: capabilities.sh BUILD_DIR SOURCE_DIR REAPERD_BINARY
set -u
build=$(cd "$1" && pwd) src=$2 bin=$3
unit=$src/packaging/systemd/reaperd.service
mem=/sys/fs/cgroup/memory
py=/usr/bin/python3
skip() { echo "SKIP: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v setpriv > /dev/null || skip "setpriv missing (util-linux)"
command -v capsh > /dev/null || skip "capsh missing (libcap2-bin)"
[ -x $py ] || skip "$py missing"
[ -f $mem/memory.usage_in_bytes ] || skip "no cgroup v1 memory controller at $mem"
parent=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
[ -n "$parent" ] || skip "no memory line in /proc/self/cgroup"
parent=${parent%/}

fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
stage=$build/caps-test-$$
cg=$parent/reaperd-caps-$$
cgdir=$mem$cg
daemon= rpid=
cleanup() {
  [ -n "$rpid" ] && kill -KILL "$rpid" 2> /dev/null
  [ -n "$daemon" ] && kill -KILL "$daemon" 2> /dev/null
  if [ -d "$cgdir" ]; then
    for _ in $(seq 200); do
      procs=$(cat "$cgdir/cgroup.procs" 2> /dev/null)
      [ -z "$procs" ] && break
      kill -KILL $procs 2> /dev/null  # only the processes this script put there
      sleep 0.01
    done
    rmdir "$cgdir" 2> /dev/null || echo "WARNING: could not remove $cgdir" >&2
  fi
  rm -rf "$stage"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$stage" && chmod 755 "$stage"
mkdir "$cgdir" || skip "cannot create $cgdir"
echo $((256 << 20)) > "$cgdir/memory.limit_in_bytes" || skip "cannot set the memory limit"

# The unit's set, as setpriv wants it; the ones the sandbox lacks are dropped, and said so.
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
[ -n "$caps" ] || { echo "FAIL: no CapabilityBoundingSet in $unit" >&2; exit 1; }
own=$(capsh --decode="$(awk '/^CapBnd/ {print $2}' /proc/self/status)" | sed 's/.*=//')
tested=""
for c in $caps; do
  name=$(echo "${c#CAP_}" | tr 'A-Z' 'a-z')
  if [[ ",$own," == *",cap_$name,"* ]]; then
    tested="$tested $c"
  else
    echo "NOTE: $c is in the unit but not in this sandbox's bounding set: not tested" >&2
  fi
done
echo "capabilities tested:$tested"

cat > "$stage/hog.py" << 'HOG'
import sys, time
pause = float(sys.argv[1])
hold = []
for i in range(75):
    hold.append(b"x" * (8 << 20))  # touched: resident at once
    time.sleep(pause)
time.sleep(30)
HOG
cat > "$stage/reaperd.toml" << CONF
[report]
kill_report_path = "$stage/kills.jsonl"
metrics_textfile_path = ""
status_socket = "$stage/status.sock"
[watchdog]
report_path = "$stage/stalls.jsonl"
CONF

# Runs the daemon with capability set $1 (and strace when $2 is set) until the hog is dead.
# Leaves the daemon's log in $stage/log.$3 and the oom_kill count in $stage/oom.$3.
run_case() {
  local set=$1 trace=$2 tag=$3
  local sp=-all c
  for c in $set; do sp="$sp,+$(echo "${c#CAP_}" | tr 'A-Z' 'a-z')"; done
  local before
  before=$(awk '$1 == "oom_kill" {print $2}' "$cgdir/memory.oom_control")
  local cmd=(setpriv --no-new-privs --inh-caps=-all --bounding-set="$sp" --
             "$bin" run --config "$stage/reaperd.toml" --scope "cgroup:$cg" --run-for-ms 30000)
  : > "$stage/log.$tag"
  if [ -n "$trace" ]; then
    strace -f -qq -o "$stage/strace.$tag" "${cmd[@]}" 2> "$stage/log.$tag" &
  else
    "${cmd[@]}" 2> "$stage/log.$tag" &
  fi
  daemon=$!
  for _ in $(seq 250); do grep -q "start version=" "$stage/log.$tag" && break; sleep 0.02; done
  grep -q "start version=" "$stage/log.$tag" || bad "$tag: the daemon did not start: $(cat "$stage/log.$tag")"
  rpid=$(pgrep -P "$daemon" -x reaperd || echo "$daemon")  # the daemon itself under strace
  grep '^Cap\(Eff\|Bnd\)' /proc/"$rpid"/status > "$stage/caps.$tag" 2> /dev/null
  # Nice values of the daemon's threads (the reaper threads raise theirs: CAP_SYS_NICE).
  cat /proc/"$rpid"/task/*/stat 2> /dev/null | sed 's/.*) //' | awk '{print $17}' | sort -n |
    head -1 > "$stage/nice.$tag"
  # The hog: another uid (so signalling and reading it need capabilities), in the cgroup,
  # growing 8 MiB at a time to 600 MiB, far past the 256 MiB limit: about 250 MiB/s, or
  # 80 MiB/s for a daemon slowed down by strace.
  local pause=0.03
  [ -n "$trace" ] && pause=0.1
  sh -c "echo \$\$ > $cgdir/cgroup.procs &&
    exec setpriv --reuid=65534 --regid=65534 --clear-groups $py $stage/hog.py $pause" &
  local hog=$!
  {  # (no "Killed" job notices)
    for _ in $(seq 1500); do kill -0 $hog || break; sleep 0.02; done
    wait $hog
  } 2> /dev/null
  sleep 0.5  # the reaper's result line
  kill -TERM "$rpid" 2> /dev/null
  wait "$daemon" 2> /dev/null
  daemon= rpid=
  echo $(($(awk '$1 == "oom_kill" {print $2}' "$cgdir/memory.oom_control") - before)) > "$stage/oom.$tag"
}

# 1. The unit's set: the kill and the reap work (a victim whose mm went with its fast exit
#    is "exited", issue 12: release is judged on the victim), and the kernel never had to act.
run_case "$tested" "" full
want=$(for c in $tested; do echo "$c"; done | tr 'A-Z' 'a-z' | sort | paste -sd,)
got=$(capsh --decode="$(awk '/^CapEff/ {print $2}' "$stage/caps.full")" | sed 's/.*=//' | tr ',' '\n' | sort | paste -sd,)
[ "$got" = "$want" ] || bad "the daemon ran with capabilities '$got', not '$want'"
grep -qE "^reaperd\[[a-z]+\] kill seq=" "$stage/log.full" || bad "no kill decision in the log"
grep -qE "^reaperd\[[a-z]+\] reaped .*outcome=(reaped|exited)" "$stage/log.full" ||
  bad "no reaped result in the log: $(grep -E 'kill|reaped' "$stage/log.full")"
grep -q "mlock=failed" "$stage/log.full" && bad "mlockall failed with CAP_IPC_LOCK"
# CAP_SYS_PTRACE: the kill report names the victim's executable (another uid's /proc/PID/exe).
grep -q '"exe":"/usr/bin/python3' "$stage/kills.jsonl" 2> /dev/null ||
  bad "the kill report lacks the victim's exe: $(head -c 600 "$stage/kills.jsonl" 2> /dev/null)"
[ "$(cat "$stage/nice.full")" -lt 0 ] 2> /dev/null ||
  bad "no thread of the daemon raised its priority (lowest nice: $(cat "$stage/nice.full"))"
[ "$(cat "$stage/oom.full")" = 0 ] || bad "the kernel's memcg OOM killer acted ($(cat "$stage/oom.full") kills)"
grep -E "^reaperd\[[a-z]+\] (reaped|self) " "$stage/log.full"

# 2. The same under strace: every system call made must pass the unit's filter.
if command -v strace > /dev/null && command -v systemd-analyze > /dev/null; then
  run_case "$tested" 1 traced
  expand() {  # a systemd syscall group, recursively, one name a line
    systemd-analyze syscall-filter "$1" | tail -n +2 | sed 's/^ *//' | grep -v '^#' |
      while read -r s; do
        [ -z "$s" ] && continue
        if [ "${s#@}" != "$s" ]; then expand "$s"; else echo "$s"; fi
      done
  }
  allowed=$(for s in $(sed -n 's/^SystemCallFilter=//p' "$unit"); do
              if [ "${s#@}" != "$s" ]; then expand "$s"; else echo "$s"; fi
            done | sort -u)
  used=$(sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$stage/strace.traced" | sort -u)
  # Before execve reaperd is setpriv; its calls (capset, prctl ...) are systemd's job there.
  outside=$(comm -23 <(echo "$used") <(echo "$allowed"))
  grep -qE "reaped .*outcome=(reaped|exited)" "$stage/log.traced" ||
    echo "NOTE: under strace the kill did not complete; syscalls checked for what ran: $(tail -3 "$stage/log.traced")" >&2
  if [ -n "$outside" ]; then
    bad "system calls outside the unit's SystemCallFilter: $(echo $outside)"
  else
    echo "system calls used: $(echo "$used" | wc -l), all within the filter; of the kill path:" \
      $(echo "$used" | grep -xE 'pidfd_open|pidfd_send_signal|process_mrelease|kcmp|mlockall')
  fi
else
  echo "NOTE: strace or systemd-analyze missing: the syscall filter was not checked" >&2
fi

# 3. Without CAP_KILL the kill must fail: the check can fail, and CAP_KILL is needed.
run_case "${tested/CAP_KILL/}" "" nokill
if grep -qE "reaped .*outcome=(reaped|exited)" "$stage/log.nokill"; then
  bad "without CAP_KILL the hog of another uid was still killed: the test proves nothing"
fi
grep -E "^reaperd\[[a-z]+\] (kill|reaped) " "$stage/log.nokill" | head -3

# REAPERD_CAPS_EXPLORE=1: also run without each capability in turn and show what changes
# (for choosing the set; nothing asserted).
if [ -n "${REAPERD_CAPS_EXPLORE:-}" ]; then
  for c in $tested; do
    run_case "${tested/$c/}" "" "no-$c"
    echo "== without $c: oom_kill=$(cat "$stage/oom.no-$c") lowest_nice=$(cat "$stage/nice.no-$c")"
    grep -E "^reaperd\[(warning|error)\]|^reaperd\[[a-z]+\] reaped " "$stage/log.no-$c" | cut -c1-240
  done
fi

[ $fail = 0 ] && echo "capabilities: ok"
exit $fail
