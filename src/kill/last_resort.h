// What happens when victims do not release their memory in time: the skip list (a victim
// that missed its deadline, or that nobody could signal, is never chosen again while it
// lives) and the ladder that, after kill.last_resort_after_misses misses in a row in one
// scope, pulls that scope's end. The system scope's end is the configured host action through
// /proc/sysrq-trigger: "f" (the kernel OOM killer), "c" (panic) or "b" (reboot). A cgroup
// scope's end stays inside its cgroup (kill/cgroup_last_resort.h), whatever
// kill.last_resort says, as long as it is not "none". Tests give the ladder a fake
// SysrqWriter; never the real one.
// Thread safety: SkipList and LastResortLadder are safe from several threads.
#pragma once

#include <array>
#include <cstddef>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "config/config.h"
#include "kill/kill_result.h"
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

// The sysrq command of a host action, or 0 for none (and for kKillCgroup).
char SysrqCommand(LastResortAction a) noexcept;
const char* LastResortName(config::LastResort r) noexcept;
// The end of the ladder for a scope kind: the configured host action in the system scope,
// the cgroup kill in a cgroup scope; kNone when kill.last_resort is "none".
LastResortAction LadderEnd(config::LastResort configured, policy::ScopeKind kind) noexcept;

class LastResortLadder {
 public:
  static constexpr std::size_t kMaxScopes = 32;
  LastResortLadder(const config::KillConfig& config, SysrqWriter& sysrq) noexcept
      : config_(config), sysrq_(sysrq) {}

  // A missed deadline (or a victim nobody could signal) in scope. Returns the scope's end
  // when due now (kNone if not); the count then starts again. Fire it outside any lock.
  LastResortAction NoteMiss(const ScopeKey& scope) noexcept;
  // A victim released its memory in time: the scope's run of misses ends.
  void NoteSuccess(const ScopeKey& scope) noexcept;
  // Writes the sysrq command of a host action (kNone: nothing). kKillCgroup is not written
  // here but by CgroupLastResort: kInvalid, so a cgroup scope can never reach sysrq.
  Result<void> Fire(LastResortAction a) noexcept;
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
