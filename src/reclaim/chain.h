// The reclaim chain of one scope: its notifiers run in config order, one at a time, each
// bounded by its timeout. After each step the chain waits settle_ms and measures the scope's
// headroom again: what came back is what the step freed. A notifier that frees nothing
// backoff_after times in a row is backed off (exponentially, capped), and a pass stops as
// soon as the scope is back above its target headroom. The status (per notifier: runs,
// misses, bytes freed, back-off) is readable from any thread.
// RunPass blocks; it runs on the scope's Worker thread (worker.h), never on the daemon loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "config/config.h"
#include "pressure/sample.h"
#include "reclaim/notifier.h"
#include "sys/clock.h"

namespace reaperd::reclaim {

// A fresh sample of the scope (the headroom before and after a step).
using Probe = std::function<Result<pressure::PressureSample>()>;

// Waits for the settle window; false when the wait was cut short (the daemon stops).
class Waiter {
 public:
  virtual ~Waiter() = default;
  virtual bool SleepMs(int ms) = 0;
};

struct NotifierStatus {
  std::string name;
  std::string kind;
  std::uint64_t runs = 0;
  std::uint64_t skipped = 0;  // passes that skipped it while backed off
  int misses = 0;             // consecutive runs that freed nothing
  std::uint64_t freed_total_bytes = 0;
  std::int64_t last_freed_bytes = 0;
  NotifyOutcome last_outcome = NotifyOutcome::kDone;
  int backoff_ms = 0;  // 0: not backed off
  sys::Nanos backoff_until_ns = 0;
};

struct ChainStatus {
  std::uint64_t passes = 0;
  std::string running;  // the notifier running now, "" if none
  std::vector<NotifierStatus> notifiers;
};

// One notifier's run in a pass (for the reclaim metrics).
struct StepResult {
  std::string notifier;
  NotifyOutcome outcome = NotifyOutcome::kDone;
  std::int64_t freed_bytes = 0;  // headroom gained over the step (negative if it fell)
};

struct PassResult {
  std::uint64_t freed_bytes = 0;  // headroom gained over the pass (0 if it fell)
  std::vector<StepResult> steps;  // the notifiers that ran, in order (skipped ones left out)
  int steps_run = 0;
  int steps_skipped = 0;  // backed off
  bool target_reached = false;
  bool cancelled = false;
  pressure::PressureSample last;  // the last sample taken
};

class Chain {
 public:
  Chain(const config::ReclaimConfig& cfg, std::vector<std::unique_ptr<Notifier>> notifiers,
        const sys::Clock& clock, Logger& log);

  // One pass: every notifier not backed off, until available_bytes >= target_available.
  PassResult RunPass(const NotifyContext& ctx, std::uint64_t target_available, const Probe& probe,
                     Waiter& wait);

  ChainStatus status() const;
  bool empty() const noexcept { return notifiers_.empty(); }

 private:
  // Records what one step freed; backs the notifier off after repeated misses.
  void Account(std::size_t i, const std::string& scope, NotifyOutcome outcome, std::int64_t freed);

  config::ReclaimConfig cfg_;
  std::vector<std::unique_ptr<Notifier>> notifiers_;
  const sys::Clock& clock_;
  Logger& log_;
  mutable std::mutex mu_;  // guards status_
  ChainStatus status_;
};

}  // namespace reaperd::reclaim
