#include "kill/step_ladder.h"

#include <algorithm>

namespace reaperd::kill {

namespace {

bool AtOrBelow(std::string_view path, std::string_view root) noexcept {
  if (path == root || root == "/") return true;
  return path.size() > root.size() && path.starts_with(root) && path[root.size()] == '/';
}

std::string_view Leaf(std::string_view path) noexcept {
  const std::size_t slash = path.find_last_of('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

Step Highest(config::Widen limit) noexcept {
  switch (limit) {
    case config::Widen::kNone:
      return Step::kProcess;
    case config::Widen::kProcessGroup:
      return Step::kProcessGroup;
    case config::Widen::kCgroup:
      return Step::kCgroup;
  }
  return Step::kProcess;
}

// The capacity of the cgroup paths a victim and the ladder hold (SmallString<256>).
constexpr std::size_t kCgroupPathMax = 256;

}  // namespace

const char* StepName(Step s) noexcept {
  switch (s) {
    case Step::kProcess:
      return "process";
    case Step::kProcessGroup:
      return "process_group";
    case Step::kCgroup:
      return "cgroup";
  }
  return "?";
}

const char* StepReasonName(StepReason r) noexcept {
  switch (r) {
    case StepReason::kFirst:
      return "first";
    case StepReason::kNewApplication:
      return "new_application";
    case StepReason::kPressureStayed:
      return "pressure_stayed";
    case StepReason::kVictimPending:
      return "victim_pending";
    case StepReason::kAvoided:
      return "avoided";
    case StepReason::kSessionCgroup:
      return "session_cgroup";
    case StepReason::kScopeRoot:
      return "scope_root";
    case StepReason::kCgroupPathLong:
      return "cgroup_path_long";
    case StepReason::kStepLimit:
      return "step_limit";
    case StepReason::kDisabled:
      return "disabled";
    case StepReason::kWiden:
      return "kill_widen";
    case StepReason::kOomGroup:
      return "memory_oom_group";
  }
  return "?";
}

std::optional<StepReason> WhyNotCgroupStep(const policy::Snapshot& snapshot,
                                           std::string_view cgroup,
                                           const policy::ProtectRules& rules) noexcept {
  // Never the scope's own cgroup (its kill would be the whole scope), nor anything not
  // strictly inside it.
  if (cgroup.empty() || cgroup == "/") return StepReason::kScopeRoot;
  if (snapshot.scope.kind == policy::ScopeKind::kCgroup) {
    const std::string_view floor = snapshot.scope.cgroup;
    if (cgroup == floor || !AtOrBelow(cgroup, floor)) return StepReason::kScopeRoot;
  }
  if (cgroup.size() >= kCgroupPathMax) return StepReason::kCgroupPathLong;
  // systemd's layout: a slice groups units, user@UID.service is a user's whole manager, and
  // logind's session-N.scope is a login; none of them is one application.
  const std::string_view leaf = Leaf(cgroup);
  if (leaf.ends_with(".slice") || (leaf.starts_with("user@") && leaf.ends_with(".service")) ||
      (leaf.starts_with("session-") && leaf.ends_with(".scope"))) {
    return StepReason::kSessionCgroup;
  }
  // A cgroup that holds what keeps a session together (found as the ranking finds it) is
  // not killed whole, even sparing that process: the rest of a session is not one application.
  for (const policy::Process& q : snapshot.processes) {
    if (AtOrBelow(q.cgroup, cgroup) && rules.Avoid(q) != policy::AvoidReason::kNone) {
      return StepReason::kSessionCgroup;
    }
  }
  return std::nullopt;
}

StepPlan StepLadder::Plan(const policy::Snapshot& snapshot, std::size_t index,
                          policy::AvoidReason avoid, int tier, config::Widen limit,
                          const policy::ProtectRules& rules) const noexcept {
  if (limit == config::Widen::kNone) return {Step::kProcess, StepReason::kDisabled};
  if (!active_ || index >= snapshot.processes.size()) return {Step::kProcess, StepReason::kFirst};
  const policy::Process& p = snapshot.processes[index];
  if (!SameApplication(p)) return {Step::kProcess, StepReason::kNewApplication};
  // An avoided candidate is chosen only when nothing else is left: never widened from.
  if (avoid != policy::AvoidReason::kNone || tier < 0) {
    return {Step::kProcess, StepReason::kAvoided};
  }
  // Its memory may still be on its way back: no step up before the outcome is in.
  if (!done_) return {Step::kProcess, StepReason::kVictimPending};
  Step want = step_ == Step::kProcess && p.pgrp > 1 ? Step::kProcessGroup : Step::kCgroup;
  const Step highest = Highest(limit);
  if (want > highest) return {highest, StepReason::kStepLimit};
  if (want == Step::kCgroup) {
    if (auto why = WhyNotCgroupStep(snapshot, p.cgroup, rules)) {
      return {p.pgrp > 1 ? Step::kProcessGroup : Step::kProcess, *why};
    }
  }
  return {want, StepReason::kPressureStayed};
}

void StepLadder::NoteKill(std::uint64_t seq, const policy::Snapshot& snapshot, std::size_t index,
                          Step step, const policy::ProtectRules& rules) noexcept {
  if (index >= snapshot.processes.size()) return;
  const policy::Process& p = snapshot.processes[index];
  // Another application starts its own ladder at the size it was killed at.
  step_ = active_ && SameApplication(p) ? std::max(step_, step) : step;
  active_ = true;
  pgrp_ = p.pgrp;
  // The cgroup names the application only where it could be killed whole: a terminal's or
  // a login's cgroup holds many.
  if (WhyNotCgroupStep(snapshot, p.cgroup, rules)) {
    cgroup_ = {};
  } else {
    cgroup_.Assign(p.cgroup);
  }
  seq_ = seq;
  done_ = false;
}

bool StepLadder::SameApplication(const policy::Process& p) const noexcept {
  return (pgrp_ > 1 && p.pgrp == pgrp_) ||
         (!cgroup_.empty() && std::string_view(p.cgroup) == cgroup_.view());
}

void StepLadder::NoteResult(std::uint64_t seq) noexcept {
  if (active_ && seq == seq_) done_ = true;
}

}  // namespace reaperd::kill
