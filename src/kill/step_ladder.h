// The kill-size ladder (issue 15): by default a victim is one process (its mm group), not its
// unit or session. One ladder per scope remembers the application of its last victim (its
// process group, and its cgroup when that is an application's own) for the episode. When the
// next kill decision of the episode comes after that victim's outcome is in (reaped, or its
// deadline passed) and the same application is on top, the kill steps up: the process group
// first, then the cgroup, up to kill.step_up. Another application on top starts again from
// the process; a return to ok that lasts (the engine's kEpisodeEndNs) forgets the ladder (Reset).
// A step never widens into a protected or an avoided process (the builder and the killer ask
// policy::ProtectRules::Avoid as they ask Check), and never kills whole a cgroup that is the
// scope's own, a slice, a user manager, a login's session scope, or one that holds an avoided
// process (a compositor, a session leader): there the ladder stops at the process group.
// Pure (reads only the snapshot), noexcept, no allocation: it runs on the kill path.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string_view>

#include "base/small_string.h"
#include "config/config.h"
#include "policy/rank.h"
#include "policy/snapshot.h"

namespace reaperd::kill {

enum class Step : std::uint8_t { kProcess, kProcessGroup, kCgroup };
const char* StepName(Step s) noexcept;

// Why a kill has the size it has (the kill line's step_reason=).
enum class StepReason : std::uint8_t {
  kFirst,           // no earlier victim in this episode of the scope
  kNewApplication,  // the top candidate is not the previous victim's application
  kPressureStayed,  // the previous victim's memory is back and pressure stayed: one step up
  kVictimPending,   // the same application, but the previous victim's outcome is not in yet
  kAvoided,         // the candidate itself is avoided (it was all that was left): never widened
  kSessionCgroup,   // its cgroup is a slice, a user manager, a session scope or holds an
                    // avoided process: the ladder stops at the process group
  kScopeRoot,       // its cgroup is the scope's own (or the root): stops at the process group
  kCgroupPathLong,  // its cgroup path is longer than a victim holds: stops at the group
  kStepLimit,       // kill.step_up allows no higher step
  kDisabled,        // kill.step_up = "none"
  kWiden,           // kill.widen sets the size
  kOomGroup,        // memory.oom.group=1 sets the size (the owner asked for all or nothing)
};
const char* StepReasonName(StepReason r) noexcept;

struct StepPlan {
  Step step = Step::kProcess;
  StepReason reason = StepReason::kFirst;
};

// Why the cgroup `cgroup` of a process of the snapshot may not be killed whole by the ladder
// (kScopeRoot, kSessionCgroup, kCgroupPathLong), or nullopt when it is an application's own.
std::optional<StepReason> WhyNotCgroupStep(const policy::Snapshot& snapshot,
                                           std::string_view cgroup,
                                           const policy::ProtectRules& rules) noexcept;

class StepLadder {
 public:
  // The size of a kill of snapshot.processes[index], ranked with avoid and tier (its Score),
  // under the highest step `limit` (kill.step_up).
  StepPlan Plan(const policy::Snapshot& snapshot, std::size_t index, policy::AvoidReason avoid,
                int tier, config::Widen limit, const policy::ProtectRules& rules) const noexcept;
  // A victim of size `step` was submitted as seq: its application is the one to step up from.
  void NoteKill(std::uint64_t seq, const policy::Snapshot& snapshot, std::size_t index, Step step,
                const policy::ProtectRules& rules) noexcept;
  // The reaper's result for seq came back (reaped, exited, failed or past its deadline).
  void NoteResult(std::uint64_t seq) noexcept;
  // The scope is back to ok: the next kill starts from the process.
  void Reset() noexcept { *this = StepLadder{}; }

  bool active() const noexcept { return active_; }
  Step step() const noexcept { return step_; }

 private:
  // The process is in the previous victim's process group, or in its cgroup when that
  // cgroup is an application's own.
  bool SameApplication(const policy::Process& p) const noexcept;

  bool active_ = false;
  Step step_ = Step::kProcess;  // the highest step taken in this episode
  pid_t pgrp_ = 0;
  SmallString<256> cgroup_;  // empty unless the previous victim's cgroup is an application's
  std::uint64_t seq_ = 0;
  bool done_ = false;  // the previous victim's result is in
};

}  // namespace reaperd::kill
