// The thread that runs one scope's reclaim chain, so that no notifier (a hook that hangs, a
// slow memory.reclaim write) ever blocks the daemon loop. The loop asks for a pass with
// Request() (never blocks; refused while a pass runs), looks at busy(), and collects the
// result with TakeResult() on a later tick. Stop() cancels the pass in progress (a running
// hook is killed) and joins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "reclaim/chain.h"

namespace reaperd::reclaim {

class Worker {
 public:
  Worker(std::unique_ptr<Chain> chain, Probe probe, const sys::Clock& clock);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts a pass unless one is running; returns whether it started.
  bool Request(const NotifyContext& ctx, std::uint64_t target_available);
  bool busy() const noexcept { return busy_.load(std::memory_order_acquire); }
  // The result of the last finished pass, once.
  std::optional<PassResult> TakeResult();
  // When the last pass ended (0: none yet).
  sys::Nanos last_end_ns() const noexcept { return last_end_ns_.load(); }
  ChainStatus status() const { return chain_->status(); }
  void Stop();

 private:
  class CvWaiter;
  void Loop();

  std::unique_ptr<Chain> chain_;
  Probe probe_;
  const sys::Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<NotifyContext> request_;
  std::uint64_t target_ = 0;
  std::optional<PassResult> result_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> stop_{false};
  std::atomic<sys::Nanos> last_end_ns_{0};
  std::thread thread_;
};

}  // namespace reaperd::reclaim
