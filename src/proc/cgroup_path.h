// Cgroup paths as /proc/PID/cgroup gives them, put under the hierarchy reaperd has mounted.
// Inside a cgroup namespace (a container's: the default for Kubernetes pods and for Podman on
// cgroup v2), the kernel writes /proc/PID/cgroup relative to the namespace's root: "/" for the
// container's own cgroup, "/../../system.slice/kubelet.service" for the kubelet. The host's
// hierarchy bind-mounted into the container (the DaemonSet's /sys/fs/cgroup) shows that cgroup
// as "/system.slice/kubelet.service". Taken as it is, such a path names no scope and matches no
// rule, and joined to the mount it would lead outside it.
#pragma once

#include <string_view>

#include "base/small_string.h"

namespace reaperd::proc {

// How many levels a cgroup mount's root (the 4th field of /proc/self/mountinfo, which the
// kernel writes relative to the reader's cgroup namespace) lies above that namespace's root:
// 0 for "/", 2 for "/../..", -1 for anything else ("/sub": a mount of a subtree).
int MountLevelsAbove(std::string_view mount_root) noexcept;

// `path` from /proc/PID/cgroup, normalised onto `base`: the namespace root's path in the
// mounted hierarchy ("" or "/" when the mount's root is the namespace's root, as outside any
// namespace). Writes the path ("/" for the mount's root) to out; false when it lies above the
// mount's root (a cgroup this mount cannot show) or does not fit.
bool RebaseCgroupPath(std::string_view path, std::string_view base, SmallString<512>& out) noexcept;

}  // namespace reaperd::proc
