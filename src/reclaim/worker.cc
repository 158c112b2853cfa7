#include "reclaim/worker.h"

#include <chrono>

namespace reaperd::reclaim {

// Sleeps on the worker's condition variable, so Stop() cuts a settle window short.
class Worker::CvWaiter final : public Waiter {
 public:
  explicit CvWaiter(Worker& w) : w_(w) {}
  bool SleepMs(int ms) override {
    std::unique_lock lock(w_.mu_);
    return !w_.cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return w_.stop_.load(); });
  }

 private:
  Worker& w_;
};

Worker::Worker(std::unique_ptr<Chain> chain, Probe probe, const sys::Clock& clock)
    : chain_(std::move(chain)), probe_(std::move(probe)), clock_(clock) {
  thread_ = std::thread([this] { Loop(); });
}

Worker::~Worker() { Stop(); }

void Worker::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Worker::Request(const NotifyContext& ctx, std::uint64_t target_available) {
  {
    std::lock_guard lock(mu_);
    if (stop_ || busy_.load() || request_) return false;
    request_ = ctx;
    request_->cancel = &stop_;
    target_ = target_available;
    busy_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
  return true;
}

std::optional<PassResult> Worker::TakeResult() {
  std::lock_guard lock(mu_);
  return std::exchange(result_, std::nullopt);
}

void Worker::Loop() {
  CvWaiter waiter(*this);
  for (;;) {
    NotifyContext ctx;
    std::uint64_t target = 0;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_.load() || request_.has_value(); });
      if (stop_) return;
      ctx = std::move(*request_);
      request_.reset();
      target = target_;
    }
    PassResult r = chain_->RunPass(ctx, target, probe_, waiter);
    {
      std::lock_guard lock(mu_);
      result_ = r;
      last_end_ns_ = clock_.Now();
      busy_.store(false, std::memory_order_release);
    }
  }
}

}  // namespace reaperd::reclaim
