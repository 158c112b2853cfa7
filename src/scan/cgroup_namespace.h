// Where reaperd's cgroup namespace lies in the cgroup hierarchy it has mounted. A container
// (a Kubernetes DaemonSet's pod, Podman on cgroup v2) runs in a cgroup namespace of its own
// while the host's whole hierarchy is bind-mounted at /sys/fs/cgroup: /proc/PID/cgroup is then
// relative to the container's cgroup ("/../../system.slice/kubelet.service"), the mount is
// not. Found once at start; the view's cgroup_ns_base() then rebases every path read
// (proc/cgroup_path.h). Everything is read through the view, so a fixture tree tests it.
#pragma once

#include <sys/types.h>

#include <string>

#include "sys/system_view.h"

namespace reaperd::scan {

struct CgroupNamespace {
  // The namespace root's path under the mount ("/kubepods.slice/.../cri-containerd-X.scope"),
  // empty when paths from /proc are already paths under the mount (no namespace, or a mount
  // made inside it).
  std::string base;
  // How many levels the mount's root lies above the namespace's root (mountinfo's "/../..").
  int levels = 0;
  // Why base could not be found although the mount reaches above the namespace (for the
  // start log); empty otherwise. Paths outside the namespace then read as unknown.
  std::string problem;
};

// Reads self/mountinfo and self/cgroup under the view's proc root; finds the mount at the
// view's cgroup root and, if its root lies above the namespace's, the one cgroup at that
// depth below the mount whose cgroup.procs (at reaperd's own relative path) lists self.
CgroupNamespace FindCgroupNamespace(sys::SystemView& view, pid_t self);

}  // namespace reaperd::scan
