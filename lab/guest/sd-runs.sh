#!/bin/bash
# The lab's scenarios on the systemd-booted guest (lab/run.sh sd-runs, issue 14). Started by
# sd-check.sh when the kernel command line says lab.mode=sdruns. Installs reaperd's .deb with
# apt (then stops it), unmasks the other OOM killers' packaged units, and runs
# lab.runs=CONTENDER:SCENARIO:REP,... one at a time: the contender is started as its unit
# (systemctl start), the harness makes every workload cgroup a transient scope in user.slice
# (systemd-run --scope --slice=user.slice), then the contender is stopped again.
# Results: OUT/CONTENDER/SCENARIO/REP as in the shell lab (the tar on the second disk, one
# LABRESULT line per run on the console). The scenario "oomd_test" is systemd's own
# integration test for systemd-oomd (TEST-55-OOMD), see run_oomd_test.
set -u
PATH=/usr/sbin:/usr/bin:/sbin:/bin
OUT=/run/lab-out
mkdir -p $OUT/_sd
say() { echo "LABSD $*"; }
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^lab\.$1=//p"; }
prop() { systemctl show -P "$2" "$1"; }
save() {
  tar -cf /dev/vdb -C $OUT . 2>/dev/null
  sync
}
# The limit users set on the workload's slice (Debian's user@.service drop-in says 50%;
# systemd's TEST-55 workload slice says 20%): see lab/README.md.
OOMD_LIMIT=${OOMD_LIMIT:-20%}

# reaperd from its package, as a user installs it; stopped until its runs.
DEBIAN_FRONTEND=noninteractive apt-get install -y /opt/lab/reaperd.deb >$OUT/_sd/apt-install.log 2>&1 ||
  say "FAIL install: $(tail -2 $OUT/_sd/apt-install.log | tr '\n' ' ')"
systemctl stop reaperd
# The image masks the other OOM killers so none starts at boot; unmasked, each is started by
# its own unit for its runs only.
systemctl unmask earlyoom.service nohang.service oomd.service systemd-oomd.service \
  systemd-oomd.socket >/dev/null 2>&1
# oomd's Debian default targets the hybrid layout (/sys/fs/cgroup/unified); this guest is
# unified-only (the shell lab makes the same adjustment).
sed -i 's|/sys/fs/cgroup/unified|/sys/fs/cgroup|' /etc/default/oomd
systemctl daemon-reload
systemctl stop earlyoom nohang oomd systemd-oomd.service systemd-oomd.socket 2>/dev/null
say "INFO sdruns: systemd $(systemctl --version | head -1 | cut -d' ' -f2), reaperd $(dpkg-query -W -f '${Version}' reaperd)," \
  "oomd.conf: $(systemd-analyze cat-config systemd/oomd.conf | grep -v '^#' | grep '=' | tr '\n' ' ')"

unit_of() {
  case $1 in
    reaperd) echo reaperd.service ;;
    systemd-oomd) echo systemd-oomd.service ;;
    earlyoom | nohang | oomd) echo "$1.service" ;;
    *) echo "" ;;
  esac
}

# Starts contender $1 by its unit; sets DPID (0: the kernel alone).
start_contender() {
  local c=$1 u
  DPID=0
  u=$(unit_of "$c")
  if [ "$c" != systemd-oomd ]; then
    # Units with ManagedOOM*= (oomd_test's) make systemd start systemd-oomd on its own: masked
    # for the other contenders' runs, or it acts beside them (it killed testmunch and
    # testchill in a reaperd run; reaperd logged coexist other="systemd-oomd").
    systemctl mask --runtime --now systemd-oomd.service systemd-oomd.socket >/dev/null 2>&1
  fi
  if [ "$c" = systemd-oomd ] && [ "${OOMD_AS_SHIPPED:-0}" = 0 ]; then
    # What its users write: ManagedOOMMemoryPressure=kill on the workload's slice.
    systemctl set-property --runtime user.slice ManagedOOMMemoryPressure=kill \
      ManagedOOMMemoryPressureLimit=$OOMD_LIMIT
  fi
  [ "$c" = systemd-oomd ] && systemctl start systemd-oomd.socket
  [ "$c" = reaperd-pod ] && { start_reaperd_pod; return 0; }
  [ -n "$u" ] || return 0
  systemctl start "$u" || say "INFO $c: systemctl start $u failed: $(systemctl status --no-pager $u 2>&1 | tail -3 | tr '\n' ' ')"
  for _ in $(seq 1 50); do
    [ "$(prop $u ActiveState)" = active ] && break
    sleep 0.2
  done
  DPID=$(prop "$u" MainPID)
  [ -n "$DPID" ] || DPID=0
}

