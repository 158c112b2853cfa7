// How often the engine asks to be woken when nothing is going on, over the captured v1 host
// (24 GiB, 22 GiB available): a big idle host is sampled only as often as the fastest
// plausible hog (kMaxFillBytesPerSecond) needs to eat its headroom, a small cgroup as often
// as that needs there, and the stall watchdog is told the tick to expect, so a long idle
// tick is not taken for a stuck loop.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "base/log.h"
#include "config/config.h"
#include "daemon/engine.h"
#include "sys/clock.h"
#include "sys/faulty_system_view.h"
#include "sys/system_view.h"
#include "unit/kill/fakes.h"

namespace reaperd::daemon {
namespace {

const std::string kFx = REAPERD_FIXTURES;

class NullSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view, std::string_view) noexcept override {}
};

// A dry-run engine over one scope of a view, with the fakes it needs; cfg is its own copy.
struct OneScopeEngine {
  OneScopeEngine(const config::Config& c, sys::SystemView& view, const char* scope) : cfg(c) {
    policy::Scope s;
    EXPECT_TRUE(policy::ParseScope(scope, &s)) << scope;
    engine = std::make_unique<Engine>(cfg, std::vector<policy::Scope>{s},
                                      EngineOptions{.dry_run = true, .self = 1}, view, clock, log,
                                      ops, sysrq);
  }
  config::Config cfg;
  sys::FakeClock clock;
  NullSink sink;
  Logger log{sink, LogLevel::kDebug};
  kill::testing::FakeOps ops;
  kill::testing::FakeSysrq sysrq;
  std::unique_ptr<Engine> engine;
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
  OneScopeEngine one(cfg, *v, "cgroup:/reaperd-capture");
  Engine& engine = *one.engine;
  (void)engine.Tick();
  ASSERT_TRUE(engine.status()[0].decision.busy);
  EXPECT_EQ(engine.status()[0].usage_alarm_wanted, 64u << 20);
}

// A v2 cgroup scope has no usage threshold to wake the loop (v1's, Engine::UsageAlarmAt), so
// an idle small one was sampled whole at every tick for as long as it lived: its limit walk,
// memory.stat and memory.pressure, ten times a second. Idle (not busy), a tick now reads its
// memory.current alone, and samples it whole only when the usage reaches the alarm a v1 scope
// would arm, when interval_slow_ms has passed since its last whole sample (as a v1 scope
// under its alarm ticks), or after a PSI event (SampleWholeNextTick). Red on the old code:
// memory.stat was read at every tick.
TEST(EngineUsagePoll, AnIdleV2CgroupIsSampledWholeOnlyWhenItsUsageReachesTheAlarm) {
  std::string root = "/tmp/reaperd-poll-XXXXXX";
  ASSERT_NE(::mkdtemp(root.data()), nullptr);
  struct Rm {
    std::string p;
    ~Rm() { std::filesystem::remove_all(p); }
  } rm{root};
  std::filesystem::copy(kFx + "/cgroup/v2-guest", root, std::filesystem::copy_options::recursive);
  auto base = sys::RealSystemView::Open(root + "/proc", root);
  ASSERT_TRUE(base.has_value());
  sys::FaultySystemView view(*base);
  view.AddRule({"lab.slice/memory.stat", sys::Fault::kEio, 1, UINT32_MAX});     // counts
  view.AddRule({"lab.slice/memory.current", sys::Fault::kEio, 1, UINT32_MAX});  // counts
  auto set_usage = [&](std::uint64_t bytes) {
    std::ofstream(root + "/lab.slice/memory.current") << bytes << "\n";
  };
  OneScopeEngine one({}, view, "cgroup:/lab.slice");  // 48 MiB high, 8.6 MiB used
  Engine& engine = *one.engine;
  sys::FakeClock& clock = one.clock;
  const config::Config& cfg = one.cfg;
  const auto& st = engine.status()[0];
  auto whole_reads = [&] { return view.rules()[0].seen; };
  auto polls = [&] { return view.rules()[1].seen; };

  (void)engine.Tick();
  ASSERT_FALSE(st.decision.busy);
  const std::uint64_t at = st.usage_poll_at;
  ASSERT_GT(at, 9068544u);
  ASSERT_LT(at, 50331648u);
  EXPECT_EQ(st.usage_alarm_wanted, 0u) << "no kernel threshold on v2";
  sys::Nanos whole_at = st.sample.t_ns;
  std::uint32_t whole = whole_reads(), polled = polls();
  // Slowly enough for the trend to stay idle (the crossing below is 5.6 MiB in 8.5 s).
  for (int i = 0; i < 5; ++i) {
    clock.Advance(1500 * sys::kMilli);
    set_usage(at - 4096 * (i + 1) * 100);
    const int next = engine.Tick();
    EXPECT_LE(next, cfg.detector.interval_fast_ms) << "polled as often as a fast hog needs";
  }
  EXPECT_EQ(whole_reads(), whole) << "memory.stat read while the usage stayed below the alarm";
  EXPECT_EQ(polls(), polled + 5) << "one memory.current read per tick";
  EXPECT_EQ(st.sample.t_ns, whole_at);

  // The usage reaches the alarm: the next tick samples whole.
  clock.Advance(1000 * sys::kMilli);
  set_usage(at);
  (void)engine.Tick();
  EXPECT_EQ(whole_reads(), whole + 1);
  EXPECT_EQ(st.sample.t_ns, clock.Now());
  ASSERT_FALSE(st.decision.busy);
  const std::uint64_t moved = st.usage_poll_at;
  EXPECT_GT(moved, at) << "the alarm moved up with the usage";

  // Below it, but interval_slow_ms since the last whole sample.
  whole = whole_reads();
  clock.Advance(cfg.detector.interval_slow_ms * sys::kMilli);
  (void)engine.Tick();
  EXPECT_EQ(whole_reads(), whole + 1);
  EXPECT_EQ(st.sample.t_ns, clock.Now());

  // Below it, but a PSI event came. The whole sample shows in its time: its memory.stat is
  // the one read 100 ms before (far from the ceiling, a read serves for a second).
  clock.Advance(cfg.detector.interval_fast_ms * sys::kMilli);
  engine.SampleWholeNextTick();
  (void)engine.Tick();
  EXPECT_EQ(st.sample.t_ns, clock.Now()) << "the event's whole sample";
  const sys::Nanos event_at = st.sample.t_ns;
  clock.Advance(cfg.detector.interval_fast_ms * sys::kMilli);
  (void)engine.Tick();
  EXPECT_EQ(st.sample.t_ns, event_at) << "one event, one whole sample";
}

