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

char SysrqCommand(config::LastResort r) noexcept {
  switch (r) {
    case config::LastResort::kKernelOom:
      return 'f';
    case config::LastResort::kPanic:
      return 'c';
    case config::LastResort::kReboot:
      return 'b';
    case config::LastResort::kNone:
      break;
  }
  return 0;
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

config::LastResort LastResortLadder::NoteMiss(const ScopeKey& scope) noexcept {
  std::lock_guard lock(mu_);
  Entry* e = Find(scope, true);
  ++e->misses;
  if (config_.last_resort == config::LastResort::kNone) return config::LastResort::kNone;
  if (e->misses < std::max(1, config_.last_resort_after_misses)) return config::LastResort::kNone;
  e->misses = 0;
  return config_.last_resort;
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

Result<void> LastResortLadder::Fire(config::LastResort r) noexcept {
  char c = SysrqCommand(r);
  if (c == 0) return {};
  return sysrq_.Trigger(c);
}

}  // namespace reaperd::kill