# reaperd-pod (issue 16): the image of deploy/container/build.sh (/opt/lab/reaperd-image.tar),
# run as deploy/kubernetes/daemonset.yaml runs it: host PID namespace, only the DaemonSet's
# capabilities, no new privileges, a read-only root, the host's cgroup tree read-only, the
# ConfigMap's reaperd.toml (/opt/lab/reaperd-pod.toml), the run, state, textfile and pod-log
# directories, its resources (64 MiB limit; 100m CPU requested, as a weight, REAPERD_POD_CPUS
# for a quota). No --cgroupns: on cgroup v2 the
# container gets a private cgroup namespace, as a pod does under containerd and CRI-O.
REAPERD_POD_IMAGE=localhost/reaperd:latest
start_reaperd_pod() {
  podman_image >/dev/null 2>&1
  podman image exists $REAPERD_POD_IMAGE ||
    podman load -q -i /opt/lab/reaperd-image.tar >$OUT/_sd/reaperd-image-load.log 2>&1 ||
    say "INFO reaperd-pod: podman load failed: $(tail -2 $OUT/_sd/reaperd-image-load.log | tr '\n' ' ')"
  local d=/run/lab-reaperd-pod
  rm -rf $d && mkdir -p $d/conf $d/run $d/state $d/textfile /var/log/pods
  cp /opt/lab/reaperd-pod.toml $d/conf/reaperd.toml
  podman rm -f -t 0 lab-reaperd >/dev/null 2>&1
  podman run -d --name lab-reaperd --pid=host --network=none --log-driver=k8s-file \
    --cap-drop=ALL --cap-add=KILL,SYS_PTRACE,DAC_OVERRIDE,SYS_RESOURCE,IPC_LOCK,SYS_NICE \
    --security-opt no-new-privileges --read-only --memory=64m --memory-swap=64m \
    $([ -n "${REAPERD_POD_CPUS:-}" ] && echo --cpus=$REAPERD_POD_CPUS || echo --cpu-shares=102) \
    -v /sys/fs/cgroup:/sys/fs/cgroup:ro -v /var/log/pods:/var/log/pods:ro \
    -v $d/conf:/etc/reaperd:ro -v $d/run:/run/reaperd -v $d/state:/var/lib/reaperd \
    -v $d/textfile:/var/lib/node_exporter/textfile_collector \
    $REAPERD_POD_IMAGE run --config /etc/reaperd/reaperd.toml >$OUT/_sd/reaperd-pod-run.log 2>&1 ||
    say "INFO reaperd-pod: podman run failed: $(tail -3 $OUT/_sd/reaperd-pod-run.log | tr '\n' ' ')"
  for _ in $(seq 1 50); do
    podman logs lab-reaperd 2>&1 | grep -q '\] start .*version=' && break
    sleep 0.2
  done
  DPID=$(podman inspect -f '{{.State.Pid}}' lab-reaperd 2>/dev/null)
  [ -n "$DPID" ] || DPID=0
  say "INFO reaperd-pod: pid $DPID cgroupns $(readlink /proc/$DPID/ns/cgroup) (host $(readlink /proc/1/ns/cgroup))," \
    "$(podman logs lab-reaperd 2>&1 | grep -o 'cgroup_ns_base=[^ ]*' | head -1)"
}

stop_contender() {
  local c=$1 u
  u=$(unit_of "$c")
  [ -n "$u" ] && systemctl stop "$u"
  [ "$c" = reaperd-pod ] && podman rm -f -t 2 lab-reaperd >/dev/null 2>&1
  systemctl unmask --runtime systemd-oomd.service systemd-oomd.socket >/dev/null 2>&1
  if [ "$c" = systemd-oomd ]; then
    systemctl stop systemd-oomd.socket
    systemctl set-property --runtime user.slice ManagedOOMMemoryPressure=auto \
      ManagedOOMMemoryPressureLimit=0%
  fi
}

cleanup_units() {
  systemctl stop 'lab-*.scope' 'lab-*.service' >/dev/null 2>&1
  systemctl reset-failed 'lab-*' >/dev/null 2>&1
}

