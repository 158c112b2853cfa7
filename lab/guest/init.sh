#!/bin/sh
# The lab VM's init (PID 1). Mounts the basics, lays out cgroups the way a systemd host has
# them (so oomd's packaged rules find their slices), then, per the kernel command line:
#   lab.mode=probe    prints LAB-BOOT-OK and powers off (the KVM probe)
#   lab.mode=capture  captures cgroup v2 fixture files
#   lab.mode=runs     lab.runs=CONTENDER:SCENARIO:REP,... runs each in turn
# Results go to the second disk (/dev/vdb) as a tar rewritten after every run, so a run that
# wedges the VM loses only itself; one LABRESULT line per run also goes to the console.
# PID 1 must never exit (the kernel would panic): it powers off with sysrq o instead.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo 1 >/proc/sys/kernel/sysrq
hostname lab

poweroff_now() {
  sync
  echo o >/proc/sysrq-trigger
  sleep 30
}
trap poweroff_now EXIT

arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^lab\.$1=//p"; }
CG=/sys/fs/cgroup
OUT=/run/lab/out
mkdir -p $OUT

# The layout of a systemd host: PID 1 in init.scope, daemons in system.slice (nohang in
# hostcritical.slice, as its unit says), the workload in a user's service manager.
echo "+memory +pids" >$CG/cgroup.subtree_control
for d in init.scope system.slice hostcritical.slice user.slice user.slice/user-0.slice \
  user.slice/user-0.slice/user@0.service; do
  mkdir -p $CG/$d
done
echo $$ >$CG/init.scope/cgroup.procs
for d in system.slice hostcritical.slice user.slice user.slice/user-0.slice \
  user.slice/user-0.slice/user@0.service; do
  echo "+memory +pids" >$CG/$d/cgroup.subtree_control
done

save() { tar -cf /dev/vdb -C $OUT . 2>/dev/null; sync; }

# Starts a contender the way its packaged systemd unit would (same command line, same cgroup
# and memory settings); sets DPID (0 for the kernel alone).
start_contender() {
  c=$1 log=$2
  DPID=0
  case $c in
    kernel) return 0 ;;
    earlyoom)
      . /etc/default/earlyoom
      unit=system.slice/earlyoom.service
      cmd="/usr/bin/earlyoom $EARLYOOM_ARGS"
      lim=memory.max val=50M ;;
    nohang)
      unit=hostcritical.slice/nohang.service
      cmd="/usr/sbin/nohang --monitor --config /etc/nohang/nohang.conf"
      lim=memory.max val=100M ;;
    oomd)
      . /etc/default/oomd
      unit=system.slice/oomd.service
      # Guest adjustment: cgroup2 is mounted at /sys/fs/cgroup here, not /sys/fs/cgroup/unified.
      cmd="/usr/bin/oomd $(echo "$DAEMON_OPTS" | sed 's|/sys/fs/cgroup/unified|/sys/fs/cgroup|')"
      lim=memory.low val=64M ;;
    reaperd)
      unit=system.slice/reaperd.service
      cmd="/opt/lab/reaperd run"
      lim="" val="" ;;
    *) echo "LABERROR unknown contender $c"; return 1 ;;
  esac
  mkdir -p $CG/$unit
  [ -n "$lim" ] && echo $val >$CG/$unit/$lim
  echo "$cmd" >$log.cmd
  sh -c "echo \$\$ >$CG/$unit/cgroup.procs; exec $cmd" >$log 2>&1 </dev/null &
  DPID=$!
}

# utime + stime of a process, in clock ticks (the fields after "comm)").
cpu_ticks() { sed 's/.*) //' /proc/$1/stat 2>/dev/null | awk '{print $12 + $13}'; }

