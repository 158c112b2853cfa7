// The detector against traces captured on a real machine (tools/capture_trace.py: a cgroup v1
// scope with a memory limit, the workload stopping itself before the limit). Each test states
// what the trace must show for the test to mean anything, then what the detector decided.
#include <gtest/gtest.h>

#include <algorithm>

#include "config/config.h"
#include "pressure/detector.h"
#include "unit/pressure/replay.h"

namespace reaperd::pressure {
namespace {

using replay::AvailablePercent;
using replay::KillModel;
using replay::LoadTrace;
using replay::PeakTaken;
using replay::ReplayTrace;

const config::DetectorConfig kDefaults{};

Level MaxLevel(const replay::Replay& r) {
  Level m = Level::kOk;
  for (const auto& s : r.seen) m = std::max(m, s.decision.level);
  return m;
}

bool TraceReachesFloor(const std::vector<PressureSample>& trace) {
  return std::any_of(trace.begin(), trace.end(), [](const PressureSample& s) {
    return AvailablePercent(s) < kDefaults.kill_available_percent;
  });
}

// A hog that would cross the floor: the first kill comes while headroom is still above it,
// from the trend, and (with the victim reported) only once.
void ExpectKilledBeforeFloor(const char* name) {
  const auto trace = LoadTrace(name);
  ASSERT_TRUE(TraceReachesFloor(trace)) << "the hog must have gone below the floor";
  Detector d(kDefaults);
  const auto r = ReplayTrace(trace, d, {.victim_bytes = PeakTaken(trace)});
  ASSERT_EQ(r.kills.size(), 1u);
  const auto& kill = r.kills.front();
  EXPECT_GE(AvailablePercent(kill.sample), kDefaults.kill_available_percent);
  EXPECT_TRUE(kill.decision.reasons & kReasonTimeToExhaustion);
  EXPECT_GE(kill.decision.time_to_exhaustion_ms, 0);
  EXPECT_LE(kill.decision.time_to_exhaustion_ms, kDefaults.kill_time_to_exhaustion_ms);
  EXPECT_LT(kill.decision.slope_bytes_per_s, 0);
}

TEST(DetectorTrace, FastHogKilledBeforeTheFloor) { ExpectKilledBeforeFloor("fast_hog"); }

TEST(DetectorTrace, SlowLeakKilledBeforeTheFloor) { ExpectKilledBeforeFloor("slow_leak"); }

// 78% of the scope per second crosses the whole warn zone between two fast samples: no trend
// can see it coming, but the floor still stops it before the limit.
TEST(DetectorTrace, ExtremeHogKilledAtTheFloorBeforeTheLimit) {
  const auto trace = LoadTrace("extreme_hog");
  ASSERT_TRUE(TraceReachesFloor(trace));
  Detector d(kDefaults);
  const auto r = ReplayTrace(trace, d, {.victim_bytes = PeakTaken(trace)});
  ASSERT_EQ(r.kills.size(), 1u);
  EXPECT_GT(r.kills.front().sample.available_bytes, 0u);
}

// A reader looping over a file 1.5x the limit: the cgroup is at its limit and refaulting all
// the time, but the cache is inactive and reclaimable, and PSI full stays low.
TEST(DetectorTrace, CacheChurnNeverKills) {
  const auto trace = LoadTrace("churn");
  ASSERT_GT(trace.back().refault_total, trace.front().refault_total) << "no churn in trace";
  Detector d(kDefaults);
  const auto r = ReplayTrace(trace, d, {});
  EXPECT_TRUE(r.kills.empty());
  EXPECT_LT(MaxLevel(r), Level::kReclaim);
}

// Four bursts freed after 300 ms: two fast ones that stay above the warn threshold, two
// slower ones that dip below it. Falling memory is not a kill while it stops short.
TEST(DetectorTrace, SpikesNeverKill) {
  const auto trace = LoadTrace("spike");
  Detector d(kDefaults);
  const auto r = ReplayTrace(trace, d, {});
  EXPECT_TRUE(r.kills.empty());
  EXPECT_GE(MaxLevel(r), Level::kWarn) << "the spikes must reach the warn zone to mean much";
}

// The victim is slow to go (it holds its memory, then frees it gradually): exactly one kill,
// where a detector that is not told of the kill would decide again and again.
TEST(DetectorTrace, KillThenSlowlyReturningMemoryKillsOnce) {
  const auto trace = LoadTrace("slow_return");
  const std::uint64_t victim = PeakTaken(trace);
  Detector told(kDefaults);
  const auto r = ReplayTrace(trace, told, {.victim_bytes = victim});
  EXPECT_EQ(r.kills.size(), 1u);
  bool held = false;
  for (const auto& s : r.seen) held = held || (s.decision.reasons & kReasonVictimPending);
  EXPECT_TRUE(held) << "a second kill must have been held back";

  Detector untold(kDefaults);
  EXPECT_GT(ReplayTrace(trace, untold, {.note_kills = false}).kills.size(), 1u);
}

// Two cgroups under pressure at the same time, a fast and a slow hog: each scope's detector
// kills once, at its own time.
TEST(DetectorTrace, TwoScopesEachKillOnce) {
  const auto a = LoadTrace("two_scopes_a");
  const auto b = LoadTrace("two_scopes_b");
  Detector da(kDefaults);
  Detector db(kDefaults);
  const auto ra = ReplayTrace(a, da, {.victim_bytes = PeakTaken(a)});
  const auto rb = ReplayTrace(b, db, {.victim_bytes = PeakTaken(b)});
  ASSERT_EQ(ra.kills.size(), 1u);
  ASSERT_EQ(rb.kills.size(), 1u);
  EXPECT_NE(ra.kills.front().sample.t_ns, rb.kills.front().sample.t_ns);
  EXPECT_GE(AvailablePercent(ra.kills.front().sample), kDefaults.kill_available_percent);
  EXPECT_GE(AvailablePercent(rb.kills.front().sample), kDefaults.kill_available_percent);
}

// Idle at the start of every trace: the detector asks for a slow interval (as slow as the
// scope's headroom allows against a fast hog); once memory falls it asks for the fast one.
TEST(DetectorTrace, IntervalAdaptsToTheTrend) {
  const auto trace = LoadTrace("slow_leak");
  Detector d(kDefaults);
  const auto r = ReplayTrace(trace, d, {.victim_bytes = PeakTaken(trace)});
  ASSERT_FALSE(r.seen.empty());
  EXPECT_GT(r.seen.front().decision.next_interval_ms, kDefaults.interval_fast_ms);
  EXPECT_LE(r.seen.front().decision.next_interval_ms, kDefaults.interval_slow_ms);
  ASSERT_FALSE(r.kills.empty());
  EXPECT_EQ(r.kills.front().decision.next_interval_ms, kDefaults.interval_fast_ms);
}

}  // namespace
}  // namespace reaperd::pressure