# systemd's TEST-55-OOMD (testcase_preference_avoid), in this guest: a workload slice with
# ManagedOOMMemoryPressure=kill and ManagedOOMMemoryPressureLimit=20%, three services in it:
# testchill (idle), testbloat (MemoryHigh=3M, ten hogs of 200 MiB, ManagedOOMPreference=avoid)
# and testmunch (MemoryHigh=12M, a hog growing 16 MiB/s); a 64 MiB swap file as TEST-55 adds in
# a VM; oomd.conf's DefaultMemoryPressureDurationSec=2s as TEST-55 sets only for the
# systemd-oomd runs (the test's own oomd configuration). Expected: testmunch dies, testchill
# and the avoided testbloat survive. Waits like the test: up to 120 s for testmunch to die.
run_oomd_test() {
  local c=$1 r=$2 dir=$OUT/$1/oomd_test/$2
  mkdir -p "$dir"
  say "INFO oomd_test begin $c $r uptime=$(cut -d' ' -f1 /proc/uptime)"
  [ -f /swapfile ] || { fallocate -l 64M /swapfile && chmod 0600 /swapfile && mkswap /swapfile >/dev/null; }
  swapon /swapfile
  mkdir -p /run/systemd/system
  printf '[Slice]\nMemoryAccounting=true\nManagedOOMMemoryPressure=kill\nManagedOOMMemoryPressureLimit=20%%\n' \
    >/run/systemd/system/lab-workload.slice
  if [ "$c" = systemd-oomd ]; then
    mkdir -p /run/systemd/oomd.conf.d
    printf '[OOM]\nDefaultMemoryPressureDurationSec=2s\n' >/run/systemd/oomd.conf.d/99-lab-test55.conf
  fi
  systemctl daemon-reload
  local since t0
  since=$(date '+%Y-%m-%d %H:%M:%S')
  start_contender "$c"
  sleep 2
  local d0 d1
  d0=$(awk '{print $14+$15}' /proc/$DPID/stat 2>/dev/null || echo 0)
  systemd-run --quiet --unit=lab-testchill --slice=lab-workload.slice -p MemoryHigh=3M \
    /bin/sleep infinity
  systemd-run --quiet --unit=lab-testmunch --slice=lab-workload.slice -p MemoryHigh=12M \
    /opt/lab/bin/hog 16384 204800
  systemd-run --quiet --unit=lab-testbloat --slice=lab-workload.slice -p MemoryHigh=3M \
    -p ManagedOOMPreference=avoid \
    /bin/sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do /opt/lab/bin/hog 0 204800 & done; wait'
  t0=$(date +%s)
  while [ $(($(date +%s) - t0)) -lt 120 ]; do
    [ "$(prop lab-testmunch.service ActiveState)" = active ] || break
    sleep 2
  done
  local dt=$(($(date +%s) - t0))
  # Then 20 s more: a killer that goes on killing while testbloat keeps the pressure up (it is
  # throttled at its MemoryHigh, so no kill of another process relieves it) shows it here.
  sleep 20
  d1=$(awk '{print $14+$15}' /proc/$DPID/stat 2>/dev/null || echo 0)
  local hwm
  hwm=$(sed -n 's/^VmHWM:\s*//p' /proc/$DPID/status 2>/dev/null)
  local st u res=""
  for u in testchill testmunch testbloat; do
    st="$(prop lab-$u.service ActiveState)/$(prop lab-$u.service Result)/$(prop lab-$u.service ExecMainStatus)"
    res="$res $u=$st"
  done
  local kk
  kk=$(journalctl -k --no-pager --since "$since" | grep -c 'Killed process' || true)
  oomctl >$dir/oomctl.txt 2>&1
  [ -n "$(unit_of "$c")" ] && journalctl -u "$(unit_of "$c")" --since "$since" --no-pager -o cat >$dir/daemon.log 2>&1
  journalctl -k --since "$since" --no-pager >$dir/kernel.log 2>&1
  # Collateral: every kill by the contender or the kernel of anything but testmunch.
  local coll=0 who=""
  case $c in
    reaperd) who=$(grep -E '^kill seq' $dir/daemon.log | grep -v 'lab-testmunch' | sed -n 's/.*comm="\([^"]*\)".* cgroup="\([^"]*\)".*/\1@\2/p' | tr '\n' ' ') ;;
    systemd-oomd) who=$(grep -E '^Killed ' $dir/daemon.log | grep -v 'lab-testmunch' | cut -d' ' -f2 | tr '\n' ' ') ;;
    earlyoom | nohang | oomd) who=$(grep -iE 'sending SIG|kill' $dir/daemon.log | grep -v 'hog' | head -5 | tr '\n' ' ') ;;
  esac
  who="$who$(grep 'Killed process' $dir/kernel.log | grep -v '(hog)' | sed 's/.*Killed process/kernel:/' | cut -d, -f1 | tr '\n' ' ')"
  coll=$(echo "$who" | wc -w)
  [ -z "$who" ] && coll=0
  local munch_dead=0 chill_ok=0 bloat_ok=0
  [ "$(prop lab-testmunch.service ActiveState)" != active ] && munch_dead=1
  [ "$(prop lab-testchill.service ActiveState)" = active ] && chill_ok=1
  [ "$(prop lab-testbloat.service ActiveState)" = active ] && bloat_ok=1
  local verdict=FAIL
  [ $munch_dead$chill_ok$bloat_ok$coll = 1110 ] && verdict=PASS
  printf '{"scenario":"oomd_test","contender":"%s","rep":"%s","verdict":"%s","testmunch_dead":%d,"testchill_alive":%d,"testbloat_alive":%d,"waited_s":%d,"kernel_kills":%d,"collateral":%d,"collateral_who":"%s","units":"%s","daemon_cpu_ticks":%d,"daemon_hwm":"%s"}\n' \
    "$c" "$r" $verdict $munch_dead $chill_ok $bloat_ok $dt "$kk" "$coll" "${who% }" "${res# }" $((d1 - d0)) "$hwm" >$dir/oomd_test.json
  echo "LABRESULT55 $(cat $dir/oomd_test.json)"
  systemctl stop lab-testchill lab-testmunch lab-testbloat >/dev/null 2>&1
  cleanup_units
  stop_contender "$c"
  swapoff /swapfile
  rm -f /run/systemd/system/lab-workload.slice /run/systemd/oomd.conf.d/99-lab-test55.conf
  systemctl daemon-reload
  save
}

