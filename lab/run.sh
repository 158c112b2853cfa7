#!/usr/bin/env bash
# The VM lab: whole-system memory pressure in a small Debian VM, reaperd side by side with
# the kernel OOM killer, earlyoom, nohang and oomd (see ../../shared/design/LAB.md, issue 5).
#   lab/run.sh suite     every contender x every scenario x REPS runs, then the report
#   lab/run.sh smoke     fast_hog + cache_churn with reaperd alone; exits non-zero with a reason
#                        on any failure, a missing or broken reaperd included (CI)
#   lab/run.sh image     build (or reuse) the cached image only
#   lab/run.sh capture   capture cgroup v2 fixture files into tests/fixtures/cgroup/v2-guest
#   lab/run.sh runs C:S:R,...   one boot running the listed runs (development)
#   lab/run.sh report DIR       rebuild report.md and plots from DIR/raw
#   lab/run.sh systemd   boot with systemd as PID 1, install the .deb (make deb), check the
#                        packaged unit (READY, kill, sandbox, journal, reload, restart, purge)
#   lab/run.sh sd-runs C:S:R,... [DIR]   the scenarios (and oomd_test) on the systemd guest
# Environment: REAPERD_BIN (default build/reaperd, else build-lab/reaperd), LAB_ACCEL (kvm|tcg,
# default: probe KVM, fall back to TCG), REPS (3), CONTENDERS, SCENARIOS, LAB_MEM (384, MiB),
# REAPERD_DEB (systemd mode; default: the newest build/reaperd_*_amd64.deb), REAPERD_UPGRADE_DEB
# (default: build/reaperd_*+rebuild1_amd64.deb), LAB_SD_OOMD=1 (systemd mode: systemd-oomd left
# enabled, as Debian ships it), LAB_APPEND (more of the guest kernel's command line, for an
# experiment: e.g. sysctl.vm.compact_unevictable_allowed=0), LAB_SMP (the guest's vCPUs, 2).
set -euo pipefail

LAB=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$LAB/.." && pwd)
CACHE=$LAB/cache
WORK=$LAB/work
MEM=${LAB_MEM:-384}
REPS=${REPS:-3}
ALL_SCENARIOS="fast_hog slow_leak many_workers clone_vm sigterm cache_churn two_cgroups growers"
HOST_PKGS="qemu-system-x86 linux-image-cloud-amd64 mmdebstrap e2fsprogs gnuplot-nox gcc libc6-dev"
GUEST_PKGS="systemd-sysv,udev,earlyoom,nohang,oomd,systemd-oomd,stress-ng,python3,procps,kmod,iproute2,util-linux,libfmt9,libsystemd0,libstdc++6,libtomlplusplus3"
ROOTFS_VERSION=1 # bump to force a new debootstrap

log() { echo "lab: $*" >&2; }
die() {
  echo "lab: FAIL: $*" >&2
  exit 1
}

host_tools() {
  local missing="" p
  for p in $HOST_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  log "installing host tools:$missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
}

kernel_files() {
  VMLINUZ=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1)
  [ -n "$VMLINUZ" ] || die "no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)"
  INITRD=/boot/initrd.img-${VMLINUZ#/boot/vmlinuz-}
  [ -r "$INITRD" ] || die "no $INITRD"
}

# The Debian rootfs, keyed by the package list only, so a new reaperd never re-debootstraps.
rootfs() {
  local key
  key=$(echo "$ROOTFS_VERSION $GUEST_PKGS" | sha256sum | cut -c1-12)
  ROOTFS=$CACHE/rootfs-$key
  if [ ! -f "$ROOTFS/.complete" ]; then
    mkdir -p "$CACHE"
    log "mmdebstrap bookworm minbase (about a minute) -> $ROOTFS"
    rm -rf "$ROOTFS" "$ROOTFS.tar"
    mmdebstrap --quiet --variant=minbase --include="$GUEST_PKGS" bookworm "$ROOTFS.tar" >&2
    mkdir -p "$ROOTFS"
    tar -C "$ROOTFS" -xf "$ROOTFS.tar"
    rm -f "$ROOTFS.tar"
    mkdir -p "$ROOTFS/opt/lab/data"
    head -c $((96 << 20)) /dev/urandom >"$ROOTFS/opt/lab/data/reader.dat"
    head -c $((1 << 20)) /dev/urandom >"$ROOTFS/opt/lab/data/probe.dat"
    touch "$ROOTFS/.complete"
  fi
}

