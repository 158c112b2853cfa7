// A victim: the identity of the chosen process and its "mm group", i.e. every process
// whose death is needed to free its memory (the process with all its threads, which one
// pidfd covers, plus each process sharing its mm via CLONE_VM), optionally widened to its
// process group or its cgroup. Each member holds a pidfd opened and checked against the
// snapshot's start time, so a PID reused since the scan is never signalled.
// Victims are plain values of fixed size: building one does not allocate.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/error.h"
#include "base/small_string.h"
#include "config/config.h"
#include "kill/process_ops.h"
#include "policy/rank.h"
#include "policy/snapshot.h"
#include "sys/clock.h"
#include "sys/system_view.h"

namespace reaperd::kill {

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

struct Victim {
  static constexpr std::size_t kMaxMembers = 64;

  VictimIdentity identity;
  ScopeKey scope;
  std::array<Member, kMaxMembers> members;
  std::size_t member_count = 0;
  int members_dropped = 0;  // beyond kMaxMembers (process-group widening only)
  int members_stale = 0;    // PID reused or gone before the pidfd was opened
  bool main_stale = false;  // the chosen process itself is stale: nothing is signalled
  Error first_error{};
  int errors = 0;
  // Cgroup widening: the cgroup (absolute path in the memory hierarchy) to empty.
  SmallString<256> widen_cgroup;
  sys::CgroupVersion widen_version = sys::CgroupVersion::kNone;
  // Process-group widening: the group to keep emptying (0: none). The members the scan saw
  // are in `members`; a pass over /proc also signals children forked since the scan.
  pid_t widen_pgrp = 0;
  std::uint64_t scope_usage_before = 0;  // 0 when unknown (system scope)
  sys::Nanos t_decision = 0;
  sys::Nanos deadline = 0;

  std::span<Member> active() noexcept { return {members.data(), member_count}; }
  std::span<const Member> active() const noexcept { return {members.data(), member_count}; }
  void NoteError(Error e) noexcept {
    if (errors++ == 0) first_error = e;
  }
};

// Fills a Victim from a snapshot: opens and checks the pidfds, finds the mm sharers among
// the snapshot's candidates (kcmp, after a cheap prefilter), and widens per config.
// Not thread safe (one per daemon thread); never allocates.
class VictimBuilder {
 public:
  VictimBuilder(sys::SystemView& view, ProcessOps& ops, const config::KillConfig& config) noexcept
      : view_(view), ops_(ops), config_(config) {}

  // index: into snapshot.processes. Fails only on a bad index; a stale main process (PID
  // reused or gone, or oom_score_adj set to -1000 since the scan) is reported through
  // out.main_stale (the killer then signals nothing).
  Result<void> Build(const policy::Snapshot& snapshot, std::size_t index, sys::Nanos t_decision,
                     Victim& out) noexcept;

  // Opens a pidfd for pid and checks that the process still has this start time.
  // kStale when the PID now names another process (or is gone).
  Result<sys::UniqueFd> OpenChecked(pid_t pid, std::uint64_t starttime) noexcept;

 private:
  bool AddMember(Victim& v, const policy::Process& p, MemberRole role) noexcept;
  // True if pid's oom_score_adj reads -1000 now.
  bool MinAdjNow(pid_t pid) noexcept;
  void FindCgroupWidening(const policy::Snapshot& snapshot, const policy::Process& p,
                          Victim& v) noexcept;

  sys::SystemView& view_;
  ProcessOps& ops_;
  const config::KillConfig& config_;
};

// Reads the start time (stat field 22) of pid through the view.
Result<std::uint64_t> ReadStarttime(sys::SystemView& view, pid_t pid) noexcept;
// Reads the resident set of pid in bytes (statm; 0 after the mm is gone).
Result<std::uint64_t> ReadRssBytes(sys::SystemView& view, pid_t pid,
                                   std::uint64_t page_size) noexcept;

}  // namespace reaperd::kill
