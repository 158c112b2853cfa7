// The end of a cgroup scope's ladder: SIGKILL, through pidfds, every process left in the
// scope's cgroup and its descendants that the kernel's own OOM killer could pick, i.e. all
// but init, kernel threads, oom_score_adj -1000 and reaperd itself. This is what the kernel
// does for a memory.oom.group cgroup, and it never reaches outside the cgroup: each process
// is pinned by its pidfd and checked, after the open, to be at or below the cgroup.
// Handing the cgroup to the kernel's memcg OOM killer instead was rejected: v1 needs
// oom_kill_disable flipped (an admin's explicit choice to leave the decision to userspace),
// and v2 can only be made to OOM by lowering memory.max; both rewrite the cgroup's settings.
// Not thread safe (the reaper's watcher owns one). Reads allocate only for child cgroup
// names, like the v1 widening walk.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "kill/process_ops.h"
#include "policy/rank.h"
#include "scan/scanner.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::kill {

class CgroupLastResort {
 public:
  CgroupLastResort(sys::SystemView& view, ProcessOps& ops, const sys::Clock& clock);

  // The configured protections (protect_comm, protect_uid, protect_cgroup, rules: the
  // ranker's ProtectRules), checked on top of the kernel's. Safe from any thread.
  void SetProtection(std::shared_ptr<const policy::ProtectRules> rules);

  // SIGKILLs every unprotected process at or below cgroup (absolute in the memory
  // hierarchy). Returns how many were signalled; fails when the cgroup cannot be read, or
  // when nothing in it could be signalled (every process left is protected, or refused).
  Result<int> Kill(std::string_view cgroup) noexcept;

 private:
  int KillLevel(std::string_view root, std::string_view cgroup, int depth, Error& err) noexcept;

  // True when policy::ProtectRules::Check spares pid (init, kernel threads, reaperd and its
  // hooks, -1000, the configured protections), or when it cannot be read whole.
  bool Protected(pid_t pid) noexcept;

  sys::SystemView& view_;
  ProcessOps& ops_;
  std::vector<char> procs_buf_;  // cgroup.procs, reserved once
  scan::Scanner scanner_;        // reads a process whole for the configured protections
  policy::Process scratch_;
  std::mutex mu_;  // guards rules_ (set from the loop thread, read by the watcher)
  std::shared_ptr<const policy::ProtectRules> rules_;
};

}  // namespace reaperd::kill