# The Podman scenario (issue 16): three containers under memory limits from a local image
# (the lab's own static tool, imported: nothing comes from a registry), --network=none, podman
# run by root with its default systemd cgroup manager (machine.slice/libpod-ID.scope):
# lab-web and lab-db (each a worker keeping 32 MiB hot, --memory=96m) and lab-leaker (a hog
# growing 16 MiB/s without bound, --memory=128m). Expected: the leaker dies before the kernel's
# memcg OOM killer acts (its memory.events oom_kill stays 0), lab-web and lab-db and the engine
# live on. Waits up to 90 s for the leaker, then 10 s more. For systemd-oomd, what its users
# write for containers: ManagedOOMMemoryPressure=kill on machine.slice as well.
PODMAN_IMAGE=localhost/lab-box:latest
podman_image() {
  # The guest has no kernel modules (it boots the host's kernel without its /lib/modules), so
  # no overlay: the vfs storage driver (a copy per container; the image is one static file).
  if [ ! -f /etc/containers/storage.conf ]; then
    printf '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n' \
      >/etc/containers/storage.conf
  fi
  podman image exists $PODMAN_IMAGE && return 0
  local box=/run/lab-box r
  rm -rf $box && mkdir -p $box/bin
  cp /opt/lab/labtool $box/labtool
  for r in hog worker; do ln -s ../labtool $box/bin/$r; done
  tar -C $box -cf - . | podman import --quiet - $PODMAN_IMAGE >$OUT/_sd/podman-import.log 2>&1
}

