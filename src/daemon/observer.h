// What the engine tells the rest of the daemon (reports, metrics, status, the watchdog):
// every sample and level change, every kill decision with the ranking behind it, every
// result from the reaper. Observers are called on the loop thread, in order of AddObserver;
// they must not block (queue work for another thread if they need I/O that can stall).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "kill/kill_result.h"
#include "policy/rank.h"
#include "policy/scope.h"
#include "policy/snapshot.h"
#include "pressure/sample.h"
#include "reclaim/chain.h"

namespace reaperd::daemon {

// One kill decision: everything needed to explain it.
struct KillDecision {
  std::uint64_t seq = 0;  // the reaper's sequence number, matches KillResult::seq
  const policy::Scope* scope = nullptr;
  const pressure::Decision* decision = nullptr;
  const pressure::PressureSample* sample = nullptr;
  const policy::Snapshot* snapshot = nullptr;
  const policy::Ranking* ranking = nullptr;
  std::size_t victim_rank = 0;             // index into ranking->candidates
  std::vector<pid_t> members;              // the victim group as signalled
  kill::Step step = kill::Step::kProcess;  // its size on the kill-size ladder, and why
  kill::StepReason step_reason = kill::StepReason::kFirst;
  std::int64_t t_decision_ns = 0;
  bool dry_run = false;
};

class EngineObserver {
 public:
  virtual ~EngineObserver() = default;
  virtual void OnSample(const policy::Scope& scope, const pressure::PressureSample& sample,
                        const pressure::Decision& decision) {
    (void)scope, (void)sample, (void)decision;
  }
  virtual void OnLevelChange(const policy::Scope& scope, pressure::Level from,
                             const pressure::Decision& decision) {
    (void)scope, (void)from, (void)decision;
  }
  virtual void OnKillDecision(const KillDecision& kill) { (void)kill; }
  virtual void OnKillResult(const kill::KillResult& result) { (void)result; }
  // A reclaim chain pass of the scope ended (collected by the loop on the tick after).
  virtual void OnReclaimPass(const policy::Scope& scope, const reclaim::PassResult& pass) {
    (void)scope, (void)pass;
  }
};

}  // namespace reaperd::daemon
