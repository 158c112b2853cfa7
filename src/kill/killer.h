// The killer: sends the victim's signals, in the caller's thread, through pidfds only.
// SIGKILL by default; SIGTERM first when kill.signal_grace_ms > 0 (the reaper escalates).
// Every process a kill widens to is opened by pidfd, read afresh (scan::Scanner::ReadProcess)
// and judged by the victim's policy::ProtectRules, the predicate the ranking used: a
// protected process (oom_score_adj -1000, rank.protect_*, protect rules, reaperd and its
// hooks, init, kernel threads) is never signalled, nor one outside the widened cgroup or,
// for a process group, outside the scope the victim was chosen in.
// Cgroup widening walks cgroup.procs (and child cgroups); on v2 it then writes cgroup.kill
// (which also catches what forked meanwhile) only when the walk found no protected or
// unreadable process, as the kernel's memory.oom.group kill spares -1000 tasks.
// Process-group widening re-walks /proc likewise, for children forked since the scan.
// A step of the kill-size ladder (Victim::spare_avoided) spares avoided processes the same way.
// Never blocks on a victim, never allocates in Signal (buffers are reserved up front; the
// v1/v2 walk into child cgroups and protect rules' regexes are the exceptions).
// Not thread safe: each thread that kills owns a Killer.
#pragma once

#include <vector>

#include "config/config.h"
#include "kill/kill_result.h"
#include "kill/process_ops.h"
#include "kill/victim.h"
#include "policy/snapshot.h"
#include "scan/scanner.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::kill {

// The bytes a cgroup.procs listing of PidListReserve(view) pids takes: at most 7 digits each
// (pid_max is at most 4194304) and a newline. The kill path's cgroup.procs buffers are sized
// to the host with it, as its /proc listings are; a longer listing is read truncated, and a
// walk that read one is incomplete (no cgroup.kill after it).
std::size_t ProcsListBytes(sys::SystemView& view) noexcept;

class Killer {
 public:
  Killer(sys::SystemView& view, ProcessOps& ops, const sys::Clock& clock,
         const config::KillConfig& config, bool dry_run);

  // The first signal (SIGTERM with a grace period, else SIGKILL) to every member, then the
  // widened cgroup. Fills the signalling fields of r (t_signal, members_signalled...).
  void Signal(Victim& v, KillResult& r) noexcept;

  // sig to every member not known to have exited; returns how many were sent.
  int SignalMembers(Victim& v, int sig, KillResult& r) noexcept;

  // One pass over the widened cgroup; returns how many processes were signalled (at least 1
  // after a successful v2 cgroup.kill, which is SIGKILL only).
  int KillCgroupPass(Victim& v, int sig, KillResult& r) noexcept;

  // One pass over /proc for processes of the victim's widened process group that are not
  // members (forked since the scan); each is checked through its pidfd and signalled unless
  // protected or outside the victim's scope. Returns how many.
  int KillProcessGroupPass(Victim& v, int sig, KillResult& r) noexcept;

  int first_signal() const noexcept;
  bool dry_run() const noexcept { return dry_run_; }

 private:
  // What the walk of a cgroup found besides what it signalled.
  struct WalkNotes {
    int protected_seen = 0;   // protected processes left alone
    bool incomplete = false;  // a cgroup.procs or a process could not be read
  };
  int SignalCgroupTree(Victim& v, std::string_view cgroup, int sig, int depth,
                       WalkNotes& notes) noexcept;
  // Reads pid afresh into scratch_ (its pidfd is already open) and judges it as a widened
  // member of v: false when it is gone or unreadable, outside `under` (a cgroup subtree;
  // empty: anywhere), or protected (then counted in v.members_protected and *is_protected).
  bool MayWiden(Victim& v, pid_t pid, std::string_view under, bool* unreadable,
                bool* is_protected) noexcept;

  sys::SystemView& view_;
  ProcessOps& ops_;
  const sys::Clock& clock_;
  const config::KillConfig& config_;
  bool dry_run_;
  std::vector<char> procs_buf_;  // cgroup.procs, reserved once
  std::vector<pid_t> pids_buf_;  // /proc listing for process-group passes, reserved once
  pid_t self_;
  scan::Scanner scanner_;    // reads a widened process afresh
  policy::Process scratch_;  // what it read (strings reserved up front)
};

}  // namespace reaperd::kill