run_podman() {
  local c=$1 r=$2 dir=$OUT/$1/podman/$2
  mkdir -p "$dir"
  say "INFO podman begin $c $r uptime=$(cut -d' ' -f1 /proc/uptime)"
  podman_image || say "INFO podman: import failed: $(tail -2 $OUT/_sd/podman-import.log | tr '\n' ' ')"
  sync
  echo 3 >/proc/sys/vm/drop_caches
  local since
  since=$(date '+%Y-%m-%d %H:%M:%S')
  if [ "$c" = systemd-oomd ]; then
    systemctl set-property --runtime machine.slice ManagedOOMMemoryPressure=kill \
      ManagedOOMMemoryPressureLimit=$OOMD_LIMIT
  fi
  start_contender "$c"
  sleep 2
  local d0 d1
  d0=$(awk '{print $14+$15}' /proc/$DPID/stat 2>/dev/null || echo 0)
  local common="--network=none --log-driver=none"
  podman run -d $common --name lab-web --memory=96m --memory-swap=96m $PODMAN_IMAGE /bin/worker 32768 >$dir/web.id 2>$dir/podman-run.err
  podman run -d $common --name lab-db --memory=96m --memory-swap=96m $PODMAN_IMAGE /bin/worker 32768 >$dir/db.id 2>>$dir/podman-run.err
  sleep 2
  local t0 ms0
  ms0=$(date +%s%N)
  podman run -d $common --name lab-leaker --memory=128m --memory-swap=128m $PODMAN_IMAGE /bin/hog 16384 1048576 >$dir/leaker.id 2>>$dir/podman-run.err
  local id cg ev oomk=0 x
  id=$(cat $dir/leaker.id)
  [ -n "$id" ] || say "INFO podman: the leaker did not start: $(tail -c 300 $dir/podman-run.err | tr '\n' ' ')"
  cg=$(find /sys/fs/cgroup/machine.slice -maxdepth 1 -name "libpod-$id.scope" | head -1)
  echo "$cg" >$dir/leaker.cgroup
  t0=$(date +%s)
  local dead_ms=""
  while [ $(($(date +%s) - t0)) -lt 90 ]; do
    # The leaker's memcg OOM kills, read while its cgroup exists (podman removes it at exit).
    if [ -n "$cg" ] && [ -r "$cg/memory.events" ]; then
      x=$(sed -n 's/^oom_kill //p' "$cg/memory.events")
      [ -n "$x" ] && oomk=$x
    fi
    if [ "$(podman inspect -f '{{.State.Running}}' lab-leaker 2>/dev/null)" != true ]; then
      dead_ms=$((($(date +%s%N) - ms0) / 1000000))
      break
    fi
    sleep 0.5
  done
  sleep 10
  d1=$(awk '{print $14+$15}' /proc/$DPID/stat 2>/dev/null || echo 0)
  local hwm
  hwm=$(sed -n 's/^VmHWM:\s*//p' /proc/$DPID/status 2>/dev/null)
  local leak_state web db engine=0 ps
  leak_state=$(podman inspect -f '{{.State.Status}} exit={{.State.ExitCode}} oomkilled={{.State.OOMKilled}}' lab-leaker 2>&1 | tr ' ' ',')
  web=$(podman inspect -f '{{.State.Running}}' lab-web 2>/dev/null)
  db=$(podman inspect -f '{{.State.Running}}' lab-db 2>/dev/null)
  ps=$(podman ps --format '{{.Names}}' 2>&1 | tr '\n' ' ')
  podman info >/dev/null 2>&1 && podman ps >/dev/null 2>&1 && engine=1
  journalctl -k --since "$since" --no-pager >$dir/kernel.log 2>&1
  [ -n "$(unit_of "$c")" ] && journalctl -u "$(unit_of "$c")" --since "$since" --no-pager -o cat >$dir/daemon.log 2>&1
  # The pod's log is its stderr ("reaperd[LEVEL] event ..."): cut to the journal's form.
  [ "$c" = reaperd-pod ] && podman logs lab-reaperd 2>&1 | sed 's/^reaperd\[[a-z]*\] //' >$dir/daemon.log
  # Kernel OOM kills: every "Killed process" line; memcg ones name the container's scope.
  local kk kk_leaker
  kk=$(grep -c 'Killed process' $dir/kernel.log || true)
  kk_leaker=$(grep -c "oom_memcg=/machine.slice/libpod-$id.scope" $dir/kernel.log || true)
  # Who the contender killed (its own log lines), and the reaperd kill line's container field.
  local who="" named=""
  case $c in
    reaperd | reaperd-pod)
      who=$(grep -E '^kill seq' $dir/daemon.log | grep -o 'comm=[^ ]* uid=[^ ]* cgroup=[^ ]*' | tr '\n' ' ')
      named=$(grep -E '^kill seq' $dir/daemon.log | grep -o 'container=[^ ]*' | head -1)
      [ "$c" = reaperd-pod ] && named="$named $(grep -o 'cgroup_ns_base=[^ ]*' $dir/daemon.log | head -1)" ;;
    systemd-oomd) who=$(grep -E '^Killed ' $dir/daemon.log | cut -d' ' -f2 | tr '\n' ' ') ;;
    earlyoom | nohang | oomd) who=$(grep -iE 'sending SIG|kill' $dir/daemon.log | head -5 | tr '\n' ' ') ;;
  esac
  local leaker_dead=0 others=0 coll=0
  [ -n "$dead_ms" ] && [ -n "$id" ] && leaker_dead=1
  [ "$web" = true ] && [ "$db" = true ] && others=1
  # Collateral: a container other than the leaker stopped, or a kernel kill outside the leaker.
  [ "$web" = true ] || coll=$((coll + 1))
  [ "$db" = true ] || coll=$((coll + 1))
  x=$(grep 'Killed process' $dir/kernel.log | grep -vc '(hog)' || true)
  coll=$((coll + x))
  local verdict=FAIL
  [ "$leaker_dead$others$engine$oomk$kk_leaker" = 11100 ] && verdict=PASS
  printf '{"scenario":"podman","contender":"%s","rep":"%s","verdict":"%s","leaker_dead":%d,"leaker_dead_ms":%s,"leaker_state":"%s","leaker_memcg_oom_kill":%d,"kernel_oom_kills":%d,"kernel_oom_kills_in_leaker":%d,"web_alive":%d,"db_alive":%d,"engine_alive":%d,"collateral":%d,"running_after":"%s","contender_kills":"%s","kill_line_container":"%s","daemon_cpu_ticks":%d,"daemon_hwm":"%s"}\n' \
    "$c" "$r" $verdict $leaker_dead "${dead_ms:-null}" "$leak_state" "$oomk" "$kk" "$kk_leaker" \
    "$([ "$web" = true ] && echo 1 || echo 0)" "$([ "$db" = true ] && echo 1 || echo 0)" $engine $coll \
    "${ps% }" "$(echo "${who% }" | tr -d '"\\' | cut -c1-400)" "$(echo "$named" | tr -d '"\\')" $((d1 - d0)) "$hwm" >$dir/podman.json
  echo "LABRESULTPODMAN $(cat $dir/podman.json)"
  podman rm -f -t 0 lab-web lab-db lab-leaker >/dev/null 2>&1
  stop_contender "$c"
  if [ "$c" = systemd-oomd ]; then
    systemctl set-property --runtime machine.slice ManagedOOMMemoryPressure=auto \
      ManagedOOMMemoryPressureLimit=0%
  fi
  cleanup_units
  save
}

