#!/bin/sh
# The reaperd image run the way the DaemonSet runs it (hostPID, the capability set, a
# read-only root, the cgroup tree read-only, the status, state and textfile directories),
# beside two containers under a 256 MiB limit each, one leaking 160 MiB/s and one idle, all
# under a parent cgroup made for the run below this shell's own memory cgroup (reaperd's
# scope is auto: that parent only, so nothing else on the host is a scope).
# Passes when the leaker dies by reaperd's SIGKILL (exit 137, not the kernel's OOM kill), the
# idle container and reaperd live on, and the kill report names the leaker's container.
# Usage: podman_lab.sh [IMAGE] (default localhost/reaperd:latest, deploy/container/build.sh).
# Needs podman, runc (crun refuses a cgroup v1/v2 hybrid host), gcc with static libc.
set -eu
image=${1:-localhost/reaperd:latest}
work=$(mktemp -d)
base=$(grep -E '^[0-9]+:memory:' /proc/self/cgroup | cut -d: -f3 || true)
[ -n "$base" ] || base=$(grep -E '^0::' /proc/self/cgroup | cut -d: -f3)
parent=${base%/}/reaperd_lab_$$
common="--runtime runc --ulimit nofile=1024:4096 --ulimit nproc=1024:4096"
cleanup() {
  podman rm -f rd-idle-$$ rd-leak-$$ rd-reaperd-$$ >/dev/null 2>&1 || true
# Read-only all the way down: a bind's "ro" does not reach the mounts below it (cgroup v1's
# hierarchies), and podman 4.3 has no recursive "rro"; each is bound read-only on its own.
cgroup_ro="-v /sys/fs/cgroup:/sys/fs/cgroup:ro"
for h in /sys/fs/cgroup/*/; do
  h=${h%/}
  if mountpoint -q "$h"; then cgroup_ro="$cgroup_ro -v $h:$h:ro"; fi
done
  podman rmi -f localhost/reaperd-lab-leak-$$ localhost/reaperd-lab-idle-$$ >/dev/null 2>&1 || true
  rm -rf "$work"
  # podman leaves the parent and its conmon child behind (the cgroupfs manager).
  for h in /sys/fs/cgroup/*/; do rmdir "$h${parent#/}/conmon" "$h${parent#/}" 2>/dev/null || true; done
}
trap cleanup EXIT
mkdir -p "$work/ctx" "$work/run" "$work/state" "$work/textfile" "$work/pods"
cat >"$work/ctx/leak.c" <<'C'
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
  for (;;) { char *p = malloc(8 << 20); if (p) memset(p, 1, 8 << 20); usleep(50000); }
}
C
printf '#include <unistd.h>\nint main(void) { for (;;) pause(); }\n' >"$work/ctx/idle.c"
for prog in leak idle; do
  gcc -static -O2 -o "$work/ctx/$prog" "$work/ctx/$prog.c"
  printf 'FROM scratch\nCOPY %s /%s\nENTRYPOINT ["/%s"]\n' $prog $prog $prog >"$work/ctx/Containerfile.$prog"
  podman build -q --pull=never -t localhost/reaperd-lab-$prog-$$ -f "$work/ctx/Containerfile.$prog" "$work/ctx" >/dev/null
done
podman rm -f rd-idle-$$ rd-leak-$$ rd-reaperd-$$ >/dev/null 2>&1 || true
# Read-only all the way down: a bind's "ro" does not reach the mounts below it (cgroup v1's
# hierarchies), and podman 4.3 has no recursive "rro"; each is bound read-only on its own.
cgroup_ro="-v /sys/fs/cgroup:/sys/fs/cgroup:ro"
for h in /sys/fs/cgroup/*/; do
  h=${h%/}
  if mountpoint -q "$h"; then cgroup_ro="$cgroup_ro -v $h:$h:ro"; fi
done
podman run -d $common --cgroup-parent="$parent" --memory=256m --memory-swap=256m --name rd-idle-$$ \
  localhost/reaperd-lab-idle-$$ >/dev/null
podman run -d --name rd-reaperd-$$ $common --pid=host --cap-drop=ALL \
  --cap-add=KILL,SYS_PTRACE,DAC_OVERRIDE,SYS_RESOURCE,IPC_LOCK,SYS_NICE \
  --security-opt no-new-privileges --read-only $cgroup_ro \
  -v "$work/pods:/var/log/pods:ro" -v "$work/run:/run/reaperd" -v "$work/state:/var/lib/reaperd" \
  -v "$work/textfile:/var/lib/node_exporter/textfile_collector" "$image" \
  run --config /etc/reaperd/reaperd.toml --scope "auto:$parent" --run-for-ms 60000 >/dev/null
sleep 2
# The last mount at a path is the one in effect (the rbind's rw copies lie below).
rw=$(awk '$5 ~ /^\/sys\/fs\/cgroup/ { m[$5] = $6 } END { for (k in m) if (m[k] ~ /^rw/) n++; print n + 0 }' \
  "/proc/$(podman inspect rd-reaperd-$$ --format '{{.State.Pid}}')/mountinfo")
echo "cgroup mounts writable in reaperd's container: $rw"
podman run -d $common --cgroup-parent="$parent" --memory=256m --memory-swap=256m --name rd-leak-$$ \
  localhost/reaperd-lab-leak-$$ >/dev/null
leak_id=$(podman inspect rd-leak-$$ --format '{{.Id}}' | cut -c1-12)
code=$(timeout 60 podman wait rd-leak-$$)
oom=$(podman inspect rd-leak-$$ --format '{{.State.OOMKilled}}')
idle=$(podman inspect rd-idle-$$ --format '{{.State.Status}}')
reaperd=$(podman inspect rd-reaperd-$$ --format '{{.State.Status}}')
podman logs rd-reaperd-$$ 2>&1 | grep -E '\] (start|kill) ' | cut -c1-300
label=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['victim']['container']['label'])" "$work/state/kills.jsonl")
echo "leak: exit $code, kernel OOM kill: $oom; idle: $idle; reaperd: $reaperd; report names: $label"
[ "$rw" = 0 ] && [ "$code" = 137 ] && [ "$oom" = false ] && [ "$idle" = running ] && [ "$reaperd" = running ] &&
  [ "$label" = "podman:$leak_id" ] && echo PASS && exit 0
echo FAIL
exit 1