reaperd_bin() {
  REAPERD=${REAPERD_BIN:-}
  if [ -z "$REAPERD" ]; then
    for c in "$REPO/${BUILD:-build}/reaperd" "$REPO/build-lab/reaperd"; do
      [ -x "$c" ] && REAPERD=$c && break
    done
  fi
  REAPERD_OK=0
  if [ -n "$REAPERD" ] && [ -x "$REAPERD" ] && "$REAPERD" run --help >/dev/null 2>&1; then
    REAPERD_OK=1
  fi
}

# The ext4 image: rootfs + this checkout's guest tool, init and reaperd, rebuilt with
# mke2fs -d whenever one of those changes (never edited in place).
image() {
  host_tools
  kernel_files
  rootfs
  reaperd_bin
  mkdir -p "$WORK"
  gcc -O2 -static -pthread -Wall -Wextra -Werror -Wno-format-truncation -o "$WORK/labtool" \
    "$LAB"/guest/main.c "$LAB"/guest/roles.c "$LAB"/guest/harness.c
  local opt=$ROOTFS/opt/lab
  rm -rf "$opt/bin" "$opt/reaperd"
  mkdir -p "$opt/bin"
  install -m 0755 "$WORK/labtool" "$opt/labtool"
  install -m 0755 "$LAB/guest/init.sh" "$opt/init"
  for r in hog leak steady termhog clonehog worker bystander reader churn probe; do
    ln -s ../labtool "$opt/bin/$r"
  done
  if [ "$REAPERD_OK" = 1 ]; then install -m 0755 "$REAPERD" "$opt/reaperd"; fi
  local key
  local files=("$opt/labtool" "$opt/init" "$ROOTFS/.complete")
  [ "$REAPERD_OK" = 1 ] && files+=("$opt/reaperd")
  key=$( (echo "$ROOTFS" && cat "${files[@]}") | sha256sum | cut -c1-16)
  IMG=$CACHE/lab.img
  if [ "$(cat "$IMG.key" 2>/dev/null)" != "$key" ]; then
    log "mke2fs -d -> $IMG"
    rm -f "$IMG"
    mke2fs -q -t ext4 -L labroot -d "$ROOTFS" "$IMG" 2G
    echo "$key" >"$IMG.key"
  fi
}

# Boots once. $1 kernel-command-line extras, $2 hard timeout (s), $3 console log, $4 dir that
# receives the guest's output tar.
boot() {
  local extra=$1 limit=$2 console=$3 outdir=$4 accel
  case $ACCEL in
    kvm) accel="-accel kvm -cpu host" ;;
    *) accel="-accel tcg,thread=multi -cpu max" ;;
  esac
  local outimg=$WORK/out-$$.img
  rm -f "$outimg"
  truncate -s 64M "$outimg"
  set +e
  local init=${BOOT_INIT-init=/opt/lab/init}
  timeout -k 10 "$limit" qemu-system-x86_64 $accel -m "$MEM" -smp ${LAB_SMP:-2} -nographic -no-reboot \
    -kernel "$VMLINUZ" -initrd "$INITRD" \
    -drive file="$IMG",format=raw,if=virtio,snapshot=on \
    -drive file="$outimg",format=raw,if=virtio \
    -append "console=ttyS0 quiet root=/dev/vda rw $init panic=-1 $extra ${LAB_APPEND:-}" \
    </dev/null >"$console" 2>&1
  local rc=$?
  set -e
  mkdir -p "$outdir"
  tar -xf "$outimg" -C "$outdir" 2>/dev/null || true
  rm -f "$outimg"
  [ $rc = 124 ] && log "boot hit its hard timeout of ${limit}s ($console)"
  return 0
}