# The desktop browser scenario (issue 15): user@0.service started (the user manager a login
# starts), and in its app.slice one app scope, app-lab-browser.scope, as a desktop launcher makes
# it (systemd-run --user --scope), holding a "browser": its main process (sh), three tabs (each
# a worker keeping T/16 hot) and one leaking tab (T/30 per second, without bound); a 64 MiB swap
# file, as on a desktop with swap. systemd-oomd runs with Debian's configuration alone: the
# user@.service drop-in its package ships (ManagedOOMMemoryPressure=kill, 50%), 20 s, and
# ManagedOOMSwap=kill on -.slice. Waits up to 120 s for a browser process to die, then 15 s
# more, and records which of the five are alive and whether the scope is.
run_browser() {
  local c=$1 r=$2 dir=$OUT/$1/browser/$2
  mkdir -p "$dir"
  say "INFO browser begin $c $r uptime=$(cut -d' ' -f1 /proc/uptime)"
  [ -f /swapfile ] || { fallocate -l 64M /swapfile && chmod 0600 /swapfile && mkswap /swapfile >/dev/null; }
  swapon /swapfile
  systemctl start user@0.service
  export XDG_RUNTIME_DIR=/run/user/0
  systemctl show -p DropInPaths -p ManagedOOMMemoryPressure -p ManagedOOMMemoryPressureLimit user@0.service >$dir/user-service.txt
  systemctl show -p ManagedOOMSwap -- -.slice >>$dir/user-service.txt
  sync
  echo 3 >/proc/sys/vm/drop_caches
  local since
  since=$(date '+%Y-%m-%d %H:%M:%S')
  OOMD_AS_SHIPPED=1 start_contender "$c"
  sleep 2
  local d0 d1 total tab leak
  d0=$(awk '{print $14+$15}' /proc/$DPID/stat 2>/dev/null || echo 0)
  total=$(sed -n 's/^MemTotal:\s*\([0-9]*\).*/\1/p' /proc/meminfo)
  tab=$((total / 16))
  leak=$((total / 30))
  rm -f /run/lab-browser.pids
  # systemd-run --scope forks the command from this script, whose unit has OOMScoreAdjust=-1000:
  # the browser sets its own back to 0 first, as a launcher's child has (a first run without
  # this left every browser process unkillable, and the kernel panicked after killing systemd,
  # logind, journald and dbus).
  systemd-run --user --quiet --scope --unit=app-lab-browser.scope --slice=app.slice /bin/sh -c \
    "echo 0 >/proc/self/oom_score_adj
     echo main \$\$ >>/run/lab-browser.pids
     for i in 1 2 3; do /opt/lab/bin/worker $tab & echo tab\$i \$! >>/run/lab-browser.pids; done
     /opt/lab/bin/leak $leak $((total * 2)) & echo leaktab \$! >>/run/lab-browser.pids
     wait" >$dir/systemd-run.out 2>&1 &
  sleep 3
  local t0 n name pid alive_n dead_s=""
  t0=$(date +%s)
  while [ $(($(date +%s) - t0)) -lt 120 ]; do
    alive_n=0
    while read -r name pid; do kill -0 "$pid" 2>/dev/null && alive_n=$((alive_n + 1)); done </run/lab-browser.pids
    [ "$alive_n" -lt 5 ] && { dead_s=$(($(date +%s) - t0)); break; }
    sleep 0.5
  done
  sleep 15
  d1=$(awk '{print $14+$15}' /proc/$DPID/stat 2>/dev/null || echo 0)
  local alive="" dead="" scope
  while read -r name pid; do
    if kill -0 "$pid" 2>/dev/null; then alive="$alive $name"; else dead="$dead $name"; fi
  done </run/lab-browser.pids
  scope=$(systemctl --user show -P ActiveState app-lab-browser.scope 2>/dev/null)
  journalctl -k --since "$since" --no-pager >$dir/kernel.log 2>&1
  [ -n "$(unit_of "$c")" ] && journalctl -u "$(unit_of "$c")" --since "$since" --no-pager -o cat >$dir/daemon.log 2>&1
  journalctl --user-unit app-lab-browser.scope --since "$since" --no-pager >$dir/scope.log 2>&1
  cp /run/lab-browser.pids $dir/pids.txt
  local kk who=""
  kk=$(grep -c 'Killed process' $dir/kernel.log || true)
  case $c in
    reaperd) who=$(grep -E '^kill seq' $dir/daemon.log | grep -o 'comm=[^ ]*' | tr '\n' ' ') ;;
    systemd-oomd) who=$(grep -E '^Killed ' $dir/daemon.log | cut -d' ' -f2- | cut -c1-200 | tr '\n' ' ') ;;
    earlyoom | nohang | oomd) who=$(grep -iE 'sending SIG|kill' $dir/daemon.log | head -5 | tr '\n' ' ') ;;
  esac
  printf '{"scenario":"browser","contender":"%s","rep":"%s","first_death_s":%s,"alive":"%s","dead":"%s","scope":"%s","kernel_oom_kills":%d,"contender_kills":"%s","daemon_cpu_ticks":%d}\n' \
    "$c" "$r" "${dead_s:-null}" "${alive# }" "${dead# }" "$scope" "$kk" "$(echo "${who% }" | tr -d '"\\' | cut -c1-400)" $((d1 - d0)) >$dir/browser.json
  echo "LABRESULTBROWSER $(cat $dir/browser.json)"
  systemctl --user stop app-lab-browser.scope >/dev/null 2>&1
  while read -r name pid; do kill -9 "$pid" 2>/dev/null; done </run/lab-browser.pids
  stop_contender "$c"
  systemctl stop user@0.service
  unset XDG_RUNTIME_DIR
  swapoff /swapfile
  cleanup_units
  save
}