# Waits 1 s, then 1 s at a time until the contender used at most one tick (1% of a CPU) over
# a second, at most 30 s; writes what it waited and the start-up's CPU to settle.txt.
settle_contender() {
  sleep 1
  [ "$DPID" -gt 0 ] || return 0
  waited=1 prev=$(cpu_ticks $DPID)
  while [ $waited -lt 30 ]; do
    sleep 1
    waited=$((waited + 1))
    cur=$(cpu_ticks $DPID)
    [ -n "$cur" ] || break
    [ $((cur - prev)) -le 1 ] && break
    prev=$cur
  done
  echo "waited_s=$waited startup_cpu_ticks=${cur:-gone} (USER_HZ 100)" >$1/settle.txt
}

stop_contender() {
  [ "$DPID" -gt 0 ] || return 0
  kill -TERM $DPID 2>/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 $DPID 2>/dev/null || break; sleep 0.3; done
  kill -KILL $DPID 2>/dev/null
  wait $DPID 2>/dev/null
}

# lab.trace=1 (LAB_APPEND="lab.trace=1"): the contender's main thread's every switch off and
# onto a CPU, with the kernel stack it left from, its direct reclaims (begin, with the stack
# of the allocation that entered it, and end), and every reclaim throttle
# (vmscan:mm_vmscan_throttled, any task), into trace.txt beside the run's results: where the
# loop thread waits, or reclaims on the kernel's behalf, during a kill. Not in the default
# runs (the stacks cost guest CPU).
T=/sys/kernel/tracing
trace_begin() {
  [ "$(arg trace)" = 1 ] && [ "$DPID" -gt 0 ] || return 0
  [ -d $T/events ] || mount -t tracefs nodev $T 2>/dev/null || return 0
  echo 0 >$T/tracing_on
  echo mono >$T/trace_clock  # the daemon's clock: a kill line's decided_mono_ms matches it
  echo 4096 >$T/buffer_size_kb
  : >$T/trace
  echo "prev_pid == $DPID || next_pid == $DPID" >$T/events/sched/sched_switch/filter
  echo 1 >$T/events/sched/sched_switch/enable
  echo 1 >$T/events/vmscan/mm_vmscan_throttled/enable
  for e in mm_vmscan_direct_reclaim_begin mm_vmscan_direct_reclaim_end; do
    echo "common_pid == $DPID" >$T/events/vmscan/$e/filter
    echo 1 >$T/events/vmscan/$e/enable
  done
  echo 1 >$T/options/stacktrace
  echo 1 >$T/tracing_on
}
trace_end() {
  [ "$(arg trace)" = 1 ] && [ -d $T/events ] || return 0
  echo 0 >$T/tracing_on
  cat $T/trace >$1/trace.txt 2>/dev/null
  echo 0 >$T/events/sched/sched_switch/enable
  echo 0 >$T/events/vmscan/mm_vmscan_throttled/enable
  echo 0 >$T/events/vmscan/mm_vmscan_direct_reclaim_begin/enable
  echo 0 >$T/events/vmscan/mm_vmscan_direct_reclaim_end/enable
  echo 0 >$T/options/stacktrace
}

run_one() {
  c=$1 s=$2 r=$3
  dir=$OUT/$c/$s/$r
  mkdir -p $dir
  echo "LABRUN begin $c $s $r uptime=$(cut -d' ' -f1 /proc/uptime)"
  rm -f /opt/lab/churn.dat
  sync
  echo 3 >/proc/sys/vm/drop_caches
  start_contender $c $dir/daemon.log || return
  # Let the daemon start, and finish starting: the harness counts the daemon's CPU from its
  # own start, and reaperd's start-up (warm-up scan, kill drill, locking its hot code, the
  # binary read again after drop_caches) took 1-2.7 s of CPU under TCG, so a fixed 2 s wait
  # let its tail into some runs' figure (session 14). The harness adds 1 s of baseline.
  settle_contender $dir
  if [ "$DPID" -gt 0 ] && ! kill -0 $DPID 2>/dev/null; then
    echo "LABERROR $c exited at startup: $(tail -c 600 $dir/daemon.log | tr '\n' ' ')"
  fi
  trace_begin
  timeout -k 5 300 /opt/lab/labtool run $s $c $DPID $dir >$dir/harness.out 2>&1
  echo "harness exit $?" >>$dir/harness.out
  trace_end $dir
  grep -h LABRESULT $dir/harness.out || echo "LABERROR no result: $(tail -c 400 $dir/harness.out)"
  stop_contender
  dmesg >$dir/dmesg.txt
  rm -f /opt/lab/churn.dat
  save
}

