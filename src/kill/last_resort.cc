#include "kill/last_resort.h"

#include <algorithm>

namespace reaperd::kill {

SkipList::SkipList(std::size_t capacity) : capacity_(capacity) { ids_.reserve(capacity); }

bool SkipList::Add(policy::ProcessId id) noexcept {
  std::lock_guard lock(mu_);
  if (std::find(ids_.begin(), ids_.end(), id) != ids_.end()) return true;
  if (ids_.size() >= capacity_) return false;
  ids_.push_back(id);
  return true;
}

void SkipList::Remove(policy::ProcessId id) noexcept {
  std::lock_guard lock(mu_);
  std::erase(ids_, id);
}

bool SkipList::Contains(policy::ProcessId id) const noexcept {
  std::lock_guard lock(mu_);
  return std::find(ids_.begin(), ids_.end(), id) != ids_.end();
}

void SkipList::CopyTo(std::vector<policy::ProcessId>& out) const {
  std::lock_guard lock(mu_);
  out.assign(ids_.begin(), ids_.end());
}

std::size_t SkipList::size() const noexcept {
  std::lock_guard lock(mu_);
  return ids_.size();
}

Result<void> ProcSysrq::Trigger(char command) noexcept {
  char c[1] = {command};
  return view_.Write(sys::Root::kProc, "sysrq-trigger", std::string_view(c, 1));
}

char SysrqCommand(LastResortAction a) noexcept {
  switch (a) {
    case LastResortAction::kKernelOom:
      return 'f';
    case LastResortAction::kPanic:
      return 'c';
    case LastResortAction::kReboot:
      return 'b';
    case LastResortAction::kKillCgroup:
    case LastResortAction::kNone:
      break;
  }
  return 0;
}

LastResortAction LadderEnd(config::LastResort configured, policy::ScopeKind kind) noexcept {
  if (configured == config::LastResort::kNone) return LastResortAction::kNone;
  if (kind != policy::ScopeKind::kSystem) return LastResortAction::kKillCgroup;
  switch (configured) {
    case config::LastResort::kKernelOom:
      return LastResortAction::kKernelOom;
    case config::LastResort::kPanic:
      return LastResortAction::kPanic;
    case config::LastResort::kReboot:
      return LastResortAction::kReboot;
    case config::LastResort::kNone:
      break;
  }
  return LastResortAction::kNone;
}

const char* LastResortName(LastResortAction a) noexcept {
  switch (a) {
    case LastResortAction::kKernelOom:
      return "kernel";
    case LastResortAction::kPanic:
      return "panic";
    case LastResortAction::kReboot:
      return "reboot";
    case LastResortAction::kKillCgroup:
      return "kill_cgroup";
    case LastResortAction::kNone:
      break;
  }
  return "none";
}

const char* LastResortName(config::LastResort r) noexcept {
  switch (r) {
    case config::LastResort::kKernelOom:
      return "kernel";
    case config::LastResort::kPanic:
      return "panic";
    case config::LastResort::kReboot:
      return "reboot";
    case config::LastResort::kNone:
      break;
  }
  return "none";
}

LastResortLadder::Entry* LastResortLadder::Find(const ScopeKey& scope, bool create) noexcept {
  Entry* free_entry = nullptr;
  for (Entry& e : entries_) {
    if (e.used && e.scope == scope) return &e;
    if (!e.used && free_entry == nullptr) free_entry = &e;
  }
  if (!create) return nullptr;
  if (free_entry == nullptr) free_entry = &entries_[0];  // full: reuse, never fail the kill path
  *free_entry = Entry{scope, 0, true};
  return free_entry;
}

LastResortAction LastResortLadder::NoteMiss(const ScopeKey& scope) noexcept {
  std::lock_guard lock(mu_);
  Entry* e = Find(scope, true);
  ++e->misses;
  LastResortAction end = LadderEnd(config_.last_resort, scope.kind);
  if (end == LastResortAction::kNone) return end;
  if (e->misses < std::max(1, config_.last_resort_after_misses)) return LastResortAction::kNone;
  e->misses = 0;
  return end;
}

void LastResortLadder::NoteSuccess(const ScopeKey& scope) noexcept {
  std::lock_guard lock(mu_);
  if (Entry* e = Find(scope, false)) e->misses = 0;
}

int LastResortLadder::misses(const ScopeKey& scope) const noexcept {
  std::lock_guard lock(mu_);
  for (const Entry& e : entries_) {
    if (e.used && e.scope == scope) return e.misses;
  }
  return 0;
}

Result<void> LastResortLadder::Fire(LastResortAction a) noexcept {
  if (a == LastResortAction::kKillCgroup) {
    return Fail(Error::Of(Errc::kInvalid, "last resort: a cgroup scope never writes sysrq"));
  }
  char c = SysrqCommand(a);
  if (c == 0) return {};
  return sysrq_.Trigger(c);
}

}  // namespace reaperd::kill