pick_accel() {
  if [ -n "${LAB_ACCEL:-}" ]; then
    ACCEL=$LAB_ACCEL
    return
  fi
  local key
  key="$(uname -r) $(qemu-system-x86_64 --version | head -1)"
  if [ -f "$CACHE/accel" ] && [ "$(sed -n 2p "$CACHE/accel")" = "$key" ]; then
    ACCEL=$(sed -n 1p "$CACHE/accel")
    return
  fi
  ACCEL=tcg
  if [ -w /dev/kvm ]; then
    ACCEL=kvm
    boot "lab.mode=probe" 60 "$WORK/kvm-probe.log" "$WORK/kvm-probe"
    if ! grep -q LAB-BOOT-OK "$WORK/kvm-probe.log" || ! grep -q LAB-DONE "$WORK/kvm-probe.log"; then
      log "KVM probe failed (nested KVM does not work here): using TCG"
      ACCEL=tcg
    fi
  fi
  printf '%s\n%s\n' "$ACCEL" "$key" >"$CACHE/accel"
  log "accelerator: $ACCEL"
}

# A hard limit per boot: the sum of the scenario limits plus per-run and boot overheads.
boot_limit() {
  local n=0 s t=0
  for s in $1; do
    n=$((n + 1))
    case $s in slow_leak) t=$((t + 90)) ;; cache_churn) t=$((t + 20)) ;; oomd_test) t=$((t + 150)) ;; swap_fill) t=$((t + 150)) ;; podman) t=$((t + 150)) ;; browser) t=$((t + 180)) ;; *) t=$((t + 60)) ;; esac
  done
  echo $((t + n * 40 + 90))
}

# One boot for the listed runs "C:S:R ..."; the guest output lands in $2/raw.
run_boot() {
  local runs=$1 dest=$2 tag=$3 scen=""
  local r
  for r in $runs; do scen="$scen $(echo "$r" | cut -d: -f2)"; done
  mkdir -p "$dest/raw" "$dest/console"
  log "boot $tag: $runs"
  echo "$tag before: $(cat /proc/loadavg)" >>"$dest/console/hostload.txt"
  boot "lab.mode=runs lab.runs=$(echo $runs | tr ' ' ',')" "$(boot_limit "$scen")" \
    "$dest/console/$tag.log" "$dest/raw"
  echo "$tag after: $(cat /proc/loadavg)" >>"$dest/console/hostload.txt"
  grep -h "LABRESULT\|LABERROR" "$dest/console/$tag.log" | cut -c1-220 >&2 || true
}

contenders() {
  if [ -n "${CONTENDERS:-}" ]; then
    echo "$CONTENDERS"
    return
  fi
  local c="kernel earlyoom nohang oomd"
  [ "$REAPERD_OK" = 1 ] && c="reaperd $c"
  echo "$c"
}

suite() {
  image
  pick_accel
  local date dest rep c s runs
  date=$(date -u +%Y-%m-%d)
  dest=$WORK/suite-$date
  rm -rf "$dest"
  [ "$REAPERD_OK" = 1 ] || log "reaperd has no working 'run' command yet: running the others only"
  local t0=$SECONDS
  for rep in $(seq 1 "$REPS"); do
    for c in $(contenders); do
      runs=""
      for s in ${SCENARIOS:-$ALL_SCENARIOS}; do runs="$runs $c:$s:$rep"; done
      run_boot "$runs" "$dest" "$c-$rep"
    done
  done
  log "suite took $((SECONDS - t0)) s with $ACCEL"
  echo "accel=$ACCEL mem=${MEM}MiB smp=${LAB_SMP:-2} wall_s=$((SECONDS - t0)) reaperd_ok=$REAPERD_OK" >"$dest/META"
  report "$dest" "$LAB/results/$date"
}

report() {
  local src=$1 out=${2:-$1}
  mkdir -p "$out"
  python3 "$LAB/analyze.py" "$src" "$out"
  log "report: $out/report.md"
}