# Once a second, what the harness's samples do not hold: where the memory is (file, anon,
# shmem, mlocked), the major faults and refaults, the memory PSI totals and the daemon's CPU
# ticks, so a run that stalls with memory still "available" can be explained afterwards.
monitor() {
  local dpid=$1
  echo "uptime MemFree MemAvailable Cached Active_file Inactive_file Unevictable Mlocked SwapFree AnonPages Shmem workingset_refault_file pgmajfault psi_some_total psi_full_total daemon_ticks"
  while :; do
    echo "$(cut -d' ' -f1 /proc/uptime) $(awk '/^(MemAvailable|MemFree|Cached|Active\(file\)|Inactive\(file\)|AnonPages|Shmem|Mlocked|Unevictable|SwapFree):/{printf "%s ", $2}' /proc/meminfo)$(awk '$1=="pgmajfault"||$1=="workingset_refault_file"{printf "%s ", $2}' /proc/vmstat)$(sed -n 's/.*total=\([0-9]*\)$/\1/p' /proc/pressure/memory | tr '\n' ' ')$(awk '{print $14+$15}' /proc/$dpid/stat 2>/dev/null || echo -)"
    sleep 1
  done
}

# swap_fill (issue 15): a machine with swap, filling up. A 128 MiB swap file; a hog in
# user.slice growing 8 MiB/s to 880 MiB (more than RAM and swap together). Records whether the
# hog died, by whom (the contender's kill line, its reasons, or the kernel's OOM killer), and
# the swap and MemAvailable at the contender's kill. For reaperd the expected reason is
# swap_exhausted (swap and memory both 90 % used) before the kill floor and before the kernel.
run_swap_fill() {
  local c=$1 r=$2 dir=$OUT/$1/swap_fill/$2
  mkdir -p "$dir"
  say "INFO swap_fill begin $c $r uptime=$(cut -d' ' -f1 /proc/uptime)"
  [ -f /swapfill ] || { fallocate -l 128M /swapfill && chmod 0600 /swapfill && mkswap /swapfill >/dev/null; }
  swapon /swapfill
  sync
  echo 3 >/proc/sys/vm/drop_caches
  local since t0 dead=0 waited=0
  since=$(date '+%Y-%m-%d %H:%M:%S')
  start_contender "$c"
  sleep 2
  systemd-run --unit lab-swapfill --slice=user.slice -p MemoryAccounting=yes \
    /opt/lab/bin/hog 8192 901120 >/dev/null 2>&1
  t0=$(date +%s)
  while [ $(($(date +%s) - t0)) -lt 150 ]; do
    [ "$(prop lab-swapfill.service ActiveState)" = active ] || { dead=1; break; }
    sleep 0.5
  done
  waited=$(($(date +%s) - t0))
  local result
  result=$(prop lab-swapfill.service Result)
  journalctl -k --since "$since" --no-pager >$dir/kernel.log 2>&1
  [ -n "$(unit_of "$c")" ] && journalctl -u "$(unit_of "$c")" --since "$since" --no-pager -o cat >$dir/daemon.log 2>&1
  local kk line reasons="" victim=""
  kk=$(grep -c 'Killed process' $dir/kernel.log || true)
  if [ "$c" = reaperd ]; then
    line=$(grep -E '^kill_report seq' $dir/daemon.log | head -1)
    reasons=$(grep -E '^kill seq' $dir/daemon.log | head -1 | grep -o 'reasons=[^ ]*' | cut -d= -f2)
    victim=$(grep -E '^kill seq' $dir/daemon.log | head -1 | grep -o 'comm="[^"]*"' | tr -d '"')
  else
    victim=$(grep -iE 'sending SIG|kill' $dir/daemon.log | head -2 | tr -d '"\\' | cut -c1-160 | tr '\n' ' ')
  fi
  local verdict=FAIL
  [ "$dead" = 1 ] && [ "$kk" = 0 ] && verdict=PASS
  printf '{"scenario":"swap_fill","contender":"%s","rep":"%s","verdict":"%s","hog_dead":%d,"waited_s":%d,"unit_result":"%s","kernel_kills":%d,"reasons":"%s","victim":"%s","swap_at_end":"%s"}\n' \
    "$c" "$r" $verdict $dead $waited "$result" "$kk" "$reasons" "$victim" \
    "$(tail -1 /proc/swaps | awk '{print $3" "$4}')" >$dir/swap_fill.json
  echo "LABRESULTSWAP $(cat $dir/swap_fill.json)"
  systemctl stop lab-swapfill >/dev/null 2>&1
  stop_contender "$c"
  cleanup_units
  swapoff /swapfill
  save
}

