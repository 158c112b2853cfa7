// How often the engine asks to be woken when nothing is going on, over the captured v1 host
// (24 GiB, 22 GiB available): a big idle host is sampled only as often as the fastest
// plausible hog (kMaxFillBytesPerSecond) needs to eat its headroom, a small cgroup as often
// as that needs there, and the stall watchdog is told the tick to expect, so a long idle
// tick is not taken for a stuck loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "base/log.h"
#include "config/config.h"
#include "daemon/engine.h"
#include "sys/clock.h"
#include "sys/system_view.h"
#include "unit/kill/fakes.h"

namespace reaperd::daemon {
namespace {

const std::string kFx = REAPERD_FIXTURES;

class NullSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view, std::string_view) noexcept override {}
};

class EngineIdle : public testing::Test {
 protected:
  void SetUp() override {
    auto v = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
    ASSERT_TRUE(v.has_value());
    view_.emplace(std::move(*v));
    engine_ = std::make_unique<Engine>(cfg_, std::vector<policy::Scope>{policy::Scope{}},
                                       EngineOptions{.dry_run = true, .self = 1}, *view_, clock_,
                                       log_, ops_, sysrq_);
  }
  // The time a hog at kMaxFillBytesPerSecond needs to bring scope i to its kill floor.
  double CoverMs(std::size_t i) const {
    const auto& s = engine_->status()[i].sample;
    const double floor =
        static_cast<double>(s.total_bytes) * cfg_.detector.kill_available_percent / 100.0;
    return (static_cast<double>(s.available_bytes) - floor) / kMaxFillBytesPerSecond * 1000.0;
  }

  config::Config cfg_;  // the defaults
  std::optional<sys::RealSystemView> view_;
  sys::FakeClock clock_;
  NullSink sink_;
  Logger log_{sink_, LogLevel::kDebug};
  kill::testing::FakeOps ops_;
  kill::testing::FakeSysrq sysrq_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineIdle, ABigIdleHostIsSampledAsOftenAsAFastHogNeedsAndNoMore) {
  const int next = engine_->Tick();
  ASSERT_EQ(engine_->status()[0].decision.level, pressure::Level::kOk);
  ASSERT_GT(CoverMs(0), 10000.0);  // the premise: a 2 GiB/s hog needs over 10 s here
  EXPECT_GE(next, 10000);
  EXPECT_LE(next, CoverMs(0));
}

TEST_F(EngineIdle, ASmallCgroupIsStillSampledBeforeAFastHogCouldFillIt) {
  policy::Scope s;
  ASSERT_TRUE(policy::ParseScope("cgroup:/reaperd-capture", &s));  // 128 MiB limit
  ASSERT_TRUE(engine_->AddScope(s, true));
  const int next = engine_->Tick();
  EXPECT_LE(next, std::max<double>(CoverMs(1), cfg_.detector.interval_fast_ms));
}

TEST_F(EngineIdle, TheStallWatchdogExpectsTheTickTheLoopAsksFor) {
  const int next = engine_->Tick();
  ASSERT_NE(engine_->stall_watchdog(), nullptr);
  // Past loop_late_ms after the tick, but before the next one is due: not late.
  clock_.Advance((std::min(next, 10000) - 1) * sys::kMilli);
  clock_.Advance(cfg_.watchdog.loop_late_ms * sys::kMilli);
  auto rep = engine_->stall_watchdog()->Check();
  EXPECT_FALSE(rep.has_value());
}

// A busy v1 cgroup scope is sampled every interval_fast_ms, which a fast hog outruns (it can
// cross the whole warn band between two samples): its usage alarm waits at the next level's
// boundary above the usage. The captured 128 MiB cgroup uses 7.4 MiB; with warn at 95%
// available it is busy at once, and the next boundary above its usage is reclaim's (50%).
TEST(EngineBusyAlarm, ABusyCgroupScopesAlarmWaitsAtTheNextLevelsBoundary) {
  auto v = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
  ASSERT_TRUE(v.has_value());
  config::Config cfg;
  cfg.detector.warn_available_percent = 95;
  cfg.detector.reclaim_available_percent = 50;
  cfg.detector.kill_available_percent = 40;
  sys::FakeClock clock;
  NullSink sink;
  Logger log(sink, LogLevel::kDebug);
  kill::testing::FakeOps ops;
  kill::testing::FakeSysrq sysrq;
  policy::Scope s;
  ASSERT_TRUE(policy::ParseScope("cgroup:/reaperd-capture", &s));
  Engine engine(cfg, std::vector<policy::Scope>{s}, EngineOptions{.dry_run = true, .self = 1}, *v,
                clock, log, ops, sysrq);
  (void)engine.Tick();
  ASSERT_TRUE(engine.status()[0].decision.busy);
  EXPECT_EQ(engine.status()[0].usage_alarm_wanted, 64u << 20);
}

}  // namespace
}  // namespace reaperd::daemon