smoke() {
  # CI's only whole-system check tests reaperd or fails: it never falls back to the kernel's
  # OOM killer, and it says so before spending minutes on the image and the VM.
  reaperd_bin
  if [ "$REAPERD_OK" != 1 ]; then
    echo "lab-smoke: FAIL: no working reaperd: '${REAPERD:-build/reaperd or build-lab/reaperd}'" \
      "is missing, not executable, or '<it> run --help' fails (set REAPERD_BIN or build it)" >&2
    exit 1
  fi
  image
  pick_accel
  local c=reaperd dest=$WORK/smoke
  rm -rf "$dest"
  run_boot "$c:fast_hog:1 $c:cache_churn:1" "$dest" smoke
  if ! python3 "$LAB/analyze.py" --check-smoke "$dest" "$c"; then
    echo "lab-smoke: the guest console ($dest/console/smoke.log) ends with:"
    tail -n 40 "$dest/console/smoke.log" | tr -d '\r' | cut -c1-200
    exit 1
  fi
}

capture() {
  image
  pick_accel
  local dest=$WORK/capture fx=$REPO/tests/fixtures/cgroup/v2-guest
  rm -rf "$dest"
  boot "lab.mode=capture" 180 "$WORK/capture.log" "$dest"
  [ -f "$dest/fixture/lab.slice/memory.events" ] || die "capture produced nothing ($WORK/capture.log)"
  rm -rf "$fx"
  mkdir -p "$fx"
  cp -r "$dest/fixture/." "$fx/"
  log "captured into $fx"
}

# The systemd-booted guest (issue 14): the same rootfs (GUEST_PKGS has systemd-sysv) copied
# once into its own cache dir, the contenders' units masked (one OOM killer at a time), and a
# first-boot unit (guest/sd-check.service) that installs the .deb with apt and prints one
# "LABSD PASS|FAIL|INFO name: detail" line per check (guest/sd-check.sh).
SD_VERSION=2 # bump to force a new copy of the systemd rootfs
# Added to the systemd guest only, for the Podman scenario (issue 16): the engine and its OCI
# runtime from Debian, without recommends (no network backend: the containers run with
# --network=none); the container image is made in the guest from the lab's own static tool.
SD_PKGS="podman crun conmon catatonit dbus dbus-user-session"
sd_rootfs() {
  local key
  key=$(echo "$SD_VERSION $ROOTFS $SD_PKGS" | sha256sum | cut -c1-12)
  SDROOT=$CACHE/rootfs-systemd-$key
  [ -f "$SDROOT/.complete" ] && return 0
  log "copying $ROOTFS -> $SDROOT"
  rm -rf "$SDROOT"
  cp -a "$ROOTFS/." "$SDROOT/"
  rm -rf "$SDROOT/opt/lab/bin" "$SDROOT/opt/lab/reaperd" "$SDROOT/opt/lab/init" "$SDROOT/.complete"
  # apt in a chroot of the copy: the host's resolver, /proc for the maintainer scripts, and a
  # policy-rc.d so no service starts here.
  cp /etc/resolv.conf "$SDROOT/etc/resolv.conf"
  printf '#!/bin/sh\nexit 101\n' >"$SDROOT/usr/sbin/policy-rc.d"
  chmod 0755 "$SDROOT/usr/sbin/policy-rc.d"
  mount -t proc proc "$SDROOT/proc"
  local rc=0
  chroot "$SDROOT" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends $SD_PKGS && apt-get clean" >&2 || rc=$?
  umount "$SDROOT/proc"
  rm -f "$SDROOT/usr/sbin/policy-rc.d"
  [ $rc = 0 ] || die "apt-get install $SD_PKGS in $SDROOT failed"
  # A fixed machine id: an empty one makes this a "first boot", whose systemd-firstboot
  # prompts on the console for a locale and a root password.
  echo 5eed1ab0c0ffee0000000000000000a1 >"$SDROOT/etc/machine-id"
  echo lab >"$SDROOT/etc/hostname"
  local u
  for u in earlyoom.service nohang.service nohang-desktop.service oomd.service \
    systemd-firstboot.service apt-daily.timer \
    apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer \
    podman-auto-update.timer podman-auto-update.service podman-restart.service podman.socket \
    podman.service; do
    ln -sfn /dev/null "$SDROOT/etc/systemd/system/$u"
  done
  touch "$SDROOT/.complete"
}