run_one() {
  local c=$1 s=$2 r=$3 dir=$OUT/$1/$2/$3
  [ "$s" = swap_fill ] && { run_swap_fill "$c" "$r"; return; }
  [ "$s" = browser ] && { run_browser "$c" "$r"; return; }
  [ "$s" = oomd_test ] && { run_oomd_test "$c" "$r"; return; }
  [ "$s" = podman ] && { run_podman "$c" "$r"; return; }
  mkdir -p "$dir"
  echo "LABRUN begin $c $s $r uptime=$(cut -d' ' -f1 /proc/uptime)"
  rm -f /opt/lab/churn.dat
  sync
  echo 3 >/proc/sys/vm/drop_caches
  local since
  since=$(date '+%Y-%m-%d %H:%M:%S')
  start_contender "$c"
  sleep 2
  if [ "$DPID" = 0 ] && [ -n "$(unit_of "$c")" ]; then
    echo "LABERROR $c did not start"
  fi
  monitor "$DPID" >"$dir/monitor.tsv" 2>/dev/null &
  local mon=$!
  LAB_SLICE=user.slice LAB_CG_BASE=/sys/fs/cgroup/user.slice \
    timeout -k 5 300 /opt/lab/labtool run "$s" "$c" "$DPID" "$dir" >"$dir/harness.out" 2>&1
  echo "harness exit $?" >>"$dir/harness.out"
  kill $mon 2>/dev/null
  grep -h LABRESULT "$dir/harness.out" || echo "LABERROR no result: $(tail -c 400 "$dir/harness.out")"
  [ -n "$(unit_of "$c")" ] && journalctl -u "$(unit_of "$c")" --since "$since" --no-pager -o cat >"$dir/daemon.log" 2>&1
  stop_contender "$c"
  cleanup_units
  dmesg >"$dir/dmesg.txt"
  rm -f /opt/lab/churn.dat
  save
}

# Kills and OOM lines on the console as they happen, so a run that wedges the guest still
# leaves its story in the console log.
journalctl -f -n 0 -o short-monotonic -k -u reaperd.service -u systemd-oomd.service -u earlyoom.service \
  -u nohang.service -u oomd.service -u 'lab-*' -u 'libpod-*' 2>/dev/null |
  grep --line-buffered -E 'kill|Killed|oom|Out of memory|Consumed|Failed' |
  sed -u 's/^\(.\{0,300\}\).*/LABLOG \1/' &
for spec in $(arg runs | tr ',' ' '); do
  IFS=: read -r c s r <<EOF
$spec
EOF
  run_one "$c" "$s" "$r"
done
journalctl -b -o short-monotonic --no-pager >$OUT/_sd/journal.txt 2>&1
say DONE
save
systemctl poweroff --no-block
