// The chain with recording notifiers and a fake clock: order, measured feedback, the stop at
// the target, and the back-off of a notifier that frees nothing.
#include "reclaim/chain.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace reaperd::reclaim {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

// The scope's headroom, which notifiers raise by what they "free".
struct FakeScope {
  std::uint64_t available = 10 * kMiB;
  std::vector<std::string> ran;
};

class FakeNotifier final : public Notifier {
 public:
  FakeNotifier(std::string name, std::uint64_t frees, FakeScope& scope)
      : name_(std::move(name)), frees_(frees), scope_(scope) {}
  const std::string& name() const noexcept override { return name_; }
  std::string_view kind() const noexcept override { return "fake"; }
  NotifyOutcome Run(const NotifyContext&, int) override {
    scope_.ran.push_back(name_);
    scope_.available += frees_;
    return NotifyOutcome::kDone;
  }

 private:
  std::string name_;
  std::uint64_t frees_;
  FakeScope& scope_;
};

class FakeWaiter final : public Waiter {
 public:
  explicit FakeWaiter(sys::FakeClock& c) : clock_(c) {}
  bool SleepMs(int ms) override {
    clock_.Advance(ms * sys::kMilli);
    return true;
  }

 private:
  sys::FakeClock& clock_;
};

struct Fixture {
  sys::FakeClock clock;
  RecordingSink sink;
  Logger log{sink, LogLevel::kDebug};
  FakeScope scope;
  config::ReclaimConfig cfg;
  FakeWaiter waiter{clock};

  std::unique_ptr<Chain> Make(std::vector<std::pair<std::string, std::uint64_t>> spec) {
    std::vector<std::unique_ptr<Notifier>> ns;
    cfg.notifiers.clear();
    for (auto& [name, frees] : spec) {
      ns.push_back(std::make_unique<FakeNotifier>(name, frees, scope));
      config::NotifierConfig nc;
      nc.name = name;
      cfg.notifiers.push_back(nc);
    }
    return std::make_unique<Chain>(cfg, std::move(ns), clock, log);
  }
  PassResult Pass(Chain& c, std::uint64_t target) {
    NotifyContext ctx;
    ctx.sample.available_bytes = scope.available;
    Probe probe = [this]() -> Result<pressure::PressureSample> {
      pressure::PressureSample s;
      s.available_bytes = scope.available;
      return s;
    };
    return c.RunPass(ctx, target, probe, waiter);
  }
};

TEST(ChainTest, RunsInOrderAndMeasuresEachStep) {
  Fixture f;
  auto chain = f.Make({{"a", 0}, {"b", 5 * kMiB}, {"c", 3 * kMiB}});
  PassResult r = f.Pass(*chain, 100 * kMiB);
  EXPECT_EQ(f.scope.ran, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.steps_run, 3);
  EXPECT_EQ(r.freed_bytes, 8 * kMiB);
  EXPECT_FALSE(r.target_reached);
  ChainStatus st = chain->status();
  EXPECT_EQ(st.notifiers[1].last_freed_bytes, static_cast<std::int64_t>(5 * kMiB));
  EXPECT_EQ(st.notifiers[0].misses, 1);
  EXPECT_TRUE(f.sink.Contains("notifier=\"b\" kind=fake outcome=done freed_bytes=5242880"));
}

TEST(ChainTest, StopsOnceTheTargetIsReached) {
  Fixture f;
  auto chain = f.Make({{"a", 20 * kMiB}, {"b", 5 * kMiB}});
  PassResult r = f.Pass(*chain, 25 * kMiB);
  EXPECT_EQ(f.scope.ran, (std::vector<std::string>{"a"}));
  EXPECT_TRUE(r.target_reached);
}

TEST(ChainTest, BacksOffANotifierThatFreesNothingExponentiallyAndCapped) {
  Fixture f;
  f.cfg.backoff_after = 2;
  f.cfg.backoff_initial_ms = 1000;
  f.cfg.backoff_max_ms = 4000;
  auto chain = f.Make({{"idle", 0}});
  std::vector<int> backoffs;
  for (int pass = 0; pass < 12; ++pass) {
    f.Pass(*chain, 100 * kMiB);
    backoffs.push_back(chain->status().notifiers[0].backoff_ms);
    f.clock.Advance(500 * sys::kMilli);
  }
  const NotifierStatus st = chain->status().notifiers[0];
  // Runs 1: no back-off; 2: 1 s; then skipped until it passes, 3: 2 s, 4: 4 s, 5: 4 s.
  EXPECT_EQ(backoffs[0], 0);
  EXPECT_EQ(backoffs[1], 1000);
  EXPECT_GT(st.skipped, 0u);
  EXPECT_EQ(st.backoff_ms, 4000);
  EXPECT_LT(st.runs, 12u);
  EXPECT_TRUE(
      f.sink.Contains("reclaim_backoff scope=\"system\" notifier=\"idle\" kind=fake "
                      "misses=2 backoff_ms=1000"));
  EXPECT_TRUE(f.sink.Contains("misses=3 backoff_ms=2000"));
  EXPECT_TRUE(f.sink.Contains("backoff_ms=4000"));
  EXPECT_FALSE(f.sink.Contains("backoff_ms=8000"));
}

TEST(ChainTest, AStepThatFreesEndsTheBackOff) {
  Fixture f;
  f.cfg.backoff_after = 1;
  f.cfg.backoff_initial_ms = 100;
  auto chain = f.Make({{"n", 0}});
  f.Pass(*chain, 100 * kMiB);
  EXPECT_EQ(chain->status().notifiers[0].backoff_ms, 100);
  // The same notifier now frees 2 MiB (a different fake over the same status is not
  // possible, so raise the headroom through the scope as if it had).
  auto chain2 = f.Make({{"n", 2 * kMiB}});
  f.Pass(*chain2, 100 * kMiB);
  EXPECT_EQ(chain2->status().notifiers[0].backoff_ms, 0);
  EXPECT_EQ(chain2->status().notifiers[0].misses, 0);
}

}  // namespace
}  // namespace reaperd::reclaim