# The systemd guest's image: the rootfs copy, the .deb, its upgrade, the guest tool with every
# role, the check and run scripts and the first-boot unit. Sets IMG.
sd_image() {
  local deb=${REAPERD_DEB:-}
  [ -n "$deb" ] || deb=$(ls -t "$REPO/${BUILD:-build}"/reaperd_*_amd64.deb 2>/dev/null | grep -v +rebuild | head -1)
  [ -f "$deb" ] || die "no reaperd .deb (make deb, or set REAPERD_DEB)"
  local updeb=${REAPERD_UPGRADE_DEB:-}
  [ -n "$updeb" ] || updeb=$(ls -t "$REPO/${BUILD:-build}"/reaperd_*+rebuild1_amd64.deb 2>/dev/null | head -1 || true)
  host_tools
  kernel_files
  rootfs
  sd_rootfs
  pick_accel
  mkdir -p "$WORK"
  gcc -O2 -static -pthread -Wall -Wextra -Werror -Wno-format-truncation -o "$WORK/labtool" \
    "$LAB"/guest/main.c "$LAB"/guest/roles.c "$LAB"/guest/harness.c
  local opt=$SDROOT/opt/lab
  rm -rf "${opt:?}/bin" "$opt"/*.deb
  mkdir -p "$opt/bin"
  install -m 0755 "$WORK/labtool" "$opt/labtool"
  local r
  for r in hog leak steady termhog clonehog worker bystander reader churn probe grower; do
    ln -s ../labtool "$opt/bin/$r"
  done
  install -m 0755 "$LAB/guest/sd-check.sh" "$opt/sd-check.sh"
  install -m 0755 "$LAB/guest/sd-runs.sh" "$opt/sd-runs.sh"
  install -m 0644 "$deb" "$opt/reaperd.deb"
  # The contender reaperd-pod (issue 16): the image as deploy/container/build.sh builds it from
  # this build, saved for `podman load` in the guest, with the ConfigMap's reaperd.toml.
  rm -f "$opt/reaperd-image.tar" "$opt/reaperd-pod.toml"
  if [ "${REAPERD_POD:-0}" = 1 ]; then
    "$REPO/deploy/container/build.sh" "$REPO/${BUILD:-build}" localhost/reaperd:latest >&2
    rm -f "$WORK/reaperd-image.tar"
    podman save -q -o "$WORK/reaperd-image.tar" localhost/reaperd:latest
    install -m 0644 "$WORK/reaperd-image.tar" "$opt/reaperd-image.tar"
    python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["reaperd.toml"], end="")' \
      "$REPO/deploy/kubernetes/configmap.yaml" >"$opt/reaperd-pod.toml"
  fi
  # The upgrade check: a rebuilt package of a newer version (lab/upgrade-deb.sh, or
  # REAPERD_UPGRADE_DEB); without one, the same package repacked as V+labupgrade1.
  if [ -n "$updeb" ] && [ -f "$updeb" ]; then
    install -m 0644 "$updeb" "$opt/reaperd-upgrade.deb"
    log "upgrade check with the rebuilt $(basename "$updeb")"
  else
    local up=$WORK/sd-upgrade
    rm -rf "$up" && mkdir -p "$up"
    dpkg-deb -R "$deb" "$up/tree"
    sed -i 's/^Version: .*/&+labupgrade1/' "$up/tree/DEBIAN/control"
    dpkg-deb -b --root-owner-group "$up/tree" "$opt/reaperd-upgrade.deb" >/dev/null
    log "upgrade check with a repack of $(basename "$deb") (no rebuilt package: lab/upgrade-deb.sh)"
  fi
  install -m 0644 "$LAB/guest/sd-check.service" "$SDROOT/etc/systemd/system/sd-check.service"
  # systemd-oomd as Debian enables it (LAB_SD_OOMD=1: the checks then also show what the
  # unit's Conflicts= does between the two), else masked like the other contenders.
  local u
  for u in systemd-oomd.service systemd-oomd.socket; do
    rm -f "$SDROOT/etc/systemd/system/$u"
    [ "${LAB_SD_OOMD:-0}" = 1 ] || ln -s /dev/null "$SDROOT/etc/systemd/system/$u"
  done
  ln -sfn ../sd-check.service "$SDROOT/etc/systemd/system/multi-user.target.wants/sd-check.service"
  local key files=("$opt/labtool" "$opt/sd-check.sh" "$opt/sd-runs.sh" "$opt/reaperd.deb"
    "$opt/reaperd-upgrade.deb"
    "$SDROOT/etc/systemd/system/sd-check.service" "$SDROOT/.complete")
  [ -f "$opt/reaperd-image.tar" ] && files+=("$opt/reaperd-image.tar" "$opt/reaperd-pod.toml")
  key=$( (echo "$SDROOT oomd=${LAB_SD_OOMD:-0}" && cat "${files[@]}") | sha256sum | cut -c1-16)
  IMG=$CACHE/lab-systemd.img
  if [ "$(cat "$IMG.key" 2>/dev/null)" != "$key" ]; then
    log "mke2fs -d -> $IMG"
    rm -f "$IMG"
    mke2fs -q -t ext4 -L labroot -d "$SDROOT" "$IMG" 2G
    echo "$key" >"$IMG.key"
  fi
  DEB=$deb
}