capture() {
  # A child with a limit, a hog that the memcg OOM killer ends, and a live bystander, so
  # memory.events and memory.pressure hold real, non-zero counts.
  ch=$CG/lab.slice
  mkdir -p $ch
  echo 64M >$ch/memory.max
  sh -c "echo \$\$ >$ch/cgroup.procs; exec /opt/lab/bin/bystander 8192" &
  by=$!
  sh -c "echo \$\$ >$ch/cgroup.procs; exec /opt/lab/bin/hog 16384 131072" &
  hog=$!
  wait $hog
  # memory.high only now: a hog throttled at memory.high without swap crawls for minutes.
  echo 48M >$ch/memory.high
  sleep 2
  d=$OUT/fixture
  mkdir -p $d/lab.slice $d/proc/pressure
  for f in cgroup.procs cgroup.controllers cgroup.subtree_control memory.stat memory.pressure \
    memory.numa_stat cgroup.stat; do
    [ -e $CG/$f ] && cat $CG/$f >$d/$f
  done
  for f in memory.current memory.max memory.high memory.low memory.min memory.events \
    memory.events.local memory.stat memory.pressure memory.swap.current memory.swap.max \
    memory.oom.group memory.peak cgroup.procs cgroup.controllers cgroup.events; do
    if [ -e $ch/$f ]; then cat $ch/$f >$d/lab.slice/$f; else echo "$f" >>$d/MISSING; fi
  done
  cat /proc/meminfo >$d/proc/meminfo
  cat /proc/pressure/memory >$d/proc/pressure/memory
  uname -r >$d/KERNEL
  kill -KILL $by
  wait $by
  rmdir $ch
  save
  echo "LABCAPTURE done"
}

# The first scenario after boot stalled every task for 1.5-3 s when memory first went past
# about 80% used (no PSI stall; with earlyoom first as with reaperd first: session 10), so
# the first contender's probe gap measured the boot, not the contender. Memory is used and
# given back once before any run. Filling 85% once was not enough: the first growers run of
# each boot still stalled the probe 1.3-2.6 s, for reaperd and earlyoom alike (sessions 18-20),
# and the later ones 20-190 ms. So the warm-up goes to the brink, as a run does: a hog made to
# outgrow a cgroup capped at 97% of what is available, ended there by the memcg OOM killer.
warm_up() {
  kb=$(awk '/MemAvailable/ {print int($2 * 0.97)}' /proc/meminfo)
  wc=$CG/lab-warmup.slice
  mkdir -p $wc
  echo $((kb * 1024)) >$wc/memory.max
  sh -c "echo \$\$ >$wc/cgroup.procs; exec /opt/lab/bin/hog 0 $((kb + kb / 8))" &
  wp=$!
  for _ in $(seq 1 300); do
    kill -0 $wp 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL $wp 2>/dev/null
  wait $wp 2>/dev/null
  echo "LABWARMUP kb=$kb peak_kb=$(($(cat $wc/memory.peak 2>/dev/null || echo 0) / 1024))" \
    "$(grep oom_kill $wc/memory.events | tr '\n' ' ')"
  rmdir $wc
}

echo "LAB-BOOT-OK kernel=$(uname -r) mem=$(sed -n 's/MemTotal: *//p' /proc/meminfo)"
case "$(arg mode)" in
  probe) ;;
  capture) capture ;;
  runs)
    warm_up
    for spec in $(arg runs | tr ',' ' '); do
      IFS=: read c s r <<EOF
$spec
EOF
      run_one $c $s $r
    done ;;
esac
echo "LAB-DONE"
poweroff_now
