// What happens when victims do not release their memory in time: the skip list (a victim
// that missed its deadline is never chosen again while it lives) and the ladder that,
// after kill.last_resort_after_misses misses in a row in one scope, pulls the configured
// last resort through /proc/sysrq-trigger: "f" (the kernel OOM killer), "c" (panic) or
// "b" (reboot). Tests give the ladder a fake SysrqWriter; never the real one.
// Thread safety: SkipList and LastResortLadder are safe from several threads.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "config/config.h"
#include "kill/victim.h"
#include "policy/rank.h"
#include "sys/system_view.h"

namespace reaperd::kill {

class SkipList {
 public:
  explicit SkipList(std::size_t capacity = 256);
  // False when full (the oldest entries are kept: they are the longest stalls).
  bool Add(policy::ProcessId id) noexcept;
  void Remove(policy::ProcessId id) noexcept;
  bool Contains(policy::ProcessId id) const noexcept;
  // Replaces out with the current list, for Ranker::Rank (out keeps its capacity).
  void CopyTo(std::vector<policy::ProcessId>& out) const;
  std::size_t size() const noexcept;

 private:
  mutable std::mutex mu_;
  std::vector<policy::ProcessId> ids_;
  std::size_t capacity_;
};

class SysrqWriter {
 public:
  virtual ~SysrqWriter() = default;
  virtual Result<void> Trigger(char command) noexcept = 0;
};

// Writes /proc/sysrq-trigger through the view (root can write it whatever kernel.sysrq says).
class ProcSysrq final : public SysrqWriter {
 public:
  explicit ProcSysrq(sys::SystemView& view) : view_(view) {}
  Result<void> Trigger(char command) noexcept override;

 private:
  sys::SystemView& view_;
};

// The sysrq command of a last resort, or 0 for none.
char SysrqCommand(config::LastResort r) noexcept;
const char* LastResortName(config::LastResort r) noexcept;

class LastResortLadder {
 public:
  static constexpr std::size_t kMaxScopes = 32;
  LastResortLadder(const config::KillConfig& config, SysrqWriter& sysrq) noexcept
      : config_(config), sysrq_(sysrq) {}

  // A missed deadline in scope. Returns the last resort due now (kNone if none); the
  // count then starts again. Call Fire() with it outside any lock.
  config::LastResort NoteMiss(const ScopeKey& scope) noexcept;
  // A victim released its memory in time: the scope's run of misses ends.
  void NoteSuccess(const ScopeKey& scope) noexcept;
  Result<void> Fire(config::LastResort r) noexcept;
  int misses(const ScopeKey& scope) const noexcept;

 private:
  struct Entry {
    ScopeKey scope;
    int misses = 0;
    bool used = false;
  };
  Entry* Find(const ScopeKey& scope, bool create) noexcept;

  const config::KillConfig& config_;
  SysrqWriter& sysrq_;
  mutable std::mutex mu_;
  std::array<Entry, kMaxScopes> entries_{};
};

}  // namespace reaperd::kill