// A busy v2 scope (here: warn from 90% available, so the 84% left is warn) is sampled whole at
// every tick: its trend and PSI decide, not its usage alone.
TEST(EngineUsagePoll, ABusyV2CgroupIsSampledWholeAtEveryTick) {
  auto base = sys::RealSystemView::Open(kFx + "/cgroup/v2-guest/proc", kFx + "/cgroup/v2-guest");
  ASSERT_TRUE(base.has_value());
  sys::FaultySystemView view(*base);
  view.AddRule({"lab.slice/memory.stat", sys::Fault::kEio, 1, UINT32_MAX});
  config::Config cfg;
  cfg.detector.warn_available_percent = 90;
  OneScopeEngine one(cfg, view, "cgroup:/lab.slice");
  Engine& engine = *one.engine;
  sys::FakeClock& clock = one.clock;
  for (int i = 0; i < 4; ++i) {
    (void)engine.Tick();
    clock.Advance(cfg.detector.interval_fast_ms * sys::kMilli);
  }
  ASSERT_TRUE(engine.status()[0].decision.busy);
  EXPECT_EQ(engine.status()[0].usage_poll_at, 0u);
  EXPECT_EQ(view.rules()[0].seen, 1u + 4u) << "memory.stat: one open, a read per tick";
}

// Each scope is looked at at its own pace: the captured host (22 GiB available, a fast hog
// needs over 10 s) is not sampled at the pace of the small cgroup beside it (128 MiB, sampled
// every interval_fast_ms), with the loop ticking for the cgroup; a tick samples a scope from
// half its interval before it is due. Red on the old code: every tick sampled every scope,
// so the host's meminfo was read at each of the cgroup's ticks.
TEST(EngineDue, AScopeWithRoomIsNotSampledAtABusierScopesPace) {
  auto base = sys::RealSystemView::Open(kFx + "/proc/host-v1", kFx + "/cgroup/host-v1");
  ASSERT_TRUE(base.has_value());
  sys::FaultySystemView view(*base);
  view.AddRule({"meminfo", sys::Fault::kEio, 1, UINT32_MAX});  // counts, never fires
  OneScopeEngine one({}, view, "system");
  Engine& engine = *one.engine;
  sys::FakeClock& clock = one.clock;
  const config::Config& cfg = one.cfg;
  policy::Scope cg;
  ASSERT_TRUE(policy::ParseScope("cgroup:/reaperd-capture", &cg));
  ASSERT_TRUE(engine.AddScope(cg, false));
  const auto& host = engine.status()[0];
  const auto& small = engine.status()[1];

  int next = engine.Tick();
  const sys::Nanos host_at = host.sample.t_ns;
  ASSERT_EQ(host_at, clock.Now());
  ASSERT_GE(host.due_ns - clock.Now(), 10 * sys::kSecond) << "the premise: the host has room";
  ASSERT_LE(next, cfg.detector.interval_fast_ms) << "the premise: the cgroup asks for fast ticks";
  const std::uint32_t meminfo = view.rules()[0].seen;
  for (int i = 0; i < 20; ++i) {
    clock.Advance(next * sys::kMilli);
    next = engine.Tick();
    EXPECT_EQ(small.sample.t_ns, clock.Now()) << "tick " << i << ": the cgroup was not sampled";
    EXPECT_LE(next, cfg.detector.interval_fast_ms);
  }
  EXPECT_EQ(host.sample.t_ns, host_at) << "the host was sampled at the cgroup's pace";
  EXPECT_EQ(view.rules()[0].seen, meminfo) << "meminfo read at the cgroup's ticks";

  // Its due time comes (at half its interval early, on one of the cgroup's ticks): sampled.
  clock.Advance(host.due_ns - clock.Now());
  (void)engine.Tick();
  EXPECT_EQ(host.sample.t_ns, clock.Now());
  // A PSI event: every scope is looked at, due or not.
  clock.Advance(cfg.detector.interval_fast_ms * sys::kMilli);
  engine.SampleWholeNextTick();
  (void)engine.Tick();
  EXPECT_EQ(host.sample.t_ns, clock.Now());
}

}  // namespace
}  // namespace reaperd::daemon