systemd_lab() {
  sd_image
  local deb=$DEB
  local dest=$WORK/systemd t0=$SECONDS
  rm -rf "$dest" && mkdir -p "$dest"
  log "boot with systemd as PID 1 ($ACCEL), .deb $(basename "$deb"); up to 600 s"
  BOOT_INIT="" boot "systemd.show_status=0 lab.mode=systemd" 600 "$dest/console.log" "$dest/out"
  local lines
  # journal+console prefixes each line with the kernel time and "sd-check.sh[PID]: ".
  lines=$(tr -d '\r' <"$dest/console.log" | grep -ao 'LABSD .*' || true)
  echo "$lines" | sed 's/^LABSD //'
  log "systemd lab took $((SECONDS - t0)) s ($ACCEL); console $dest/console.log, guest files $dest/out"
  echo "$lines" | grep -q '^LABSD DONE' || die "the guest did not finish its checks"
  if echo "$lines" | grep -q '^LABSD FAIL'; then die "some systemd checks failed"; fi
  log "systemd checks: all passed"
}

# The scenarios on the systemd guest: one boot runs the listed C:S:R (contenders reaperd,
# systemd-oomd, earlyoom, nohang, oomd, kernel; scenarios as the shell lab's plus oomd_test)
# into $2/raw, the same layout the shell lab's report reads.
sd_runs() {
  local runs=$1 dest=$2 tag=$3 scen="" r
  case " $runs" in *" reaperd-pod:"*) export REAPERD_POD=1 ;; esac
  sd_image
  for r in $runs; do scen="$scen $(echo "$r" | cut -d: -f2)"; done
  mkdir -p "$dest/raw" "$dest/console"
  log "systemd boot $tag ($ACCEL): $runs"
  echo "$tag before: $(cat /proc/loadavg)" >>"$dest/console/hostload.txt"
  local t0=$SECONDS
  BOOT_INIT="" boot "systemd.show_status=0 lab.mode=sdruns lab.runs=$(echo $runs | tr ' ' ',')" \
    "$(($(boot_limit "$scen") + 150))" "$dest/console/$tag.log" "$dest/raw"
  echo "$tag after: $(cat /proc/loadavg) wall_s=$((SECONDS - t0))" >>"$dest/console/hostload.txt"
  tr -d '\r' <"$dest/console/$tag.log" | grep -ao 'LABRESULT.*\|LABERROR.*\|LABSD .*' | cut -c1-260 >&2 || true
  log "systemd boot $tag took $((SECONDS - t0)) s"
}

cmd=${1:-}
case $cmd in
  systemd) systemd_lab ;;
  sd-runs) sd_runs "$(echo "${2:?C:S:R,...}" | tr ',' ' ')" "${3:-$WORK/sd-dev}" "sd-$(date +%s)" ;;
  suite) suite ;;
  smoke) smoke ;;
  image) image ;;
  capture) capture ;;
  runs)
    image
    pick_accel
    run_boot "$(echo "${2:?C:S:R,...}" | tr ',' ' ')" "$WORK/dev" "dev-$(date +%s)"
    ;;
  report) report "${2:?DIR}" "${3:-}" ;;
  *)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 64
    ;;
esac
