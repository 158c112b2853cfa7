// A victim: the identity of the chosen process and its "mm group", i.e. every process
// whose death is needed to free its memory (the process with all its threads, which one
// pidfd covers, plus each process sharing its mm via CLONE_VM), optionally widened to its
// process group or its cgroup. Each member holds a pidfd opened and checked against the
// snapshot's start time, so a PID reused since the scan is never signalled.
// Every member passes the same protections as the chosen process (policy::ProtectRules, which
// the victim carries for the killer's re-walks). Mm sharers are looked for system-wide, as
// the kernel's __oom_kill_process does: a victim whose mm a protected process shares is not
// chosen, since killing it would free nothing.
// Victims are plain values of fixed size: building one does not allocate.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/error.h"
#include "base/small_string.h"
#include "config/config.h"
#include "kill/process_ops.h"
#include "kill/sharer_watch.h"
#include "kill/step_ladder.h"
#include "policy/rank.h"
#include "policy/snapshot.h"
#include "proc/pid_stat.h"
#include "scan/scanner.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::kill {

// kProcessGroup: a member the kill widened to, with an mm of its own (a process of the victim's
// process group, or of its cgroup at the ladder's cgroup step).
enum class MemberRole : std::uint8_t { kMain, kMmSharer, kProcessGroup };

struct Member {
  pid_t pid = 0;
  std::uint64_t starttime = 0;
  MemberRole role = MemberRole::kMain;
  sys::UniqueFd pidfd;
  bool signalled = false;
  bool exited = false;
  bool released = false;  // process_mrelease returned 0, or the process is gone
  policy::ProcessId id() const noexcept { return {pid, starttime}; }
};

// Who the victim is, copied into every KillResult.
struct VictimIdentity {
  policy::ProcessId id;
  SmallString<64> comm;
  SmallString<256> cgroup;
  uid_t uid = 0;
  std::uint64_t rss_bytes = 0;  // rss (anon + file + shmem) in the snapshot
  std::int64_t threads = 0;
};

// The scope the victim was chosen in (the key of the last-resort ladder).
struct ScopeKey {
  policy::ScopeKind kind = policy::ScopeKind::kSystem;
  SmallString<256> cgroup;
  friend bool operator==(const ScopeKey& a, const ScopeKey& b) noexcept {
    return a.kind == b.kind && a.cgroup.view() == b.cgroup.view();
  }
};

// One member's checks before the signal (its pidfd, start time and oom_score_adj), in wall
// time, and whether they were preads of held files or reads by path.
struct MemberCheck {
  sys::Nanos ns = 0;
  sys::Nanos open_ns = 0;  // of which pidfd_open
  pid_t pid = 0;
  bool held = false;
};

struct Victim {
  static constexpr std::size_t kMaxMembers = 64;

  VictimIdentity identity;
  ScopeKey scope;
  std::array<Member, kMaxMembers> members;
  std::size_t member_count = 0;
  int members_dropped = 0;    // beyond kMaxMembers (process-group widening only)
  int members_stale = 0;      // PID reused or gone before the pidfd was opened
  int members_protected = 0;  // widened members left alone because they are protected
  // The slowest member's checks before the signal: what a long build waited on (the kill
  // line's slowest_check_*).
  MemberCheck slowest_check;
  // Wall time of every member's checks together, and of the memory.oom.group walk (the kill
  // line's checks_ms, oom_group_ms): session 19 found stalls of 15-130 ms under pressure
  // that move between the build's kernel calls; these say where each one fell.
  sys::Nanos checks_ns = 0;
  sys::Nanos oom_group_ns = 0;
  bool main_stale = false;   // the chosen process itself is stale: nothing is signalled
  pid_t mm_shared_with = 0;  // a protected process sharing the mm (Build then fails)
  Error first_error{};
  int errors = 0;
  // Cgroup widening: the cgroup (absolute path in the memory hierarchy) to empty.
  SmallString<256> widen_cgroup;
  sys::CgroupVersion widen_version = sys::CgroupVersion::kNone;
  // Process-group widening: the group to keep emptying (0: none). The members the scan saw
  // are in `members`; a pass over /proc also signals children forked since the scan.
  pid_t widen_pgrp = 0;
  // The size of this kill on the ladder (kill/step_ladder.h) and why. A step of the ladder
  // spares avoided processes too (spare_avoided), in the builder and in the killer's re-walks.
  Step step = Step::kProcess;
  StepReason step_reason = StepReason::kFirst;
  bool spare_avoided = false;
  // The protections the victim was chosen under; every widened member must pass them too.
  // Shared, not copied: no allocation, and a reload cannot change them under a kill.
  std::shared_ptr<const policy::ProtectRules> protection;
  sys::Nanos t_decision = 0;
  sys::Nanos deadline = 0;

  std::span<Member> active() noexcept { return {members.data(), member_count}; }
  std::span<const Member> active() const noexcept { return {members.data(), member_count}; }
  void NoteError(Error e) noexcept {
    if (errors++ == 0) first_error = e;
  }
};

// Fills a Victim from a snapshot: opens and checks the pidfds, finds the mm sharers (kcmp,
// after a cheap prefilter; system-wide for a cgroup scope), and widens per config.
// Not thread safe (one per daemon thread); never allocates once constructed (except through
// protect rules' regexes, as in the ranking).
class VictimBuilder {
 public:
  // protect: the ranking's protections (Ranker::protection()); null means the defaults.
  VictimBuilder(sys::SystemView& view, ProcessOps& ops, const config::KillConfig& config,
                std::shared_ptr<const policy::ProtectRules> protect = nullptr);

  // For a reload: victims built from now on carry these protections.
  void SetProtection(std::shared_ptr<const policy::ProtectRules> protect) noexcept;

