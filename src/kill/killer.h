// The killer: sends the victim's signals, in the caller's thread, through pidfds only.
// SIGKILL by default; SIGTERM first when kill.signal_grace_ms > 0 (the reaper escalates).
// Cgroup widening: v2 writes cgroup.kill; v1 walks cgroup.procs (and child cgroups),
// signalling each PID through a pidfd after checking the process is still in the cgroup.
// Process-group widening re-walks /proc likewise, for children forked since the scan.
// Never blocks on a victim, never allocates in Signal (buffers are reserved up front).
// Not thread safe: each thread that kills owns a Killer.
#pragma once

#include <vector>

#include "config/config.h"
#include "kill/kill_result.h"
#include "kill/process_ops.h"
#include "kill/victim.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::kill {

class Killer {
 public:
  Killer(sys::SystemView& view, ProcessOps& ops, const sys::Clock& clock,
         const config::KillConfig& config, bool dry_run);

  // The first signal (SIGTERM with a grace period, else SIGKILL) to every member, then the
  // widened cgroup. Fills the signalling fields of r (t_signal, members_signalled...).
  void Signal(Victim& v, KillResult& r) noexcept;

  // sig to every member not known to have exited; returns how many were sent.
  int SignalMembers(Victim& v, int sig, KillResult& r) noexcept;

  // One pass over the widened cgroup; returns how many processes were signalled (v1), or
  // 1 for a successful v2 cgroup.kill. SIGKILL only for v2 (cgroup.kill has no other).
  int KillCgroupPass(Victim& v, int sig, KillResult& r) noexcept;

  // One pass over /proc for processes of the victim's widened process group that are not
  // members (forked since the scan); each is checked through its pidfd and signalled unless
  // protected (pid 1, reaperd, kernel threads, oom_score_adj -1000). Returns how many.
  int KillProcessGroupPass(Victim& v, int sig, KillResult& r) noexcept;

  int first_signal() const noexcept;
  bool dry_run() const noexcept { return dry_run_; }

 private:
  int SignalCgroupV1(Victim& v, std::string_view cgroup, int sig, KillResult& r,
                     int depth) noexcept;

  sys::SystemView& view_;
  ProcessOps& ops_;
  const sys::Clock& clock_;
  const config::KillConfig& config_;
  bool dry_run_;
  std::vector<char> procs_buf_;  // cgroup.procs, reserved once
  std::vector<pid_t> pids_buf_;  // /proc listing for process-group passes, reserved once
};

}  // namespace reaperd::kill