  // index: into snapshot.processes. Fails on a bad index, and when the process must not be
  // chosen because a protected process shares its mm (kMmSharedError; out.mm_shared_with
  // names it): its memory could not come back. A stale main process (PID reused or gone,
  // or oom_score_adj set to -1000 since the scan) is reported through out.main_stale (the
  // killer then signals nothing).
  // plan: the ladder's step (StepLadder::Plan): kProcessGroup adds every unprotected, unavoided
  // process of the victim's process group in the snapshot; kCgroup widens to the victim's
  // cgroup (checked by the plan) and adds its unprotected, unavoided processes. kill.widen and
  // memory.oom.group apply as before; out.step says the size the kill has.
  Result<void> Build(const policy::Snapshot& snapshot, std::size_t index, sys::Nanos t_decision,
                     Victim& out, StepPlan plan = {}) noexcept;

  // Has the mm sharers of these candidates (snapshot.processes[candidates[i].index], at most
  // SharerWatch::kEntries) found ahead of a kill in a cgroup scope, so that Build then probes
  // only the PIDs allocated since instead of walking /proc (see SharerWatch). The engine
  // calls it while a cgroup scope is at warn or above. Returns how many were walked for.
  std::size_t WatchSharers(const policy::Snapshot& snapshot,
                           std::span<const policy::Score> candidates, sys::Nanos now) noexcept;
  const SharerWatch& sharer_watch() const noexcept { return watch_; }

  // The pid of a protected process sharing the mm of snapshot.processes[index], 0 if none
  // (what Build would refuse the victim for; `reaperd rank` shows it). Opens no pidfd.
  pid_t ProtectedSharer(const policy::Snapshot& snapshot, std::size_t index) noexcept;

  // Opens a pidfd for pid and checks that the process still has this start time.
  // kStale when the PID now names another process (or is gone). *rss_pages (if given): the
  // resident set in the same read of stat. *open_ns (if given): how long pidfd_open took.
  Result<sys::UniqueFd> OpenChecked(pid_t pid, std::uint64_t starttime,
                                    std::uint64_t* rss_pages = nullptr,
                                    sys::Nanos* open_ns = nullptr) noexcept;

  // The files the scanner holds open for its top candidates (Scanner::HeldFd): a member it
  // holds is checked through them, a pread each instead of an open, a read and a close by
  // path (issue 13: the build is on the way to the signal). Null (the default): by path.
  // The scanner must outlive the builder's use of it, on the same thread.
  void ReadThroughHeld(const scan::Scanner* held) noexcept { held_ = held; }

  // Build's error context when the victim's mm is shared with a protected process.
  static constexpr const char* kMmSharedError = "mm shared with a protected process";

 private:
  // *rss_pages (if given): the member's resident set, read with its identity.
  bool AddMember(Victim& v, const policy::Process& p, MemberRole role,
                 std::uint64_t* rss_pages = nullptr) noexcept;
  // True if pid's oom_score_adj reads -1000 now.
  bool MinAdjNow(pid_t pid) noexcept;
  // True when memory.oom.group chose the cgroup.
  bool FindCgroupWidening(const policy::Snapshot& snapshot, const policy::Process& p,
                          Victim& v) noexcept;
  // Adds the processes of the snapshot (but index) that belong(q) says to take, unless
  // protected (counted) or, for a step of the ladder, avoided.
  template <class F>
  void AddWidened(const policy::Snapshot& snapshot, std::size_t index, Victim& v,
                  F&& belongs) noexcept;
  // Calls on_sharer(q) for every process q other than p that shares p's mm: those in the
  // snapshot, then (for a cgroup scope, whose snapshot does not hold the whole system) those
  // found by a walk of /proc, or, when the watch vouches for p at `now` (0: never), among
  // the sharers it recorded and the PIDs allocated since. Stops when on_sharer returns false.
  template <class F>
  void ForEachSharer(const policy::Snapshot& snapshot, std::size_t index, sys::Nanos now,
                     F&& on_sharer) noexcept;
  // False if pid names a thread other than its process's main one (or nothing readable).
  bool IsProcess(pid_t pid) noexcept;

  sys::SystemView& view_;
  ProcessOps& ops_;
  const config::KillConfig& config_;
  std::shared_ptr<const policy::ProtectRules> protect_;
  pid_t self_;
  scan::Scanner scanner_;                // reads a sharer found outside the snapshot
  const scan::Scanner* held_ = nullptr;  // ReadThroughHeld
  policy::Process scratch_;              // that sharer (strings reserved up front)
  std::vector<pid_t> pids_;              // /proc listing for the system-wide sharer walk, reserved
  SharerWatch watch_;  // a cgroup scope's candidates' sharers, found ahead of the kill
};

// How many pids a reused /proc listing buffer is made for at start: twice the processes
// there are now, at least 1024 (a longer listing still works: the vector grows once).
std::size_t PidListReserve(sys::SystemView& view) noexcept;

// Reads the start time (stat field 22) of pid through the view.
Result<std::uint64_t> ReadStarttime(sys::SystemView& view, pid_t pid) noexcept;
// pid's stat: through held_fd when it is not -1 and that read gives pid's stat (a pread),
// else by path (a held file of a process gone since names nothing: the PID may name
// another process now).
Result<proc::PidStat> ReadStatNow(sys::SystemView& view, pid_t pid, int held_fd) noexcept;
// Reads the resident set of pid in bytes (statm; 0 after the mm is gone).
Result<std::uint64_t> ReadRssBytes(sys::SystemView& view, pid_t pid,
                                   std::uint64_t page_size) noexcept;

}  // namespace reaperd::kill
